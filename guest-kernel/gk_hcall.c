/* guest-kernel/gk_hcall.c: one OUT per hypercall, the block filled in place. */
#include "gk_hcall.h"
#include "gk_arch.h"

/* What .ret reads if nothing answered the doorbell. */
#define HCALL_NO_ANSWER (-38) /* -ENOSYS */

void gk_hcall_init(struct gk_hcall *h, uint16_t port)
{
	h->port = port;
	h->present = true;
}

int64_t gk_hcall_call(struct gk_hcall *h, uint32_t nr, uint32_t count, uint64_t arg0, uint64_t arg1)
{
	volatile struct vmm_hcall *b = &h->block;

	b->nr = nr;
	b->count = count;
	b->arg0 = arg0;
	b->arg1 = arg1;
	b->ret = HCALL_NO_ANSWER;
	/* The kernel is identity mapped: the block's address is its GPA. */
	gk_arch_outl(h->port, (uint32_t)(uintptr_t)b);
	return b->ret;
}
