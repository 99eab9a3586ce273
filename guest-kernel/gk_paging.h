/* guest-kernel/gk_paging.h: the kernel's identity map and per-task tables.
 *
 * PML4 slot 0 identity-maps RAM for the kernel only (U=0), with 1 GiB
 * pages when CPUID says pdpe1gb, else 2 MiB pages; gk_entry.S already mapped
 * the first GiB (1 GiB pages) or 8 MiB (2 MiB pages). Slot 1 (uapi.h USER_BASE) is each process's
 * user space in 4 KiB pages (gk_mm.h). RAM above the identity map's limit is left unused.
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
/* A new PML4 sharing the kernel's slot 0; 0 if out of frames. Its user
 * half is gk_mm.c's. */
uint64_t gk_paging_new_space(const struct gk_paging *pg, struct gk_frames *f);

#endif
