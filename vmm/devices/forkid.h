/* vmm/devices/forkid.h: the fork identity port (VMM_PORT_FORKID).
 *
 * A guest asks which VM it is: a 4-byte IN reads
 * (generation << 16) | index of the VM's struct forkid. A VM that was booted
 * is generation 0, index 0 and stays so; whoever forks a VM of generation
 * g into N children gives them generation g + 1 and indices 1 to N with
 * forkid_set, before they run. The identity is the device's state: a
 * restored VM keeps its snapshot's. A 1-byte IN at VMM_PORT_FORKID + k
 * reads byte k of it (Linux's /dev/port reads a byte at a time). Any
 * other access (an OUT, another size, a rep string) is refused, and the
 * VM reports the unhandled port.
 */
#ifndef VMM_FORKID_H
#define VMM_FORKID_H

#include <stddef.h>
#include <stdint.h>

struct ioport_bus;
struct devstate_table;

/* Which VM this is among a fork's: 0 and 0 if booted. */
struct forkid {
	uint16_t generation, index;
};

/* A child's identity: generation >= 1 with index >= 1, or 0 and 0. */
void forkid_set(struct forkid *id, uint16_t generation, uint16_t index);
/* What the port reads. */
uint32_t forkid_value(const struct forkid *id);
/* Claim VMM_PORT_FORKID on io, and the device's row in states. */
int forkid_register(struct forkid *id, struct ioport_bus *io, struct devstate_table *states);

/* State (devstate.h), version FORKID_STATE_VERSION:
 *   u32 generation, u32 index   each at most 0xffff; both 0 (a booted VM)
 *                               or both at least 1 (a fork child) */
#define FORKID_STATE_VERSION 1
int forkid_save(const struct forkid *id, void *buf, size_t len, size_t *used);
int forkid_restore(struct forkid *id, const void *buf, size_t len, char *err, size_t errlen);

#endif
