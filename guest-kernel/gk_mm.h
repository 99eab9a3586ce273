/* guest-kernel/gk_mm.h: a process's address space.
 *
 * Its own PML4 (slot 0, the kernel's identity map, shared by all), its
 * areas (gk_vma.h) and its page tables, whose entries point at frames
 * counted in gk_fref.h. A user PTE holds a frame when it is present, or
 * when mprotect(PROT_NONE) made it absent but kept the frame
 * (PTE_PROTNONE). Everything that changes PTEs here invalidates what it
 * changed (gk_tlb.h).
 *
 * System calls on the address space (brk, mmap, munmap, mprotect) are
 * here too; gk_fault.c serves the faults.
 */
#ifndef GK_MM_H
#define GK_MM_H

#include <stdbool.h>
#include <stdint.h>
#include "gk_tlb.h"
#include "gk_vma.h"

#define PTE_PROTNONE (1ULL << 9) /* software: absent for PROT_NONE, frame kept */
#define MM_VMA_MAX   4096	 /* areas per process, as Linux's max_map_count */

struct gk_kernel;

/* A page-table page of a space: the list frees them all at exit without
 * scanning tables (a 512-entry scan is thousands of instructions). */
struct gk_mm_table {
	struct gk_mm_table *next;
	uint64_t pa;
};

struct gk_mm {
	struct gk_tlb_space tlb; /* pml4 and PCID */
	struct gk_vma_set vmas;
	uint64_t rss;		    /* user PTEs holding a frame */
	uint64_t pt_pages;	    /* page-table pages below the PML4 */
	struct gk_mm_table *tables; /* those pages */
	uint64_t brk_start, brk;
	uint64_t stack_max; /* bytes the stack may grow to */
	/* Fault-path caches: the area of the last fault (NULL after any
	 * change to the areas), the page table of the last fault and the
	 * last fault-around window (gk_fault.c). */
	struct gk_vma *last_vma;
	uint64_t *pt, pt_index; /* pt maps [pt_index << 21, +2 MiB) */
	uint64_t seq_next, seq_pages;
};

static inline bool gk_mm_pte_has_frame(uint64_t pte)
{
	return pte & (1ULL /* PTE_P */ | PTE_PROTNONE);
}

/* An empty space for process table slot slot: 0 or -ENOMEM. */
int gk_mm_init(struct gk_kernel *k, struct gk_mm *mm, unsigned slot);
/* Every frame and table given back, the areas cleared. */
void gk_mm_destroy(struct gk_kernel *k, struct gk_mm *mm);
/* dst (fresh from gk_mm_init) becomes a copy of src: the same areas, and
 * every frame src maps shared, private writable ones read-only in both
 * (copy-on-write). 0 or -ENOMEM (dst then holds part of it: destroy it). */
int gk_mm_fork(struct gk_kernel *k, struct gk_mm *dst, struct gk_mm *src);
/* The PTE of user va; missing tables are made with alloc (NULL if out of frames). */
uint64_t *gk_mm_pte(struct gk_kernel *k, struct gk_mm *mm, uint64_t va, bool alloc);
/* Drop the frames mapped in [start, end); the areas stay (reads give zero). */
void gk_mm_zap(struct gk_kernel *k, struct gk_mm *mm, uint64_t start, uint64_t end);
/* An area, with nothing mapped in it yet: 0 or -errno. */
int gk_mm_add_area(struct gk_mm *mm, uint64_t start, uint64_t end, unsigned flags,
		   struct gk_obj *obj, uint64_t off, const char *name);

/* System calls (uapi.h): results as they return them (-errno on failure). */
int64_t gk_mm_brk(struct gk_kernel *k, struct gk_mm *mm, uint64_t addr);
int64_t gk_mm_mmap(struct gk_kernel *k, struct gk_mm *mm, uint64_t addr, uint64_t len,
		   uint64_t prot, uint64_t flags, int64_t fd, uint64_t off);
int64_t gk_mm_munmap(struct gk_kernel *k, struct gk_mm *mm, uint64_t addr, uint64_t len);
int64_t gk_mm_mprotect(struct gk_kernel *k, struct gk_mm *mm, uint64_t addr, uint64_t len,
		       uint64_t prot);

#endif
