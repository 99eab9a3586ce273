/* vmm/devices/reset.h: the ways a PC's guest resets itself, for a Linux
 * machine: the keyboard controller's pulse (0xfe to port 0x64, Linux's
 * reboot=k, and its fallback for the others) and the reset control
 * register (port ACPI_RESET_PORT 0xcf9, bit 2: reboot=pci, and the FADT's
 * reset register, reboot=acpi). A triple fault (reboot=t) is KVM's
 * shutdown exit, the VM's own.
 *
 * vmm does not restart a guest: a reset calls reset(arg, how), which ends
 * the VM (exit 3, "guest reset ..."). Port 0x64 reads 0: a controller with
 * empty buffers, so that Linux's wait for it before the pulse is short;
 * nothing else of an 8042 is there (the FADT says there is none).
 *
 * State "reset", version RESET_STATE_VERSION: none (devstate_save_empty):
 * a reset ends the VM at once, and nothing else is kept.
 */
#ifndef VMM_RESET_H
#define VMM_RESET_H

#include <stddef.h>

#include "devstate.h"
#include "ioport.h"

#define RESET_STATE_VERSION 1
#define RESET_KBD_PORT	    0x64

struct reset_dev {
	void (*reset)(void *arg, const char *how);
	void *arg;
};

void reset_init(struct reset_dev *r, void (*reset)(void *arg, const char *how), void *arg);
int reset_register(struct reset_dev *r, struct ioport_bus *bus, struct devstate_table *states);

int reset_save(const struct reset_dev *r, void *buf, size_t len, size_t *used);
int reset_restore(struct reset_dev *r, const void *buf, size_t len, char *err, size_t errlen);

#endif
