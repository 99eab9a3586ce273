/* guest-kernel/gk_fault.h: the first-level #PF handler.
 *
 * Every fault on a user address is one of these classes (counted in
 * struct gk_fault_stats, published to the VMM by gk_counters.c):
 *
 *   anon        not present in an anonymous area: zero frames, the page
 *               and up to fault_around neighbours (private areas), or the
 *               shared object's page from the page cache (shared areas)
 *   file        not present in a file area: the page cache's frame (a
 *               hit), or a frame filled from the archive (a miss); mapped
 *               read-only, so a private area's write then copies it
 *   cow         a write to a present read-only page of a writable private
 *               area: copy it (count > 1: shared after fork, or a cached
 *               file page), or take it back (count 1); also the first
 *               write to a page of the image's data
 *   stack       below a VMA_GROWSDOWN area, within stack_max of its top
 *               and above the area under it: the area grows, then anon
 *   protection  an access the area's protection forbids: SEGV, killed
 *   invalid     outside every area (or a stack past its limit): SEGV
 *
 * A fault that needs a frame when none is free asks the OOM killer
 * (gk_proc_oom) and tries again. A kernel-mode fault outside user space
 * is a kernel bug: EXCEPTION, crash.
 */
#ifndef GK_FAULT_H
#define GK_FAULT_H

#include <stdint.h>
#include "gk_trap.h"

#define PF_P	(1u << 0)
#define PF_W	(1u << 1)
#define PF_U	(1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I	(1u << 4)

struct gk_fault_stats {
	uint64_t anon, file, cow, stack, protection, invalid;
	uint64_t cow_copies, cow_reuses;
};

struct gk_mm;

void gk_fault_handle(struct gk_kernel *k, struct gk_trap_frame *tf);
/* The stack area grown down to page, if page lies where a stack may grow
 * (the rule under "stack" above); NULL if not. */
struct gk_vma *gk_fault_grow_stack(struct gk_mm *mm, uint64_t page);

#endif
