/* vmm/devices/ioport.h: a VM's port I/O bus.
 *
 * Each device registers the port ranges it serves, with its own handler,
 * when the VM is built; the run loop hands every KVM_EXIT_IO to the bus,
 * which knows no device. A port no device claims is the VM's to report.
 */
#ifndef VMM_IOPORT_H
#define VMM_IOPORT_H

#include <stdbool.h>
#include <stdint.h>

#define IOPORT_MAX_RANGES 16

/* One exit's worth of port I/O: count transfers of size bytes at data
 * (a rep string), out or in. The handler fills data for an in. */
struct ioport_access {
	uint16_t port;
	bool out;
	uint8_t size;
	uint32_t count;
	uint8_t *data;
};

/* Returns false when the device refuses the access (a size or direction
 * it does not serve): the VM then reports it as unhandled. */
typedef bool (*ioport_fn)(void *dev, const struct ioport_access *a);

struct ioport_range {
	uint16_t base, len;
	const char *name;
	ioport_fn fn;
	void *dev;
};

struct ioport_bus {
	int nr;
	struct ioport_range range[IOPORT_MAX_RANGES];
};

/* 0, -EEXIST if the range overlaps one registered, -ENOSPC if full. */
int ioport_register(struct ioport_bus *bus, uint16_t base, uint16_t len, const char *name,
		    ioport_fn fn, void *dev);
/* Whether a device served the access. */
bool ioport_dispatch(struct ioport_bus *bus, const struct ioport_access *a);

#endif
