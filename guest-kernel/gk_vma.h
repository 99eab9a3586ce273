/* guest-kernel/gk_vma.h: a task's virtual memory areas.
 *
 * A sorted array searched by bisection: O(log n) lookup, and a task has a
 * handful of areas, so inserting by shifting costs nothing worth a tree.
 *
 * An area is anonymous (demand-zero) or image-backed: page i of the area
 * is the kernel image's page at backing + i, mapped read-only and, in a
 * writable area, copied on the first write (copy-on-write).
 */
#ifndef GK_VMA_H
#define GK_VMA_H

#include <stdint.h>

#define VMA_MAX 16

#define VMA_READ  1u
#define VMA_WRITE 2u
#define VMA_EXEC  4u
#define VMA_ANON  8u /* demand-zero; else backed by image pages */

struct gk_vma {
	uint64_t start, end; /* page aligned, [start, end) */
	uint64_t backing;    /* image GPA of start (backed areas) */
	unsigned flags;
	const char *name;
};

struct gk_vma_set {
	struct gk_vma v[VMA_MAX];
	unsigned n;
};

/* 0, or -EINVAL for an empty/misaligned/overlapping area, -ENOMEM if full. */
int gk_vma_add(struct gk_vma_set *s, uint64_t start, uint64_t end, unsigned flags, uint64_t backing,
	       const char *name);
const struct gk_vma *gk_vma_find(const struct gk_vma_set *s, uint64_t addr); /* NULL: no area */
/* The area holding all of [addr, addr + len), if one area holds it. */
const struct gk_vma *gk_vma_find_range(const struct gk_vma_set *s, uint64_t addr, uint64_t len);

#endif
