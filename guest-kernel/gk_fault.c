/* guest-kernel/gk_fault.c: demand-zero with fault-around, copy-on-write.
 *
 * Each fault is a trap into the kernel (and, under a VMM that fills guest
 * memory on demand, often an exit too), so one fault maps a window of
 * pages: a neighbour costs a few instructions, a fault costs hundreds.
 */
#include "gk_fault.h"
#include "gk_arch.h"
#include "gk_kernel.h"
#include "gk_lib.h"
#include "gk_task.h"
#include "uapi.h"

#define ENOMEM	12
#define PAGE_2M (1ULL << 21)

static int gk_fault_allowed(const struct gk_vma *v, uint64_t error)
{
	if (error & PF_RSVD)
		return 0;
	if (error & PF_W)
		return v->flags & VMA_WRITE;
	if (error & PF_I)
		return v->flags & VMA_EXEC;
	return v->flags & VMA_READ;
}

/* Accessed (and dirty, when writable) from the start: nothing here reads
 * them, and a shadow MMU then needs no extra exit to set them on the
 * first access or write, and prefetches neighbouring PTEs at its fault. */
static uint64_t gk_fault_prot(const struct gk_vma *v)
{
	return PTE_P | PTE_U | PTE_A | (v->flags & VMA_EXEC ? 0 : PTE_NX);
}

/* Image-backed areas are a few pages of code and data: one page at a time. */
static uint64_t gk_fault_image_pte(struct gk_kernel *k, struct gk_task *t, const struct gk_vma *v,
				   uint64_t va, int write)
{
	uint64_t src = v->backing + (va - v->start), pa;

	if (!write || !(v->flags & VMA_WRITE))
		return src | gk_fault_prot(v); /* share the image page, read-only */
	pa = gk_frame_alloc(&k->frames);
	if (!pa)
		return 0;
	gk_frame_copy(&k->frames, pa, src);
	t->frames++;
	return pa | gk_fault_prot(v) | PTE_W | PTE_D;
}

/* Point the not-present PTEs in [pte, end) at consecutive frames from pa
 * on (pa carries the protection bits); returns pa past the last one used. */
static uint64_t gk_fault_fill_run(uint64_t *pte, const uint64_t *end, uint64_t pa)
{
	for (; pte < end; pte++) {
		if (!(*pte & PTE_P)) {
			*pte = pa;
			pa += PAGE_SIZE;
		}
	}
	return pa;
}

/* Fill the not-present PTEs among n from pte on with zero frames: one
 * fresh run when the allocator has one that long (the usual case), else
 * runs and single recycled frames as they come. */
static int gk_fault_fill_anon(struct gk_kernel *k, struct gk_task *t, uint64_t *pte, uint64_t n,
			      uint64_t prot)
{
	uint64_t i, missing = 0, run = 0, pa = gk_frame_run_peek(&k->frames, n);

	if (pa) {
		missing = (gk_fault_fill_run(pte, pte + n, pa | prot) - (pa | prot)) / PAGE_SIZE;
		gk_frame_run_take(&k->frames, missing);
		t->frames += missing;
		return 0;
	}
	for (i = 0; i < n; i++)
		missing += !(pte[i] & PTE_P);
	for (i = 0; i < n && missing; i++) {
		if (pte[i] & PTE_P)
			continue;
		if (!run && !(run = gk_frame_alloc_run(&k->frames, missing, &pa)))
			return -ENOMEM;
		pte[i] = pa | prot;
		pa += PAGE_SIZE;
		run--;
		missing--;
		t->frames++;
	}
	return 0;
}

static int gk_fault_fill_image(struct gk_kernel *k, struct gk_task *t, const struct gk_vma *v,
			       uint64_t *pte, uint64_t va, uint64_t n, int write)
{
	uint64_t i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++, va += PAGE_SIZE)
		if (!(pte[i] & PTE_P) && !(pte[i] = gk_fault_image_pte(k, t, v, va, write)))
			ret = -ENOMEM;
	gk_frame_copy_flush(&k->frames);
	return ret;
}

/* The PTE for va through the task's last-used page table, else a walk
 * that creates missing tables. Tables are never freed while the task runs. */
static uint64_t *gk_fault_pte(struct gk_kernel *k, struct gk_task *t, uint64_t *pml4, uint64_t va)
{
	uint64_t *pte;

	if (t->pt && (va >> 21) == t->pt_index)
		return t->pt + ((va >> 12) & 511);
	pte = gk_paging_pte(&k->frames, pml4, va, true);
	if (pte) {
		t->pt = pte - ((va >> 12) & 511);
		t->pt_index = va >> 21;
	}
	return pte;
}

