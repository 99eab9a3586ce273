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

uint64_t gk_paging_new_space(const struct gk_paging *pg, struct gk_frames *f)
{
	uint64_t pa = gk_frame_alloc(f);

	/* The kernel lives in slot 0 only, so one entry is the whole kernel half. */
	if (pa)
		((uint64_t *)(uintptr_t)pa)[0] = pg->pml4[0];
	return pa;
}
