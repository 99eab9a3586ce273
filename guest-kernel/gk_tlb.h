/* guest-kernel/gk_tlb.h: address-space switches and TLB invalidation.
 *
 * With PCIDs (CPUID.1:ECX.PCID, CR4.PCIDE) each address space has its own
 * PCID, the process table slot's index + 1, and a switch loads CR3 with
 * bit 63 set: the TLB keeps every space's entries across switches, so the
 * kernel must invalidate exactly what it changes:
 *   a change in the loaded space     INVLPG of the page, or, past
 *                                    TLB_PAGES_MAX pages, a flush of its
 *                                    PCID (INVPCID type 1 where the CPU has
 *                                    INVPCID, else a CR3 load without bit 63)
 *   a change in another space        that space is marked stale and its
 *                                    PCID flushed when next loaded
 *   a new space in a reused slot     stale from the start: the PCID's old
 *                                    owner may have left entries
 * Without PCIDs every CR3 load flushes the TLB, so only the loaded space
 * needs invalidations (INVLPG, or a CR3 reload for many pages).
 */
#ifndef GK_TLB_H
#define GK_TLB_H

#include <stdbool.h>
#include <stdint.h>

#define TLB_PAGES_MAX 32 /* invalidations one by one up to here, then the whole space */

struct gk_tlb_space {
	uint64_t pml4; /* GPA of the top table */
	uint16_t pcid; /* 0 without PCIDs */
	bool stale;    /* flush this PCID at the next load */
};

struct gk_tlb_stats {
	uint64_t cr3_loads, flush_page, flush_pcid, flush_all;
};

struct gk_tlb {
	bool pcid, invpcid;
	bool skip; /* tlb_skip=1: no invalidation at all, to show tests catch it */
	const struct gk_tlb_space *loaded; /* NULL: the kernel's own tables */
	uint64_t kernel_pml4;
	struct gk_tlb_stats stats;
};

/* want_pcid false: run without PCIDs even where the CPU has them. */
void gk_tlb_init(struct gk_tlb *t, uint64_t kernel_pml4, bool want_pcid);
void gk_tlb_space_init(const struct gk_tlb *t, struct gk_tlb_space *s, uint64_t pml4,
		       unsigned slot);
void gk_tlb_load(struct gk_tlb *t, struct gk_tlb_space *s);
/* The kernel's own tables: before a loaded space's tables are freed. */
void gk_tlb_load_kernel(struct gk_tlb *t);
void gk_tlb_flush_page(struct gk_tlb *t, struct gk_tlb_space *s, uint64_t va);
void gk_tlb_flush_space(struct gk_tlb *t, struct gk_tlb_space *s);

#endif
