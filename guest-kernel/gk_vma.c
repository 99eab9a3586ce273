/* guest-kernel/gk_vma.c: sorted array of areas, bisection lookup. */
#include "gk_vma.h"
#include "gk_lib.h"

#define EINVAL 22
#define ENOMEM 12

/* Index of the first area whose end is above addr (n if none). */
static unsigned gk_vma_bisect(const struct gk_vma_set *s, uint64_t addr)
{
	unsigned lo = 0, hi = s->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (s->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int gk_vma_add(struct gk_vma_set *s, uint64_t start, uint64_t end, unsigned flags, uint64_t backing,
	       const char *name)
{
	unsigned i;

	if (start >= end || (start | end) % PAGE_SIZE)
		return -EINVAL;
	if (s->n == VMA_MAX)
		return -ENOMEM;
	i = gk_vma_bisect(s, start);
	if (i < s->n && s->v[i].start < end)
		return -EINVAL;
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(s->v[0]));
	s->v[i] = (struct gk_vma){start, end, backing, flags, name};
	s->n++;
	return 0;
}

const struct gk_vma *gk_vma_find(const struct gk_vma_set *s, uint64_t addr)
{
	unsigned i = gk_vma_bisect(s, addr);

	return i < s->n && s->v[i].start <= addr ? &s->v[i] : NULL;
}

const struct gk_vma *gk_vma_find_range(const struct gk_vma_set *s, uint64_t addr, uint64_t len)
{
	const struct gk_vma *v = gk_vma_find(s, addr);

	return v && len <= v->end - addr ? v : NULL;
}
