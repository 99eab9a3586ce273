/* guest-kernel/gk_paging.c: identity map and 4-level walks.
 *
 * The kernel runs on the identity map, so a table's GPA is also the
 * pointer the kernel uses to write it.
 */
#include "gk_paging.h"
#include "gk_frame.h"
#include "gk_lib.h"
#include "uapi.h"

#define PAGE_2M (1ULL << 21)

extern uint64_t gk_boot_pml4[512], gk_boot_pdpt[512];
extern uint8_t gk_boot_gbpages;
extern uint64_t gk_boot_mapped;

void gk_paging_init(struct gk_paging *pg)
{
	pg->pml4 = gk_boot_pml4;
	pg->pdpt = gk_boot_pdpt;
	pg->gbpages = gk_boot_gbpages;
	pg->booted = gk_boot_mapped;
	/* Slot 0 must never reach the user slot; 2 MiB pages need a pool PD per GiB. */
	pg->limit = pg->gbpages ? USER_BASE : (1 + PAGING_PD_POOL) * GIB;
}

static uint64_t *gk_paging_pd(struct gk_paging *pg, uint64_t pa)
{
	uint64_t *e = &pg->pdpt[pa / GIB];

	if (!(*e & PTE_P))
		*e = (uint64_t)(uintptr_t)pg->pd_pool[pg->pd_used++] | PTE_P | PTE_W;
	return (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
}

int gk_paging_identity_map(struct gk_paging *pg, uint64_t start, uint64_t end)
{
	uint64_t a;

	if (end > pg->limit)
		return -ERANGE;
	if (start < pg->booted)
		start = pg->booted;
	if (pg->gbpages) {
		for (a = ALIGN_DOWN(start, GIB); a < end; a += GIB)
			if (!(pg->pdpt[a / GIB] & PTE_P))
				pg->pdpt[a / GIB] = a | PTE_P | PTE_W | PTE_PS;
		return 0;
	}
	/* A present entry maps the same page (nothing else goes in slot 0's
	 * page directories), so entries are written without a test. */
	for (a = ALIGN_DOWN(start, PAGE_2M); a < end; a += PAGE_2M)
		gk_paging_pd(pg, a)[(a / PAGE_2M) % 512] = a | PTE_P | PTE_W | PTE_PS;
	return 0;
}

uint64_t *gk_paging_pte(struct gk_frames *f, uint64_t *pml4, uint64_t va, bool alloc,
			uint64_t *tables)
{
	uint64_t *t = pml4;
	int shift;

	for (shift = 39; shift > 12; shift -= 9) {
		uint64_t *e = &t[(va >> shift) & 511];

		if (!(*e & PTE_P)) {
			uint64_t pa = alloc ? gk_frame_alloc(f) : 0;

			if (!pa)
				return NULL;
			(*tables)++;
			/* Permissions live in the leaf; upper levels allow everything. */
			*e = pa | PTE_P | PTE_W | PTE_U | PTE_A;
		}
		t = (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
	}
	return &t[(va >> 12) & 511];
}

uint64_t gk_paging_new_space(const struct gk_paging *pg, struct gk_frames *f)
{
	uint64_t pa = gk_frame_alloc(f);

	/* The kernel lives in slot 0 only, so one entry is the whole kernel half. */
	if (pa)
		((uint64_t *)(uintptr_t)pa)[0] = pg->pml4[0];
	return pa;
}

/* The tables below table t at level (3: a PDPT ... 1: a page table). */
static void gk_paging_free_tables(struct gk_frames *f, uint64_t *t, int level)
{
	unsigned i;

	for (i = 0; level > 1 && i < 512; i++)
		if (t[i] & PTE_P)
			gk_paging_free_tables(f, (uint64_t *)(uintptr_t)(t[i] & PTE_ADDR), level - 1);
	gk_frame_free(f, (uint64_t)(uintptr_t)t);
}

void gk_paging_free_space(struct gk_frames *f, uint64_t pml4)
{
	uint64_t *t = (uint64_t *)(uintptr_t)pml4, slot = USER_BASE >> 39;

	if (t[slot] & PTE_P)
		gk_paging_free_tables(f, (uint64_t *)(uintptr_t)(t[slot] & PTE_ADDR), 3);
	gk_frame_free(f, pml4);
}
