/* guest-kernel/gk_hcall.h: the VMM hypercall doorbell (vmm_abi.h).
 *
 * One struct vmm_hcall lives inside struct gk_hcall, in the kernel image,
 * so its GPA (identity mapped) is below 4 GiB as the 32-bit OUT needs.
 */
#ifndef GK_HCALL_H
#define GK_HCALL_H

#include <stdbool.h>
#include <stdint.h>
#include <vmm_abi.h>

struct gk_hcall {
	struct vmm_hcall block; /* first: 8-byte aligned with the struct */
	uint16_t port;
	bool present; /* the device tree has an hcall-port */
};

void gk_hcall_init(struct gk_hcall *h, uint16_t port);
/* Returns the VMM's .ret: 0 or -errno. */
int64_t gk_hcall_call(struct gk_hcall *h, uint32_t nr, uint32_t count, uint64_t arg0,
		      uint64_t arg1);

#endif
