/* reclaim/policy_opt.c: Belady's optimal policy (see policy.h).
 *
 * An indexed max-heap of the resident pages keyed by their next use: the
 * root is the page needed furthest in the future (or never), the victim.
 * pos[] finds a page in the heap, so a hit re-keys it in O(log n). Ties
 * (pages never used again) go to the larger page number: any choice among
 * them is optimal; this one is deterministic.
 */
#include "policy_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OPT_NOT_IN_HEAP UINT64_MAX

struct opt_policy {
	struct policy base;
	const uint64_t *next_use; /* by time */
	uint64_t pages, n;	  /* n: pages in the heap */
	uint64_t *heap;		  /* pages, heap[0] the root */
	uint64_t *pos;		  /* by page: index in heap, OPT_NOT_IN_HEAP */
	uint64_t *key;		  /* by page: time of its next use */
};

static struct opt_policy *opt_of(struct policy *p)
{
	return (struct opt_policy *)p;
}

static void opt_destroy(struct policy *p)
{
	struct opt_policy *o = opt_of(p);

	if (!o)
		return;
	free(o->heap);
	free(o->pos);
	free(o->key);
	free(o);
}

static int opt_create(struct policy **out, uint64_t pages, uint64_t capacity,
		      const uint64_t *next_use)
{
	struct opt_policy *o;

	if (!pages || !next_use || pages > SIZE_MAX / sizeof(uint64_t))
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->base.ops = &policy_opt_ops;
	o->next_use = next_use;
	o->pages = pages;
	/* Sized for every page, so that no insert can overflow it. */
	o->heap = malloc(pages * sizeof(uint64_t));
	o->pos = malloc(pages * sizeof(uint64_t));
	o->key = malloc(pages * sizeof(uint64_t));
	if (!o->heap || !o->pos || !o->key) {
		opt_destroy(&o->base);
		return -ENOMEM;
	}
	memset(o->pos, 0xff, pages * sizeof(uint64_t));
	*out = &o->base;
	return 0;
}

/* Whether heap[i] should sit above heap[j]. */
static bool opt_above(const struct opt_policy *o, uint64_t i, uint64_t j)
{
	uint64_t a = o->heap[i], b = o->heap[j];

	return o->key[a] != o->key[b] ? o->key[a] > o->key[b] : a > b;
}

static void opt_swap(struct opt_policy *o, uint64_t i, uint64_t j)
{
	uint64_t a = o->heap[i];

	o->heap[i] = o->heap[j];
	o->heap[j] = a;
	o->pos[o->heap[i]] = i;
	o->pos[o->heap[j]] = j;
}

static void opt_sift_up(struct opt_policy *o, uint64_t i)
{
	while (i && opt_above(o, i, (i - 1) / 2)) {
		opt_swap(o, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void opt_sift_down(struct opt_policy *o, uint64_t i)
{
	for (;;) {
		uint64_t l = 2 * i + 1, r = l + 1, top = i;

		if (l < o->n && opt_above(o, l, top))
			top = l;
		if (r < o->n && opt_above(o, r, top))
			top = r;
		if (top == i)
			return;
		opt_swap(o, i, top);
		i = top;
	}
}

static void opt_rekey(struct opt_policy *o, uint64_t page, uint64_t key)
{
	o->key[page] = key;
	opt_sift_up(o, o->pos[page]);
	opt_sift_down(o, o->pos[page]);
}

static void opt_insert(struct policy *p, uint64_t page, uint64_t t)
{
	struct opt_policy *o = opt_of(p);

	if (page >= o->pages)
		return;
	if (o->pos[page] == OPT_NOT_IN_HEAP) {
		o->heap[o->n] = page;
		o->pos[page] = o->n++;
	}
	opt_rekey(o, page, o->next_use[t]);
}

static void opt_access(struct policy *p, uint64_t page, uint64_t t)
{
	struct opt_policy *o = opt_of(p);

	if (page < o->pages && o->pos[page] != OPT_NOT_IN_HEAP)
		opt_rekey(o, page, o->next_use[t]);
}

static void opt_remove(struct policy *p, uint64_t page)
{
	struct opt_policy *o = opt_of(p);
	uint64_t i, last, moved;

	if (page >= o->pages || o->pos[page] == OPT_NOT_IN_HEAP)
		return;
	/* The last page takes its place, then finds its own. */
	i = o->pos[page];
	last = --o->n;
	moved = o->heap[last];
	if (i != last) {
		opt_swap(o, i, last);
		opt_sift_up(o, i);
		opt_sift_down(o, o->pos[moved]);
	}
	o->pos[page] = OPT_NOT_IN_HEAP;
}

static uint64_t opt_victim(struct policy *p)
{
	struct opt_policy *o = opt_of(p);
	uint64_t page;

	if (!o->n)
		return POLICY_NONE;
	page = o->heap[0];
	opt_remove(p, page);
	return page;
}

const struct policy_ops policy_opt_ops = {
    .name = "opt",
    .create = opt_create,
    .destroy = opt_destroy,
    .insert = opt_insert,
    .access = opt_access,
    .remove = opt_remove,
    .victim = opt_victim,
};
