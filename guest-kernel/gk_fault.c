/* guest-kernel/gk_fault.c: the page fault handler (classes in gk_fault.h).
 *
 * Each fault is a trap into the kernel (and, under a VMM that fills guest
 * memory on demand, often an exit too), so one anonymous fault maps a
 * window of pages: a neighbour costs a few instructions, a fault costs
 * hundreds.
 */
#include "gk_fault.h"
#include "gk_arch.h"
#include "gk_cache.h"
#include "gk_kernel.h"
#include "gk_lib.h"
#include "uapi.h"

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
static uint64_t gk_fault_image_pte(struct gk_kernel *k, const struct gk_vma *v, uint64_t va,
				   int write)
{
	uint64_t src = v->off + (va - v->start), pa;

	if (!write || !(v->flags & VMA_WRITE))
		return src | gk_fault_prot(v); /* share the image page, read-only */
	pa = gk_frame_alloc(&k->frames);
	if (!pa)
		return 0;
	gk_frame_copy(&k->frames, pa, src);
	return pa | gk_fault_prot(v) | PTE_W | PTE_D;
}

/* Point the not-present PTEs in [pte, end) at consecutive frames from pa
 * on (pa carries the protection bits); returns pa past the last one used. */
static uint64_t gk_fault_fill_run(uint64_t *pte, const uint64_t *end, uint64_t pa)
{
	for (; pte < end; pte++) {
		if (!gk_mm_pte_has_frame(*pte)) {
			*pte = pa;
			pa += PAGE_SIZE;
		}
	}
	return pa;
}

/* Fill the empty PTEs among n from pte on with zero frames: one fresh run
 * when the allocator has one that long (the usual case), else runs and
 * single recycled frames as they come. */
static int gk_fault_fill_anon(struct gk_kernel *k, struct gk_mm *mm, uint64_t *pte, uint64_t n,
			      uint64_t prot)
{
	uint64_t i, missing = 0, run = 0, pa = gk_frame_run_peek(&k->frames, n);

	if (pa) {
		missing = (gk_fault_fill_run(pte, pte + n, pa | prot) - (pa | prot)) / PAGE_SIZE;
		gk_frame_run_take(&k->frames, missing);
		mm->rss += missing;
		return 0;
	}
	for (i = 0; i < n; i++)
		missing += !gk_mm_pte_has_frame(pte[i]);
	for (i = 0; i < n && missing; i++) {
		if (gk_mm_pte_has_frame(pte[i]))
			continue;
		if (!run && !(run = gk_frame_alloc_run(&k->frames, missing, &pa)))
			return -ENOMEM;
		pte[i] = pa | prot;
		pa += PAGE_SIZE;
		run--;
		missing--;
		mm->rss++;
	}
	return 0;
}

static int gk_fault_fill_image(struct gk_kernel *k, struct gk_mm *mm, const struct gk_vma *v,
			       uint64_t *pte, uint64_t va, uint64_t n, int write)
{
	uint64_t i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++, va += PAGE_SIZE) {
		if (gk_mm_pte_has_frame(pte[i]))
			continue;
		pte[i] = gk_fault_image_pte(k, v, va, write);
		if (pte[i])
			mm->rss++;
		else
			ret = -ENOMEM;
	}
	gk_frame_copy_flush(&k->frames);
	return ret;
}

/* The PTE for va through the last-used page table, else a walk that
 * creates missing tables. Tables are never freed while the space lives. */
static uint64_t *gk_fault_pte(struct gk_kernel *k, struct gk_mm *mm, uint64_t va)
{
	uint64_t *pte;

	if (mm->pt && (va >> 21) == mm->pt_index)
		return mm->pt + ((va >> 12) & 511);
	pte = gk_mm_pte(k, mm, va, true);
	if (pte) {
		mm->pt = pte - ((va >> 12) & 511);
		mm->pt_index = va >> 21;
	}
	return pte;
}

