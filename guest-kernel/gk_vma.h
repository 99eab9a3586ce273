/* guest-kernel/gk_vma.h: a process's virtual memory areas, in an AVL tree.
 *
 * An area is [start, end), page aligned, with protection bits and a
 * backing:
 *   private anonymous   obj NULL: demand-zero pages of its own, shared
 *                       copy-on-write with children after fork
 *   image               VMA_IMAGE, off = GPA of start in the kernel image
 *                       (the user code and data linked into it): mapped
 *                       from there read-only, copied on the first write
 *   object              obj = a file of the boot archive or a shared
 *                       anonymous object, off = byte offset of start in
 *                       it; pages come from the page cache (gk_cache.h),
 *                       shared by VMA_SHARED areas, copied on write by
 *                       private ones
 * VMA_GROWSDOWN marks the stack, which a fault just below it extends.
 *
 * Areas never overlap. The tree is ordered by start and balanced (AVL:
 * the heights of a node's subtrees differ by at most one), so a lookup is
 * O(log n) however many areas a process makes. Neighbours that could be
 * one area (same protection and backing, contiguous offsets) are merged
 * by every operation, so the tree holds the fewest areas that describe
 * the address space. Operations that split areas take their nodes from
 * the set's pool first and fail with -ENOMEM before changing anything.
 *
 * An area with an object holds one reference to it: gk_obj_get and
 * gk_obj_put, which gk_cache.c implements (and host tests fake).
 */
#ifndef GK_VMA_H
#define GK_VMA_H

#include <stdbool.h>
#include <stdint.h>
#include "gk_pool.h"

#define VMA_READ      1u
#define VMA_WRITE     2u
#define VMA_EXEC      4u
#define VMA_PROT      (VMA_READ | VMA_WRITE | VMA_EXEC)
#define VMA_SHARED    8u  /* writes reach the object (and every sharer) */
#define VMA_IMAGE     16u /* backed by kernel-image pages at off */
#define VMA_GROWSDOWN 32u /* the stack */

struct gk_obj;
void gk_obj_get(struct gk_obj *o);
void gk_obj_put(struct gk_obj *o);

struct gk_vma {
	uint64_t start, end; /* [start, end) */
	uint64_t off;	     /* image GPA or object offset of start; 0 if anonymous */
	struct gk_obj *obj;
	unsigned flags;
	const char *name; /* for messages; merging keeps the lower area's */
	struct gk_vma *left, *right;
	int height; /* of the subtree; a leaf is 1 */
};

struct gk_vma_set {
	struct gk_vma *root;
	unsigned count, max;  /* areas, and the most allowed (-ENOMEM past it) */
	struct gk_pool *pool; /* of struct gk_vma */
};

void gk_vma_init(struct gk_vma_set *s, struct gk_pool *pool, unsigned max);
/* The area holding addr, or NULL. */
struct gk_vma *gk_vma_find(const struct gk_vma_set *s, uint64_t addr);
/* The first area ending above addr (holding it or after it), or NULL:
 * for (v = gk_vma_next(s, a); v && v->start < b; v = gk_vma_next(s, v->end))
 * visits every area meeting [a, b) in order. */
struct gk_vma *gk_vma_next(const struct gk_vma_set *s, uint64_t addr);
/* The last area starting below addr, or NULL. */
struct gk_vma *gk_vma_prev(const struct gk_vma_set *s, uint64_t addr);
/* Whether areas cover all of [start, end), without a hole. */
bool gk_vma_covered(const struct gk_vma_set *s, uint64_t start, uint64_t end);

/* Add [start, end) with flags and backing, merged with its neighbours
 * where they match. -EINVAL if empty, unaligned or overlapping an area;
 * -ENOMEM if the pool is dry or the set is at its maximum. */
int gk_vma_map(struct gk_vma_set *s, uint64_t start, uint64_t end, unsigned flags,
	       struct gk_obj *obj, uint64_t off, const char *name);
/* Remove [start, end) from every area it meets (cutting areas that
 * straddle an end). -EINVAL if unaligned, -ENOMEM as for gk_vma_map. */
int gk_vma_unmap(struct gk_vma_set *s, uint64_t start, uint64_t end);
/* Set the VMA_PROT bits of every area within [start, end) to prot. */
int gk_vma_protect(struct gk_vma_set *s, uint64_t start, uint64_t end, unsigned prot);
/* The highest free [x, x + len) with lo <= x and x + len <= hi; 0 if none. */
uint64_t gk_vma_gap(const struct gk_vma_set *s, uint64_t len, uint64_t lo, uint64_t hi);
/* dst (empty) gets a copy of every area of src. */
int gk_vma_copy(struct gk_vma_set *dst, const struct gk_vma_set *src);
void gk_vma_clear(struct gk_vma_set *s);

#endif
