/* guest-kernel/gk_mm.c: address spaces: creation, fork, teardown, and the
 * system calls that change them. */
#include "gk_mm.h"
#include "gk_cache.h"
#include "gk_kernel.h"
#include "gk_lib.h"
#include "uapi.h"

#define PAGE_2M (1ULL << 21)

int gk_mm_init(struct gk_kernel *k, struct gk_mm *mm, unsigned slot)
{
	uint64_t pml4 = gk_paging_new_space(&k->pg, &k->frames);

	*mm = (struct gk_mm){.stack_max = k->args.stack_max};
	if (!pml4)
		return -ENOMEM;
	gk_tlb_space_init(&k->tlb, &mm->tlb, pml4, slot);
	gk_vma_init(&mm->vmas, &k->vma_pool, MM_VMA_MAX);
	return 0;
}

/* A zero page for a page table of mm, on its list; 0 if out of memory. */
static uint64_t gk_mm_table_new(struct gk_kernel *k, struct gk_mm *mm)
{
	struct gk_mm_table *t = gk_pool_get(&k->table_pool);
	uint64_t pa = t ? gk_frame_alloc(&k->frames) : 0;

	if (!pa) {
		if (t)
			gk_pool_put(&k->table_pool, t);
		return 0;
	}
	t->pa = pa;
	t->next = mm->tables;
	mm->tables = t;
	mm->pt_pages++;
	return pa;
}

/* The PTE of va, or NULL with *hole_end the end of the range that the
 * missing table would map (512 GiB, 1 GiB or 2 MiB): nothing is mapped
 * before it. */
