/* guest-kernel/gk_vma.c: the area tree (AVL, keyed by start).
 *
 * Insertion and removal are the textbook recursive ones; areas are never
 * more than a few thousand, so the recursion is shallow (1.44 log2 n).
 * Changing an area's start or end in place is safe whenever it keeps the
 * area clear of its neighbours: the order of starts does not change.
 */
#include "gk_vma.h"
#include "gk_lib.h"

void gk_vma_init(struct gk_vma_set *s, struct gk_pool *pool, unsigned max)
{
	s->root = NULL;
	s->count = 0;
	s->max = max;
	s->pool = pool;
}

/* ---- the AVL tree */

static int gk_vma_h(const struct gk_vma *v)
{
	return v ? v->height : 0;
}

static void gk_vma_fix(struct gk_vma *v)
{
	int l = gk_vma_h(v->left), r = gk_vma_h(v->right);

	v->height = 1 + (l > r ? l : r);
}

static struct gk_vma *gk_vma_rotate_right(struct gk_vma *y)
{
	struct gk_vma *x = y->left;

	y->left = x->right;
	x->right = y;
	gk_vma_fix(y);
	gk_vma_fix(x);
	return x;
}

static struct gk_vma *gk_vma_rotate_left(struct gk_vma *x)
{
	struct gk_vma *y = x->right;

	x->right = y->left;
	y->left = x;
	gk_vma_fix(x);
	gk_vma_fix(y);
	return y;
}

/* Restore the AVL property at v, whose subtrees differ by at most 2. */
static struct gk_vma *gk_vma_balance(struct gk_vma *v)
{
	int b = gk_vma_h(v->left) - gk_vma_h(v->right);

	if (b > 1) {
		if (gk_vma_h(v->left->left) < gk_vma_h(v->left->right))
			v->left = gk_vma_rotate_left(v->left);
		return gk_vma_rotate_right(v);
	}
	if (b < -1) {
		if (gk_vma_h(v->right->right) < gk_vma_h(v->right->left))
			v->right = gk_vma_rotate_right(v->right);
		return gk_vma_rotate_left(v);
	}
	gk_vma_fix(v);
	return v;
}

static struct gk_vma *gk_vma_insert(struct gk_vma *root, struct gk_vma *n)
{
	if (!root)
		return n;
	if (n->start < root->start)
		root->left = gk_vma_insert(root->left, n);
	else
		root->right = gk_vma_insert(root->right, n);
	return gk_vma_balance(root);
}

static struct gk_vma *gk_vma_detach_min(struct gk_vma *v, struct gk_vma **min)
{
	if (!v->left) {
		*min = v;
		return v->right;
	}
	v->left = gk_vma_detach_min(v->left, min);
	return gk_vma_balance(v);
}

/* The tree under root without node n (which is in it). */
static struct gk_vma *gk_vma_detach(struct gk_vma *root, struct gk_vma *n)
{
	struct gk_vma *m;

	if (n->start < root->start) {
		root->left = gk_vma_detach(root->left, n);
	} else if (n->start > root->start) {
		root->right = gk_vma_detach(root->right, n);
	} else {
		if (!root->right)
			return root->left;
		root->right = gk_vma_detach_min(root->right, &m);
		m->left = root->left;
		m->right = root->right;
		root = m;
	}
	return gk_vma_balance(root);
}

/* ---- lookups */

struct gk_vma *gk_vma_find(const struct gk_vma_set *s, uint64_t addr)
{
	struct gk_vma *v = s->root;

	while (v && (addr < v->start || addr >= v->end))
		v = addr < v->start ? v->left : v->right;
	return v;
}

struct gk_vma *gk_vma_next(const struct gk_vma_set *s, uint64_t addr)
{
	struct gk_vma *v = s->root, *best = NULL;

	while (v) {
		if (v->end > addr) {
			best = v;
			v = v->left;
		} else {
			v = v->right;
		}
	}
	return best;
}

struct gk_vma *gk_vma_prev(const struct gk_vma_set *s, uint64_t addr)
{
	struct gk_vma *v = s->root, *best = NULL;

	while (v) {
		if (v->start < addr) {
			best = v;
			v = v->right;
		} else {
			v = v->left;
		}
	}
	return best;
}

bool gk_vma_covered(const struct gk_vma_set *s, uint64_t start, uint64_t end)
{
	struct gk_vma *v;

	for (v = gk_vma_find(s, start); v && v->end < end; v = gk_vma_find(s, v->end))
		;
	return v != NULL;
}

/* ---- changes */

static bool gk_vma_backed(const struct gk_vma *v)
{
	return v->obj || (v->flags & VMA_IMAGE);
}

/* Could a (below) and b (just above it) be one area? */
static bool gk_vma_joins(const struct gk_vma *a, const struct gk_vma *b)
{
	return a->end == b->start && a->flags == b->flags && a->obj == b->obj &&
	       (!gk_vma_backed(a) || a->off + (a->end - a->start) == b->off);
}

/* Insert a new node copied from *want. */
static int gk_vma_add(struct gk_vma_set *s, const struct gk_vma *want)
{
	struct gk_vma *n;

	if (s->count == s->max || !(n = gk_pool_get(s->pool)))
		return -ENOMEM;
	*n = *want;
	n->left = n->right = NULL;
	n->height = 1;
	if (n->obj)
		gk_obj_get(n->obj);
	s->root = gk_vma_insert(s->root, n);
	s->count++;
	return 0;
}

static void gk_vma_erase(struct gk_vma_set *s, struct gk_vma *v)
{
	s->root = gk_vma_detach(s->root, v);
	s->count--;
	if (v->obj)
		gk_obj_put(v->obj);
	gk_pool_put(s->pool, v);
}

