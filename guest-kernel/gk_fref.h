/* guest-kernel/gk_fref.h: a reference count per guest frame.
 *
 * A frame of user memory is referenced by every page table entry that maps
 * it and by the page cache while it caches it. After fork, parent and
 * child map the same frames (copy-on-write); a write fault copies a frame
 * whose count is above one, or takes it back when the count has dropped
 * to one. A frame returns to the allocator when its last reference goes.
 *
 * Counts cover the frames the allocator manages, [base, top); a frame
 * outside (the kernel image's pages that tasks map) is never counted.
 * The table stores count - 1: its memory starts zero and a frame's entry
 * is zero again when its last reference goes, so a frame fresh from the
 * allocator has count 1 without a store on the fault path.
 */
#ifndef GK_FREF_H
#define GK_FREF_H

#include <stdbool.h>
#include <stdint.h>

#define FREF_MAX 65536 /* a uint16_t per frame; far above processes + 1 */

struct gk_fref {
	uint16_t *extra; /* count - 1, per frame from base on */
	uint64_t base, top;
};

/* table: (top - base) / 4096 entries, zero. */
void gk_fref_init(struct gk_fref *r, uint16_t *table, uint64_t base, uint64_t top);
static inline bool gk_fref_managed(const struct gk_fref *r, uint64_t pa)
{
	return pa >= r->base && pa < r->top;
}
/* The count of an allocated managed frame (1 for one never shared). */
uint32_t gk_fref_count(const struct gk_fref *r, uint64_t pa);
/* One more reference; -EOVERFLOW at FREF_MAX (nothing changed). */
int gk_fref_get(struct gk_fref *r, uint64_t pa);
/* One reference less; true when it was the last: the caller frees the frame. */
bool gk_fref_put(struct gk_fref *r, uint64_t pa);

#endif
