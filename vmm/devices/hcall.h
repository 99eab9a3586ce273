/* vmm/devices/hcall.h: the hypercall port (VMM_PORT_HCALL).
 *
 * The guest writes the GPA of a struct vmm_hcall; the block and every GPA
 * it names are checked against guest RAM. A malformed request gets
 * ret = -EINVAL and a message naming the GPA; a block outside RAM stops
 * the VM, since there is nowhere to put the answer.
 */
#ifndef VMM_HCALL_H
#define VMM_HCALL_H

#include <stdint.h>

struct vm;

void hcall_handle(struct vm *vm, uint32_t block_gpa);
/* Claim VMM_PORT_HCALL on the VM's bus: a 4-byte OUT of the block's GPA. */
int hcall_register(struct vm *vm);

#endif