/* Cut v in two at addr, inside it: v keeps [start, addr). */
static int gk_vma_split(struct gk_vma_set *s, struct gk_vma *v, uint64_t addr)
{
	struct gk_vma upper = *v;
	int ret;

	upper.start = addr;
	if (gk_vma_backed(v))
		upper.off += addr - v->start;
	ret = gk_vma_add(s, &upper);
	if (!ret)
		v->end = addr;
	return ret;
}

int gk_vma_map(struct gk_vma_set *s, uint64_t start, uint64_t end, unsigned flags,
	       struct gk_obj *obj, uint64_t off, const char *name)
{
	struct gk_vma want = {start, end, off, obj, flags, name, NULL, NULL, 1}, *prev, *next;

	if (start >= end || (start | end) % PAGE_SIZE)
		return -EINVAL;
	if (!gk_vma_backed(&want))
		want.off = 0;
	next = gk_vma_next(s, start);
	if (next && next->start < end)
		return -EINVAL;
	prev = gk_vma_prev(s, start);
	if (prev && !gk_vma_joins(prev, &want))
		prev = NULL;
	if (next && !gk_vma_joins(&want, next))
		next = NULL;
	if (prev && next) {
		prev->end = next->end;
		gk_vma_erase(s, next);
	} else if (prev) {
		prev->end = end;
	} else if (next) {
		next->start = start;
		next->off = want.off;
	} else {
		return gk_vma_add(s, &want);
	}
	return 0;
}

int gk_vma_unmap(struct gk_vma_set *s, uint64_t start, uint64_t end)
{
	struct gk_vma *v = gk_vma_find(s, start);
	int ret;

	if ((start | end) % PAGE_SIZE || end < start)
		return -EINVAL;
	if (v && v->start < start && v->end > end) { /* a hole in the middle */
		ret = gk_vma_split(s, v, end);
		if (!ret)
			v->end = start;
		return ret;
	}
	while ((v = gk_vma_next(s, start)) && v->start < end) {
		if (v->start < start) {
			v->end = start;
		} else if (v->end > end) {
			if (gk_vma_backed(v))
				v->off += end - v->start;
			v->start = end;
		} else {
			gk_vma_erase(s, v);
		}
	}
	return 0;
}

/* Merge every pair of joinable neighbours from v on while they start at
 * or below end. */
static void gk_vma_merge_from(struct gk_vma_set *s, struct gk_vma *v, uint64_t end)
{
	struct gk_vma *w;

	while (v && v->start <= end) {
		w = gk_vma_next(s, v->end);
		if (w && gk_vma_joins(v, w)) {
			v->end = w->end;
			gk_vma_erase(s, w);
		} else {
			v = w;
		}
	}
}

int gk_vma_protect(struct gk_vma_set *s, uint64_t start, uint64_t end, unsigned prot)
{
	struct gk_vma *lo = gk_vma_find(s, start),
		      *hi = end > start ? gk_vma_find(s, end - 1) : NULL;
	bool cut_lo = lo && lo->start < start && (lo->flags & VMA_PROT) != prot;
	bool cut_hi = hi && hi->end > end && (hi->flags & VMA_PROT) != prot;
	unsigned need = cut_lo + cut_hi;
	struct gk_vma *v;

	if ((start | end) % PAGE_SIZE || end < start || prot & ~VMA_PROT)
		return -EINVAL;
	if (s->count + need > s->max || gk_pool_reserve(s->pool, need) < 0)
		return -ENOMEM;
	/* Cannot fail now: the nodes are there. */
	if (cut_lo)
		gk_vma_split(s, lo, start);
	if (cut_hi)
		gk_vma_split(s, gk_vma_find(s, end - 1), end);
	for (v = gk_vma_next(s, start); v && v->start < end; v = gk_vma_next(s, v->end))
		v->flags = (v->flags & ~VMA_PROT) | prot;
	v = gk_vma_prev(s, start);
	gk_vma_merge_from(s, v ? v : gk_vma_next(s, start), end);
	return 0;
}

uint64_t gk_vma_gap(const struct gk_vma_set *s, uint64_t len, uint64_t lo, uint64_t hi)
{
	uint64_t x;
	struct gk_vma *v;

	if (!len || hi < lo || len > hi - lo)
		return 0;
	for (x = hi - len;; x = v->start - len) {
		v = gk_vma_next(s, x);
		if (!v || v->start >= x + len)
			return x;
		if (v->start < lo + len)
			return 0;
	}
}

static int gk_vma_copy_tree(struct gk_vma_set *dst, const struct gk_vma *v)
{
	int ret;

	if (!v)
		return 0;
	ret = gk_vma_copy_tree(dst, v->left);
	if (!ret)
		ret = gk_vma_add(dst, v);
	return ret ? ret : gk_vma_copy_tree(dst, v->right);
}

int gk_vma_copy(struct gk_vma_set *dst, const struct gk_vma_set *src)
{
	return gk_vma_copy_tree(dst, src->root);
}

static void gk_vma_free_tree(struct gk_vma_set *s, struct gk_vma *v)
{
	if (!v)
		return;
	gk_vma_free_tree(s, v->left);
	gk_vma_free_tree(s, v->right);
	if (v->obj)
		gk_obj_put(v->obj);
	gk_pool_put(s->pool, v);
}

void gk_vma_clear(struct gk_vma_set *s)
{
	gk_vma_free_tree(s, s->root);
	s->root = NULL;
	s->count = 0;
}
