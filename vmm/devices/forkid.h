/* vmm/devices/forkid.h: the fork identity port (VMM_PORT_FORKID).
 *
 * A guest asks which VM it is: a 4-byte IN reads
 * (fork_generation << 16) | fork_index of struct vm. A VM that was booted
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

struct vm;

/* A child's identity: generation >= 1 with index >= 1, or 0 and 0. */
void forkid_set(struct vm *vm, uint16_t generation, uint16_t index);
/* What the port reads. */
uint32_t forkid_value(const struct vm *vm);
/* Claim VMM_PORT_FORKID on the VM's bus, and its row in the VM's states. */
int forkid_register(struct vm *vm);

/* State (devstate.h), version FORKID_STATE_VERSION:
 *   u32 generation, u32 index   each at most 0xffff; both 0 (a booted VM)
 *                               or both at least 1 (a fork child) */
#define FORKID_STATE_VERSION 1
int forkid_save(const struct vm *vm, void *buf, size_t len, size_t *used);
int forkid_restore(struct vm *vm, const void *buf, size_t len, char *err, size_t errlen);

#endif
