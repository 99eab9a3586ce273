/* guest-kernel/fault.c: demand-zero with fault-around, copy-on-write.
 *
 * Every instruction here is emulated under PVM and each fault is a full
 * exit, so one fault maps a window of pages: a neighbour costs a few
 * instructions, a fault costs hundreds.
 */
#include "fault.h"
#include "arch.h"
#include "kernel.h"
#include "lib.h"
#include "task.h"
#include "uapi.h"

#define ENOMEM 12
#define PAGE_2M (1ULL << 21)

static int fault_allowed(const struct vma *v, uint64_t error)
{
	if (error & PF_RSVD)
		return 0;
	if (error & PF_W)
		return v->flags & VMA_WRITE;
	if (error & PF_I)
		return v->flags & VMA_EXEC;
	return v->flags & VMA_READ;
}

static uint64_t fault_prot(const struct vma *v)
{
	return PTE_P | PTE_U | (v->flags & VMA_EXEC ? 0 : PTE_NX);
}

/* The PTE for va, not present before; 0 when out of frames. */
static uint64_t fault_new_pte(struct kernel *k, struct task *t, const struct vma *v, uint64_t va,
			      int write)
{
	uint64_t src = v->backing + (va - v->start), pa;

	if (!(v->flags & VMA_ANON) && !(write && (v->flags & VMA_WRITE)))
		return src | fault_prot(v); /* share the image page, read-only */
	pa = frame_alloc(&k->frames);
	if (!pa)
		return 0;
	if (!(v->flags & VMA_ANON))
		frame_copy(&k->frames, pa, src);
	t->frames++;
	return pa | fault_prot(v) | (v->flags & VMA_WRITE ? PTE_W : 0);
}

static int fault_map_around(struct kernel *k, struct task *t, const struct vma *v, uint64_t addr,
			    int write)
{
	uint64_t span = (uint64_t)k->args.fault_around * PAGE_SIZE;
	uint64_t lo = addr - (addr - USER_BASE) % span, hi = lo + span, va;
	uint64_t *pml4 = (uint64_t *)(uintptr_t)t->pml4, *pte = NULL;

	lo = lo < v->start ? v->start : lo;
	hi = hi > v->end ? v->end : hi;
	for (va = lo; va < hi; va += PAGE_SIZE) {
		/* One walk per 2 MiB: the window's PTEs are adjacent within a table. */
		pte = pte && va % PAGE_2M ? pte + 1 : paging_pte(&k->frames, pml4, va, true);
		if (!pte)
			break;
		if (!(*pte & PTE_P) && !(*pte = fault_new_pte(k, t, v, va, write)))
			break;
	}
	frame_copy_flush(&k->frames);
	/* Out of frames for a neighbour is fine; for the faulting page it is not. */
	pte = paging_pte(&k->frames, pml4, addr, false);
	return pte && (*pte & PTE_P) ? 0 : -ENOMEM;
}

static int fault_cow(struct kernel *k, struct task *t, const struct vma *v, uint64_t addr)
{
	uint64_t *pte = paging_pte(&k->frames, (uint64_t *)(uintptr_t)t->pml4, addr, false);
	uint64_t pa = frame_alloc(&k->frames);

	if (!pte || !pa)
		return -ENOMEM;
	frame_copy(&k->frames, pa, *pte & PTE_ADDR);
	frame_copy_flush(&k->frames);
	*pte = pa | fault_prot(v) | PTE_W;
	arch_invlpg(addr);
	t->frames++;
	return 0;
}

void fault_handle(struct kernel *k, struct trap_frame *tf)
{
	uint64_t addr = arch_read_cr2();
	struct task *t = k->current;
	const struct vma *v;
	int ret;

	if (!t || addr < USER_BASE || addr >= USER_END) {
		if (t && (tf->cs & 3))
			task_kill(k, tf, addr, "SEGV");
		trap_crash(tf);
	}
	t->faults++;
	v = vma_find(&t->vmas, addr);
	if (!v || !fault_allowed(v, tf->error))
		task_kill(k, tf, addr, "SEGV");
	if (!(tf->error & PF_P))
		ret = fault_map_around(k, t, v, ALIGN_DOWN(addr, PAGE_SIZE), tf->error & PF_W);
	else if ((tf->error & PF_W) && !(v->flags & VMA_ANON))
		ret = fault_cow(k, t, v, ALIGN_DOWN(addr, PAGE_SIZE));
	else
		task_kill(k, tf, addr, "SEGV"); /* present and allowed: nothing to fix */
	if (ret < 0)
		task_kill(k, tf, addr, "OOM");
}