/* Map the aligned window of fault_around pages around addr, or, when addr
 * lies less than a window past the previous window (sequential access), a
 * window twice the previous one from its end on, up to fault_around_max;
 * clipped to v, filled one page table (2 MiB) at a time. Image areas get
 * the same window, a page at a time. */
static int gk_fault_map_around(struct gk_kernel *k, struct gk_mm *mm, const struct gk_vma *v,
			       uint64_t addr, int write)
{
	uint64_t pages = k->args.fault_around, lo, hi, va, end, *pte;
	uint64_t prot = gk_fault_prot(v) | (v->flags & VMA_WRITE ? PTE_W | PTE_D : 0);
	bool image = v->flags & VMA_IMAGE;
	int ret = 0;

	if (addr - mm->seq_next < mm->seq_pages * PAGE_SIZE && !image) {
		/* Within a window's length past the last one: a stream (with a
		 * stride, maybe), so the next window is twice the last. */
		pages = MIN(mm->seq_pages * 2, k->args.fault_around_max);
		lo = mm->seq_next;
	} else {
		lo = addr - (addr - USER_BASE) % (pages * PAGE_SIZE);
	}
	hi = MIN(lo + pages * PAGE_SIZE, v->end);
	lo = MAX(lo, v->start);
	mm->seq_pages = pages;
	mm->seq_next = hi;
	for (va = lo; va < hi && !ret; va = end) {
		end = MIN(ALIGN_DOWN(va, PAGE_2M) + PAGE_2M, hi);
		pte = gk_fault_pte(k, mm, va);
		if (!pte)
			ret = -ENOMEM;
		else if (image)
			ret = gk_fault_fill_image(k, mm, v, pte, va, (end - va) / PAGE_SIZE, write);
		else
			ret = gk_fault_fill_anon(k, mm, pte, (end - va) / PAGE_SIZE, prot);
	}
	if (!ret)
		return 0;
	/* Out of frames for a neighbour is fine; for the faulting page it is not. */
	pte = gk_mm_pte(k, mm, addr, false);
	return pte && (*pte & PTE_P) ? 0 : -ENOMEM;
}

/* A page of an object (file or shared anonymous) from the page cache. */
static int gk_fault_object(struct gk_kernel *k, struct gk_mm *mm, const struct gk_vma *v,
			   uint64_t page)
{
	uint64_t pa, *pte = gk_fault_pte(k, mm, page);
	int ret;

	if (!pte)
		return -ENOMEM;
	ret = gk_cache_get(&k->cache, v->obj, (v->off + (page - v->start)) / PAGE_SIZE, &pa);
	if (ret < 0)
		return ret;
	*pte = pa | gk_fault_prot(v) |
	       ((v->flags & VMA_SHARED) && (v->flags & VMA_WRITE) ? PTE_W | PTE_D : 0);
	mm->rss++;
	return 0;
}

static int gk_fault_cow(struct gk_kernel *k, struct gk_proc *p, const struct gk_vma *v,
			uint64_t page)
{
	uint64_t *pte = gk_mm_pte(k, &p->mm, page, false), old, pa;

	if (!pte || !(*pte & PTE_P))
		return -EFAULT;
	old = *pte & PTE_ADDR;
	if (*pte & PTE_W) {
		/* Made writable since the TLB said it was not: nothing to copy. */
	} else if (gk_frame_exclusive(&k->frames, old) && !(v->flags & VMA_SHARED)) {
		*pte |= PTE_W | PTE_D; /* the last sharer takes it back */
		k->faults.cow_reuses++;
		p->cow_reuses++;
	} else if (v->flags & VMA_SHARED) {
		*pte |= PTE_W | PTE_D; /* a shared page after mprotect: no copy */
	} else {
		pa = gk_frame_alloc(&k->frames);
		if (!pa)
			return -ENOMEM;
		gk_frame_copy(&k->frames, pa, old);
		gk_frame_copy_flush(&k->frames);
		*pte = pa | gk_fault_prot(v) | PTE_W | PTE_D;
		gk_frame_put(&k->frames, old);
		k->faults.cow_copies++;
		p->cow_copies++;
	}
	gk_tlb_flush_page(&k->tlb, &p->mm.tlb, page);
	return 0;
}

