/* guest-kernel/gk_paging.h: the kernel's identity map and per-task tables.
 *
 * PML4 slot 0 identity-maps RAM for the kernel only (U=0), with 1 GiB
 * pages when CPUID says pdpe1gb, else 2 MiB pages; gk_entry.S already mapped
 * the first GiB (1 GiB pages) or 8 MiB (2 MiB pages). Slot 1 (uapi.h USER_BASE) is each task's user
 * space in 4 KiB pages. RAM above the identity map's limit is left unused.
 */
#ifndef GK_PAGING_H
#define GK_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#define PTE_P	 (1ULL << 0)
#define PTE_W	 (1ULL << 1)
#define PTE_U	 (1ULL << 2)
#define PTE_A	 (1ULL << 5)
#define PTE_D	 (1ULL << 6)
#define PTE_PS	 (1ULL << 7)
#define PTE_NX	 (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

#define GIB	       (1ULL << 30)
#define PAGING_PD_POOL 16 /* page directories for 2 MiB pages: 16 GiB past the first */

struct gk_frames;

struct gk_paging {
	/* Page directories need page alignment; the struct inherits it. */
	uint64_t pd_pool[PAGING_PD_POOL][512] __attribute__((aligned(4096)));
	uint64_t *pml4; /* gk_entry.S's gk_boot_pml4, the kernel half of every task */
	uint64_t *pdpt;
	uint64_t limit;	 /* the identity map can cover [0, limit) */
	uint64_t booted; /* gk_entry.S mapped [0, booted) */
	unsigned pd_used;
	bool gbpages;
};

void gk_paging_init(struct gk_paging *pg);
/* Identity-maps [start, end) for the kernel. -ERANGE beyond pg->limit. */
int gk_paging_identity_map(struct gk_paging *pg, uint64_t start, uint64_t end);
/* The 4 KiB PTE for user va in the tables under pml4; with alloc, missing
 * tables come from f (zero), counted in *tables. NULL if absent (or out
 * of frames). */
uint64_t *gk_paging_pte(struct gk_frames *f, uint64_t *pml4, uint64_t va, bool alloc,
			uint64_t *tables);
/* A new PML4 sharing the kernel's slot 0; 0 if out of frames. */
uint64_t gk_paging_new_space(const struct gk_paging *pg, struct gk_frames *f);
/* Free the user tables under pml4 (their entries are dropped already) and pml4. */
void gk_paging_free_space(struct gk_frames *f, uint64_t pml4);

#endif
