/* vmm/devices/hcall.h: the hypercall port (VMM_PORT_HCALL).
 *
 * The guest writes the GPA of a struct vmm_hcall; the block and every GPA
 * it names are checked against guest RAM. A malformed request gets
 * ret = -EINVAL and a message naming the GPA; a block outside RAM stops
 * the VM, since there is nowhere to put the answer.
 */
#ifndef VMM_HCALL_H
#define VMM_HCALL_H

#include <stddef.h>
#include <stdint.h>

struct vm;

void hcall_handle(struct vm *vm, uint32_t block_gpa);
/* Claim VMM_PORT_HCALL on the VM's bus: a 4-byte OUT of the block's GPA. */
int hcall_register(struct vm *vm);

/* State (devstate.h), version HCALL_STATE_VERSION. A request is whole
 * within one exit, and a paused vCPU is between exits, so none is ever in
 * flight; what remains is the device's counters in vm->stats:
 *   u64 hcalls[VMM_HC_LINE..VMM_HC_COPY], errors, pages_discarded, pages_copied
 * errors also decides whether the next bad request is printed. */
#define HCALL_STATE_VERSION 1
int hcall_save(const struct vm *vm, void *buf, size_t len, size_t *used);
int hcall_restore(struct vm *vm, const void *buf, size_t len, char *err, size_t errlen);

#endif