/* A fault just below a stack area, within its limit and clear of the area
 * under it, grows the stack down to the page: merged into the stack's
 * area, which is returned (NULL: not a stack fault). One guard page stays
 * between a stack and whatever lies below it. */
struct gk_vma *gk_fault_grow_stack(struct gk_mm *mm, uint64_t page)
{
	struct gk_vma *v = gk_vma_next(&mm->vmas, page), *below = gk_vma_prev(&mm->vmas, page);

	if (!v || !(v->flags & VMA_GROWSDOWN) || v->end - page > mm->stack_max ||
	    (below && below->end + PAGE_SIZE > page))
		return NULL;
	if (gk_mm_add_area(mm, page, v->start, v->flags, NULL, 0, v->name) < 0)
		return NULL;
	return gk_vma_find(&mm->vmas, page);
}

static int gk_fault_resolve(struct gk_kernel *k, struct gk_proc *p, const struct gk_vma *v,
			    uint64_t page, uint64_t error)
{
	if (error & PF_P)
		return (error & PF_W) ? gk_fault_cow(k, p, v, page) : -EACCES;
	if (v->obj)
		return gk_fault_object(k, &p->mm, v, page);
	return gk_fault_map_around(k, &p->mm, v, page, error & PF_W);
}

/* Which class a fault on v is, once it is known to be allowed. */
static uint64_t *gk_fault_class(struct gk_kernel *k, const struct gk_vma *v, uint64_t error)
{
	struct gk_fault_stats *s = &k->faults;

	if (error & PF_P)
		return error & PF_W ? &s->cow : &s->protection; /* present, allowed: stale */
	if ((v->obj && v->obj->kind == OBJ_FILE) || (v->flags & VMA_IMAGE))
		return &s->file;
	return &s->anon;
}

void gk_fault_handle(struct gk_kernel *k, struct gk_trap_frame *tf)
{
	uint64_t addr = gk_arch_read_cr2(), page = ALIGN_DOWN(addr, PAGE_SIZE);
	struct gk_proc *p = k->current;
	struct gk_mm *mm;
	struct gk_vma *v;
	int ret;

	if (!p || addr < USER_BASE || addr >= USER_END) {
		if (p && (tf->cs & 3)) {
			k->faults.invalid++;
			gk_proc_kill(k, tf, addr, "SEGV");
		}
		gk_trap_crash(tf);
	}
	mm = &p->mm;
	p->faults++;
	v = mm->last_vma;
	if (!v || addr < v->start || addr >= v->end)
		v = gk_vma_find(&mm->vmas, addr);
	if (!v) {
		v = gk_fault_grow_stack(mm, page);
		if (!v) {
			k->faults.invalid++;
			gk_proc_kill(k, tf, addr, "SEGV");
		}
		k->faults.stack++;
		p->stack_grows++;
	} else if (gk_fault_allowed(v, tf->error)) {
		(*gk_fault_class(k, v, tf->error))++;
	}
	if (!gk_fault_allowed(v, tf->error)) {
		k->faults.protection++;
		gk_proc_kill(k, tf, addr, "SEGV");
	}
	mm->last_vma = v;
	while ((ret = gk_fault_resolve(k, p, v, page, tf->error)) == -ENOMEM)
		if (!gk_proc_oom(k))
			gk_proc_kill(k, tf, addr, "OOM");
	if (ret == -EFAULT)
		gk_proc_kill(k, tf, addr, "SIGBUS"); /* past the end of a file */
	if (ret < 0)
		gk_proc_kill(k, tf, addr, "SEGV");
}
