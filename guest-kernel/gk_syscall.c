/* guest-kernel/gk_syscall.c: write, exit, result, release, forkid. */
#include <vmm_abi.h>
#include "gk_syscall.h"
#include "gk_arch.h"
#include "gk_kernel.h"
#include "gk_lib.h"
#include "uapi.h"

#define PAGE_2M (1ULL << 21)

static int64_t gk_sys_write(struct gk_kernel *k, struct gk_task *t, uint64_t buf, uint64_t len)
{
	const struct gk_vma *v = gk_vma_find_range(&t->vmas, buf, len);
	const char *s = (const char *)(uintptr_t)buf;
	uint64_t n;

	if (len > SYS_WRITE_MAX)
		return -UAPI_EINVAL;
	if (!v || !(v->flags & VMA_READ))
		return -UAPI_EFAULT;
	/* Up to a NUL, as before; the task's bytes go straight into the line. */
	for (n = 0; n < len && s[n]; n++)
		;
	gk_console_mem(&k->con, s, (unsigned)n);
	gk_console_flush(&k->con);
	return (int64_t)len;
}

/* cycles / hz in ns without 128-bit division (no libgcc here). */
static uint64_t gk_sys_cycles_to_ns(uint64_t cycles, uint64_t hz)
{
	return cycles / hz * 1000000000ULL + cycles % hz * 1000000000ULL / hz;
}

static int64_t gk_sys_result(struct gk_kernel *k, struct gk_task *t, uint64_t ptr)
{
	const struct gk_vma *v = gk_vma_find_range(&t->vmas, ptr, sizeof(struct user_result));
	struct user_result r;
	unsigned i;

	if (!v || !(v->flags & VMA_READ))
		return -UAPI_EFAULT;
	memcpy(&r, (const void *)(uintptr_t)ptr, sizeof(r));
	r.name[sizeof(r.name) - 1] = '\0';
	for (i = 0; r.name[i]; i++)
		if (r.name[i] <= ' ' || r.name[i] > '~' || r.name[i] == '=')
			r.name[i] = '?';
	gk_printf(&k->con, "RESULT workload=%s pages=%lu faults=%lu cycles=%lu", r.name, r.pages,
		  t->faults, r.cycles);
	if (k->boot.tsc_hz)
		gk_printf(&k->con, " ns=%lu", gk_sys_cycles_to_ns(r.cycles, k->boot.tsc_hz));
	gk_printf(&k->con, " ok=%lu\n", r.ok);
	t->reported = true;
	t->result_ok = r.ok == 1;
	return 0;
}

/* Unmap anonymous pages and free their frames: they read zero next time. */
static int64_t gk_sys_release(struct gk_kernel *k, struct gk_task *t, uint64_t addr, uint64_t len)
{
	const struct gk_vma *v = gk_vma_find_range(&t->vmas, addr, len);
	uint64_t *pml4 = (uint64_t *)(uintptr_t)t->pml4, *pte = NULL, va;
	int64_t n = 0;

	if ((addr | len) % PAGE_SIZE)
		return -UAPI_EINVAL;
	if (!v || !(v->flags & VMA_ANON))
		return -UAPI_EFAULT;
	for (va = addr; va < addr + len; va += PAGE_SIZE) {
		pte = pte && va % PAGE_2M ? pte + 1 : gk_paging_pte(&k->frames, pml4, va, false);
		if (!pte) {
			va = ALIGN_DOWN(va, PAGE_2M) + PAGE_2M - PAGE_SIZE; /* no table: skip it */
			continue;
		}
		if (!(*pte & PTE_P))
			continue;
		gk_frame_free(&k->frames, *pte & PTE_ADDR);
		*pte = 0;
		gk_arch_invlpg(va);
		t->frames--;
		n++;
	}
	return n;
}

/* Read each time: a fork happens under the guest's feet, between any two
 * instructions, so a cached answer would be the parent's. */
static int64_t gk_sys_forkid(struct gk_kernel *k)
{
	return k->boot.has_forkid ? (int64_t)gk_arch_inl(k->boot.forkid_port) : 0;
}

void gk_syscall_handle(struct gk_kernel *k, struct gk_trap_frame *tf)
{
	struct gk_task *t = k->current;

	if (!t)
		gk_trap_crash(tf);
	switch (tf->rax) {
	case SYS_WRITE:
		tf->rax = (uint64_t)gk_sys_write(k, t, tf->rdi, tf->rsi);
		break;
	case SYS_EXIT:
		gk_task_exit(k, (int)tf->rdi);
	case SYS_RESULT:
		tf->rax = (uint64_t)gk_sys_result(k, t, tf->rdi);
		break;
	case SYS_RELEASE:
		tf->rax = (uint64_t)gk_sys_release(k, t, tf->rdi, tf->rsi);
		break;
	case SYS_FORKID:
		tf->rax = (uint64_t)gk_sys_forkid(k);
		break;
	default:
		tf->rax = (uint64_t)-UAPI_ENOSYS;
	}
}
