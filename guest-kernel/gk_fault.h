/* guest-kernel/gk_fault.h: the first-level #PF handler.
 *
 *   outside every area, or an access the area forbids  -> SEGV, task killed
 *   not present                 -> map it and up to fault_around neighbours
 *                                  (an aligned window, clipped to the area):
 *                                  anon: zero frames; image: the image page
 *                                  read-only, or a copy when written
 *   write to a present read-only page of a writable image area -> copy
 * A kernel-mode fault outside user space is a kernel bug: EXCEPTION, crash.
 */
#ifndef GK_FAULT_H
#define GK_FAULT_H

#include "gk_trap.h"

#define PF_P	(1u << 0)
#define PF_W	(1u << 1)
#define PF_U	(1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I	(1u << 4)

void gk_fault_handle(struct gk_kernel *k, struct gk_trap_frame *tf);

#endif