/* Map the aligned window of fault_around pages around addr, or, when addr
 * lies less than a window past the previous window (sequential access), a
 * window twice the previous one from its end on, up to fault_around_max;
 * clipped to v, filled one page table (2 MiB) at a time. */
static int gk_fault_map_around(struct gk_kernel *k, struct gk_task *t, const struct gk_vma *v,
			       uint64_t addr, int write)
{
	uint64_t pages = k->args.fault_around, lo, hi, va, end;
	uint64_t *pml4 = (uint64_t *)(uintptr_t)t->pml4, *pte;
	uint64_t prot = gk_fault_prot(v) | (v->flags & VMA_WRITE ? PTE_W | PTE_D : 0);
	int ret = 0;

	if (addr - t->seq_next < t->seq_pages * PAGE_SIZE && (v->flags & VMA_ANON)) {
		/* Within a window's length past the last one: a stream (with a
		 * stride, maybe), so the next window is twice the last. */
		pages = t->seq_pages * 2;
		pages = pages < k->args.fault_around_max ? pages : k->args.fault_around_max;
		lo = t->seq_next;
	} else {
		lo = addr - (addr - USER_BASE) % (pages * PAGE_SIZE);
	}
	hi = lo + pages * PAGE_SIZE;
	lo = lo < v->start ? v->start : lo;
	hi = hi > v->end ? v->end : hi;
	t->seq_pages = pages;
	t->seq_next = hi;
	for (va = lo; va < hi && !ret; va = end) {
		end = ALIGN_DOWN(va, PAGE_2M) + PAGE_2M;
		end = end < hi ? end : hi;
		pte = gk_fault_pte(k, t, pml4, va);
		if (!pte)
			ret = -ENOMEM;
		else if (v->flags & VMA_ANON)
			ret = gk_fault_fill_anon(k, t, pte, (end - va) / PAGE_SIZE, prot);
		else
			ret = gk_fault_fill_image(k, t, v, pte, va, (end - va) / PAGE_SIZE, write);
	}
	if (!ret)
		return 0;
	/* Out of frames for a neighbour is fine; for the faulting page it is not. */
	pte = gk_paging_pte(&k->frames, pml4, addr, false);
	return pte && (*pte & PTE_P) ? 0 : -ENOMEM;
}

static int gk_fault_cow(struct gk_kernel *k, struct gk_task *t, const struct gk_vma *v,
			uint64_t addr)
{
	uint64_t *pte = gk_paging_pte(&k->frames, (uint64_t *)(uintptr_t)t->pml4, addr, false);
	uint64_t pa = gk_frame_alloc(&k->frames);

	if (!pte || !pa)
		return -ENOMEM;
	gk_frame_copy(&k->frames, pa, *pte & PTE_ADDR);
	gk_frame_copy_flush(&k->frames);
	*pte = pa | gk_fault_prot(v) | PTE_W | PTE_D;
	gk_arch_invlpg(addr);
	t->frames++;
	return 0;
}

void gk_fault_handle(struct gk_kernel *k, struct gk_trap_frame *tf)
{
	uint64_t addr = gk_arch_read_cr2();
	struct gk_task *t = k->current;
	const struct gk_vma *v;
	int ret;

	if (!t || addr < USER_BASE || addr >= USER_END) {
		if (t && (tf->cs & 3))
			gk_task_kill(k, tf, addr, "SEGV");
		gk_trap_crash(tf);
	}
	t->faults++;
	v = t->last_vma;
	if (addr < v->start || addr >= v->end)
		t->last_vma = v = gk_vma_find(&t->vmas, addr);
	if (!v || !gk_fault_allowed(v, tf->error))
		gk_task_kill(k, tf, addr, "SEGV");
	if (!(tf->error & PF_P))
		ret = gk_fault_map_around(k, t, v, ALIGN_DOWN(addr, PAGE_SIZE), tf->error & PF_W);
	else if ((tf->error & PF_W) && !(v->flags & VMA_ANON))
		ret = gk_fault_cow(k, t, v, ALIGN_DOWN(addr, PAGE_SIZE));
	else
		gk_task_kill(k, tf, addr, "SEGV"); /* present and allowed: nothing to fix */
	if (ret < 0)
		gk_task_kill(k, tf, addr, "OOM");
}