static uint64_t *gk_mm_walk(struct gk_kernel *k, struct gk_mm *mm, uint64_t va, bool alloc,
			    uint64_t *hole_end)
{
	uint64_t *t = (uint64_t *)(uintptr_t)mm->tlb.pml4, *e, pa;
	int shift;

	for (shift = 39; shift > 12; shift -= 9) {
		e = &t[(va >> shift) & 511];
		if (!(*e & PTE_P)) {
			if (!alloc || !(pa = gk_mm_table_new(k, mm))) {
				*hole_end = ALIGN_DOWN(va, 1ULL << shift) + (1ULL << shift);
				return NULL;
			}
			/* Permissions live in the leaf; upper levels allow everything. */
			*e = pa | PTE_P | PTE_W | PTE_U | PTE_A;
		}
		t = (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
	}
	return &t[(va >> 12) & 511];
}

uint64_t *gk_mm_pte(struct gk_kernel *k, struct gk_mm *mm, uint64_t va, bool alloc)
{
	uint64_t hole_end;

	return gk_mm_walk(k, mm, va, alloc, &hole_end);
}

int gk_mm_add_area(struct gk_mm *mm, uint64_t start, uint64_t end, unsigned flags,
		   struct gk_obj *obj, uint64_t off, const char *name)
{
	mm->last_vma = NULL;
	return gk_vma_map(&mm->vmas, start, end, flags, obj, off, name);
}

/* Calls fn on the PTE of every page in [start, end) that holds a frame,
 * skipping whole ranges where tables are missing. */
static void gk_mm_each_pte(struct gk_kernel *k, struct gk_mm *mm, uint64_t start, uint64_t end,
			   void (*fn)(struct gk_kernel *k, struct gk_mm *mm, uint64_t *pte,
				      uint64_t va, void *ctx),
			   void *ctx)
{
	uint64_t va, stop, *pte;

	for (va = start; va < end; va = stop) {
		pte = gk_mm_walk(k, mm, va, false, &stop);
		if (pte)
			stop = ALIGN_DOWN(va, PAGE_2M) + PAGE_2M;
		stop = MIN(stop, end);
		for (; pte && va < stop; va += PAGE_SIZE, pte++)
			if (gk_mm_pte_has_frame(*pte))
				fn(k, mm, pte, va, ctx);
	}
}

/* ---- teardown and zapping */

struct gk_mm_flush {
	uint64_t pages;
};

/* Invalidate one page, or count it for one flush of the whole space. */
static void gk_mm_flush_one(struct gk_kernel *k, struct gk_mm *mm, struct gk_mm_flush *fl,
			    uint64_t va)
{
	if (++fl->pages <= TLB_PAGES_MAX)
		gk_tlb_flush_page(&k->tlb, &mm->tlb, va);
}

static void gk_mm_flush_done(struct gk_kernel *k, struct gk_mm *mm, struct gk_mm_flush *fl)
{
	if (fl->pages > TLB_PAGES_MAX)
		gk_tlb_flush_space(&k->tlb, &mm->tlb);
}

static void gk_mm_zap_pte(struct gk_kernel *k, struct gk_mm *mm, uint64_t *pte, uint64_t va,
			  void *ctx)
{
	gk_frame_put(&k->frames, *pte & PTE_ADDR);
	*pte = 0;
	mm->rss--;
	if (ctx)
		gk_mm_flush_one(k, mm, ctx, va);
}

void gk_mm_zap(struct gk_kernel *k, struct gk_mm *mm, uint64_t start, uint64_t end)
{
	struct gk_mm_flush fl = {0};

	gk_mm_each_pte(k, mm, start, end, gk_mm_zap_pte, &fl);
	gk_mm_flush_done(k, mm, &fl);
}

void gk_mm_destroy(struct gk_kernel *k, struct gk_mm *mm)
{
	struct gk_mm_table *t;
	struct gk_vma *v;

	if (!mm->tlb.pml4)
		return;
	/* The tables go back to the allocator: never leave them loaded. No
	 * other invalidation: the slot's next space starts stale (gk_tlb.h). */
	if (k->tlb.loaded == &mm->tlb)
		gk_tlb_load_kernel(&k->tlb);
	for (v = gk_vma_next(&mm->vmas, 0); v && mm->rss; v = gk_vma_next(&mm->vmas, v->end))
		gk_mm_each_pte(k, mm, v->start, v->end, gk_mm_zap_pte, NULL);
	gk_vma_clear(&mm->vmas);
	while ((t = mm->tables)) {
		mm->tables = t->next;
		gk_frame_free(&k->frames, t->pa);
		gk_pool_put(&k->table_pool, t);
	}
	gk_frame_free(&k->frames, mm->tlb.pml4);
	mm->tlb.pml4 = 0;
	mm->pt_pages = 0;
	mm->last_vma = NULL;
	mm->pt = NULL;
}

/* ---- fork */

struct gk_mm_fork {
	struct gk_mm *dst;
	const struct gk_vma *v;
	uint64_t *dst_pt; /* the page table of dst_index in dst */
	uint64_t dst_index;
	int ret;
};

static void gk_mm_fork_pte(struct gk_kernel *k, struct gk_mm *src, uint64_t *pte, uint64_t va,
			   void *ctx)
{
	struct gk_mm_fork *f = ctx;
	uint64_t *dst;

	if (f->ret)
		return;
	if (!f->dst_pt || f->dst_index != va >> 21) {
		dst = gk_mm_pte(k, f->dst, va, true);
		if (!dst) {
			f->ret = -ENOMEM;
			return;
		}
		f->dst_pt = dst - ((va >> 12) & 511);
		f->dst_index = va >> 21;
	}
	if (gk_frame_share(&k->frames, *pte & PTE_ADDR) < 0) {
		f->ret = -ENOMEM;
		return;
	}
	/* Private pages become copy-on-write in both: read-only until written. */
	if (!(f->v->flags & VMA_SHARED))
		*pte &= ~PTE_W;
	f->dst_pt[(va >> 12) & 511] = *pte;
	f->dst->rss++;
}

int gk_mm_fork(struct gk_kernel *k, struct gk_mm *dst, struct gk_mm *src)
{
	struct gk_mm_fork f = {dst, NULL, NULL, 0, 0};
	struct gk_vma *v;

	f.ret = gk_vma_copy(&dst->vmas, &src->vmas);
	dst->brk_start = src->brk_start;
	dst->brk = src->brk;
	dst->stack_max = src->stack_max;
	for (v = gk_vma_next(&src->vmas, 0); v && !f.ret; v = gk_vma_next(&src->vmas, v->end)) {
		f.v = v;
		gk_mm_each_pte(k, src, v->start, v->end, gk_mm_fork_pte, &f);
	}
	/* Every writable PTE of src may have lost its W bit. */
	gk_tlb_flush_space(&k->tlb, &src->tlb);
	return f.ret;
}

/* ---- mprotect */

struct gk_mm_protect {
	const struct gk_vma *v;
	struct gk_mm_flush fl;
};

static void gk_mm_protect_pte(struct gk_kernel *k, struct gk_mm *mm, uint64_t *pte, uint64_t va,
			      void *ctx)
{
	struct gk_mm_protect *p = ctx;
	unsigned fl = p->v->flags;
	uint64_t e = *pte;

	if (!(fl & VMA_PROT)) {
		e = (e & ~PTE_P) | PTE_PROTNONE;
	} else {
		e = (e | PTE_P) & ~(PTE_PROTNONE | PTE_W | PTE_NX);
		/* Writable now only where no copy-on-write is pending. */
		if ((fl & VMA_WRITE) &&
		    ((fl & VMA_SHARED) || gk_frame_exclusive(&k->frames, e & PTE_ADDR)))
			e |= PTE_W | PTE_D;
		if (!(fl & VMA_EXEC))
			e |= PTE_NX;
	}
	if (e != *pte) {
		*pte = e;
		gk_mm_flush_one(k, mm, &p->fl, va);
	}
}

/* VMA flags from PROT_*; x86 reads whatever it may write or execute. */
static unsigned gk_mm_prot(uint64_t prot)
{
	return prot ? (unsigned)prot | VMA_READ : 0;
}

int64_t gk_mm_mprotect(struct gk_kernel *k, struct gk_mm *mm, uint64_t addr, uint64_t len,
		       uint64_t prot)
{
	uint64_t end = addr + ALIGN_UP(len, PAGE_SIZE);
	struct gk_mm_protect p = {NULL, {0}};
	struct gk_vma *v;
	int ret;

	if (addr % PAGE_SIZE || prot & ~(uint64_t)VMA_PROT || end < addr)
		return -UAPI_EINVAL;
	if (!gk_vma_covered(&mm->vmas, addr, end))
		return -UAPI_ENOMEM;
	for (v = gk_vma_next(&mm->vmas, addr); v && v->start < end;
	     v = gk_vma_next(&mm->vmas, v->end))
		if ((prot & PROT_WRITE) && (v->flags & VMA_SHARED) && v->obj &&
		    v->obj->kind == OBJ_FILE)
			return -UAPI_EACCES; /* archive files are read-only */
	mm->last_vma = NULL;
	ret = gk_vma_protect(&mm->vmas, addr, end, gk_mm_prot(prot));
	if (ret < 0)
		return -UAPI_ENOMEM;
	for (v = gk_vma_next(&mm->vmas, addr); v && v->start < end;
	     v = gk_vma_next(&mm->vmas, v->end)) {
		p.v = v;
		gk_mm_each_pte(k, mm, MAX(v->start, addr), MIN(v->end, end), gk_mm_protect_pte, &p);
	}
	gk_mm_flush_done(k, mm, &p.fl);
	return 0;
}

/* ---- mmap, munmap, brk */

int64_t gk_mm_munmap(struct gk_kernel *k, struct gk_mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + ALIGN_UP(len, PAGE_SIZE);

	if (addr % PAGE_SIZE || !len || addr < USER_BASE || end > USER_END || end < addr)
		return -UAPI_EINVAL;
	mm->last_vma = NULL;
	if (gk_vma_unmap(&mm->vmas, addr, end) < 0)
		return -UAPI_ENOMEM;
	gk_mm_zap(k, mm, addr, end);
	return 0;
}

int64_t gk_mm_mmap(struct gk_kernel *k, struct gk_mm *mm, uint64_t addr, uint64_t len,
		   uint64_t prot, uint64_t flags, int64_t fd, uint64_t off)
{
	bool shared = flags & MAP_SHARED, anon = flags & MAP_ANONYMOUS;
	struct gk_obj *obj = NULL, *made = NULL;
	int ret;

	len = ALIGN_UP(len, PAGE_SIZE);
	if (!len || len > USER_END - USER_BASE || prot & ~(uint64_t)VMA_PROT ||
	    shared == !!(flags & MAP_PRIVATE) || off % PAGE_SIZE ||
	    flags & ~(uint64_t)(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS))
		return -UAPI_EINVAL;
	if (!anon) {
		obj = gk_cache_file(&k->cache, fd);
		if (!obj)
			return -UAPI_EINVAL;
		if (shared && (prot & PROT_WRITE))
			return -UAPI_EACCES;
	}
	if (flags & MAP_FIXED) {
		if (addr % PAGE_SIZE || addr < USER_BASE || addr + len > USER_END ||
		    addr + len < addr)
			return -UAPI_EINVAL;
		if (gk_mm_munmap(k, mm, addr, len) < 0)
			return -UAPI_ENOMEM;
	} else {
		addr = gk_vma_gap(&mm->vmas, len, USER_MMAP_BASE, USER_MMAP_TOP);
		if (!addr)
			return -UAPI_ENOMEM;
	}
	if (anon && shared) {
		obj = made = gk_cache_shm(&k->cache, len);
		if (!obj)
			return -UAPI_ENOMEM;
	}
	ret = gk_mm_add_area(mm, addr, addr + len, gk_mm_prot(prot) | (shared ? VMA_SHARED : 0),
			     obj, anon ? 0 : off, anon ? "anon" : obj->name);
	if (made)
		gk_obj_put(made); /* the area holds it now, or nothing does */
	return ret < 0 ? -UAPI_ENOMEM : (int64_t)addr;
}

int64_t gk_mm_brk(struct gk_kernel *k, struct gk_mm *mm, uint64_t addr)
{
	uint64_t old = ALIGN_UP(mm->brk, PAGE_SIZE), new = ALIGN_UP(addr, PAGE_SIZE);

	if (addr < mm->brk_start || addr > USER_MMAP_BASE)
		return (int64_t)mm->brk;
	if (new > old && gk_mm_add_area(mm, old, new, VMA_READ | VMA_WRITE, NULL, 0, "heap") < 0)
		return (int64_t)mm->brk;
	if (new < old && gk_mm_munmap(k, mm, new, old - new) < 0)
		return (int64_t)mm->brk;
	mm->brk = addr;
	return (int64_t)addr;
}
