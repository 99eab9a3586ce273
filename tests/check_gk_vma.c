/* tests/check_gk_vma.c: the guest kernel's area tree (guest-kernel/gk_vma.c,
 * built for the host) against a reference model: one record per page of a
 * window of address space. Thousands of random maps, unmaps, protection
 * changes, lookups, gap searches and copies; after each, the tree must be
 * a valid AVL tree of disjoint areas, hold the fewest areas the model's
 * pages allow (maximal merging), agree with the model on every page, and
 * hold one object reference per area that names the object. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "gk_vma.h"

#define BASE  0x10000000ULL
#define PAGES 600
#define NOBJS 3
#define MAXV  4096
#define PG    4096ULL

/* ck_assert records every passing check through a system call; the
 * model is compared millions of times, so only failures go to Check. */
#define REQUIRE(cond, ...)                                                                         \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg(__VA_ARGS__);                                                 \
	} while (0)

struct gk_obj {
	int refs;
};

static struct gk_obj objs[NOBJS];

void gk_obj_get(struct gk_obj *o)
{
	o->refs++;
}

void gk_obj_put(struct gk_obj *o)
{
	ck_assert_int_gt(o->refs, 0);
	o->refs--;
}

static uint64_t vma_test_page(void *ctx)
{
	(void)ctx;
	return (uint64_t)(uintptr_t)aligned_alloc(PG, PG);
}

/* One page of the model: unmapped, or the attributes its area must have. */
struct page {
	bool mapped;
	unsigned flags;
	int obj;      /* -1: none */
	uint64_t off; /* backing offset of this page (image or object), 0 if anonymous */
};

static struct page model[PAGES];
static struct gk_pool pool;
static struct gk_vma_set set;

static uint64_t addr_of(int i)
{
	return BASE + (uint64_t)i * PG;
}

static bool backed(const struct page *p)
{
	return p->obj >= 0 || (p->flags & VMA_IMAGE);
}

/* Could page i + 1 belong to the same area as page i? */
static bool pages_join(int i)
{
	const struct page *a = &model[i], *b = &model[i + 1];

	return a->mapped && b->mapped && a->flags == b->flags && a->obj == b->obj &&
	       (!backed(a) || a->off + PG == b->off);
}

static unsigned model_areas(void)
{
	unsigned n = 0;

	for (int i = 0; i < PAGES; i++)
		if (model[i].mapped && (i == 0 || !pages_join(i - 1)))
			n++;
	return n;
}

/* In-order walk: heights, balance and order; returns the height. */
static int check_subtree(const struct gk_vma *v, const struct gk_vma **last, unsigned *n)
{
	int l, r;

	if (!v)
		return 0;
	l = check_subtree(v->left, last, n);
	REQUIRE(v->start < v->end, "empty area at %#lx", v->start);
	if (*last)
		REQUIRE((*last)->end <= v->start, "areas [%#lx,%#lx) and [%#lx,%#lx) overlap",
			(*last)->start, (*last)->end, v->start, v->end);
	*last = v;
	(*n)++;
	r = check_subtree(v->right, last, n);
	REQUIRE(abs(l - r) <= 1, "node %#lx out of balance (%d, %d)", v->start, l, r);
	REQUIRE(v->height == 1 + (l > r ? l : r), "node %#lx: height %d", v->start, v->height);
	return v->height;
}

static void check_against_model(void)
{
	const struct gk_vma *last = NULL;
	unsigned n = 0;
	int refs[NOBJS] = {0};

	check_subtree(set.root, &last, &n);
	REQUIRE(n == set.count, "%u nodes, count %u", n, set.count);
	REQUIRE(set.count == model_areas(), "%u areas, the model's pages make %u", set.count,
		model_areas());
	for (int i = 0; i < PAGES; i++) {
		const struct gk_vma *v = gk_vma_find(&set, addr_of(i) + 123);
		const struct page *p = &model[i];

		if (!p->mapped) {
			REQUIRE(!v, "page %d: an area covers an unmapped page", i);
			continue;
		}
		REQUIRE(v != NULL, "page %d: no area", i);
		REQUIRE(v->flags == p->flags, "page %d: flags %#x, want %#x", i, v->flags,
			p->flags);
		REQUIRE(v->obj == (p->obj < 0 ? NULL : &objs[p->obj]), "page %d: wrong object", i);
		REQUIRE(!backed(p) || v->off + (addr_of(i) - v->start) == p->off,
			"page %d: offset %#lx, want %#lx", i, v->off + (addr_of(i) - v->start),
			p->off);
		if (v->start == addr_of(i) && v->obj)
			refs[v->obj - objs]++;
	}
	for (int o = 0; o < NOBJS; o++)
		REQUIRE(objs[o].refs == refs[o], "object %d: %d references, %d areas", o,
			objs[o].refs, refs[o]);
}

static void random_range(int *lo, int *hi)
{
	*lo = random() % PAGES;
	*hi = *lo + 1 + random() % (random() % 4 ? 8 : 64);
	if (*hi > PAGES)
		*hi = PAGES;
}

static void op_map(void)
{
	int lo, hi, obj = random() % 3 ? -1 : (int)(random() % NOBJS), ret;
	unsigned flags = 1 + random() % 3; /* R, W or RW: few kinds, so merges happen */
	uint64_t off = 0;
	bool free_run = true;

	random_range(&lo, &hi);
	if (obj < 0 && random() % 4 == 0)
		flags |= VMA_IMAGE;
	if (obj >= 0 || (flags & VMA_IMAGE))
		off = (random() % 2 ? (uint64_t)lo : (uint64_t)(random() % 1000)) * PG;
	if (random() % 8 == 0)
		flags |= VMA_SHARED;
	for (int i = lo; i < hi; i++)
		free_run &= !model[i].mapped;
	ret = gk_vma_map(&set, addr_of(lo), addr_of(hi), flags, obj < 0 ? NULL : &objs[obj], off,
			 "test");
	if (!free_run) {
		ck_assert_int_eq(ret, -EINVAL);
		return;
	}
	ck_assert_int_eq(ret, 0);
	for (int i = lo; i < hi; i++)
		model[i] = (struct page){true, flags, obj,
					 obj >= 0 || (flags & VMA_IMAGE) ? off + (i - lo) * PG : 0};
}

static void op_unmap(void)
{
	int lo, hi;

	random_range(&lo, &hi);
	ck_assert_int_eq(gk_vma_unmap(&set, addr_of(lo), addr_of(hi)), 0);
	for (int i = lo; i < hi; i++)
		model[i].mapped = false;
}

static void op_protect(void)
{
	int lo, hi;
	unsigned prot = random() % 8;

	random_range(&lo, &hi);
	ck_assert_int_eq(gk_vma_protect(&set, addr_of(lo), addr_of(hi), prot), 0);
	for (int i = lo; i < hi; i++)
		if (model[i].mapped)
			model[i].flags = (model[i].flags & ~VMA_PROT) | prot;
}

static void op_gap(void)
{
	uint64_t len = (1 + random() % 20) * PG, got = gk_vma_gap(&set, len, BASE, addr_of(PAGES));
	uint64_t want = 0;
	int run = 0;

	for (int i = PAGES - 1; i >= 0 && !want; i--) {
		run = model[i].mapped ? 0 : run + 1;
		if ((uint64_t)run * PG >= len)
			want = addr_of(i);
	}
	ck_assert_uint_eq(got, want);
}

static void op_lookups(void)
{
	int i = random() % PAGES;
	const struct gk_vma *next = gk_vma_next(&set, addr_of(i)),
			    *prev = gk_vma_prev(&set, addr_of(i));
	int j;

	for (j = i; j < PAGES && !model[j].mapped; j++)
		;
	ck_assert_int_eq(next != NULL, j < PAGES);
	if (next)
		ck_assert_uint_le(next->start, addr_of(j));
	for (j = i - 1; j >= 0 && !model[j].mapped; j--)
		;
	ck_assert_int_eq(prev != NULL, j >= 0);
	if (prev)
		ck_assert_uint_gt(prev->end, addr_of(j));
	j = random() % PAGES;
	{
		int k = i < j ? i : j, m = i < j ? j : i;
		bool all = true;

		for (int p = k; p <= m; p++)
			all &= model[p].mapped;
		ck_assert_int_eq(gk_vma_covered(&set, addr_of(k), addr_of(m + 1)), all);
	}
}

/* A copy (fork) holds the same areas and its own object references. */
static void op_copy(void)
{
	struct gk_vma_set copy;
	int before[NOBJS];

	for (int o = 0; o < NOBJS; o++)
		before[o] = objs[o].refs;
	gk_vma_init(&copy, &pool, MAXV);
	ck_assert_int_eq(gk_vma_copy(&copy, &set), 0);
	ck_assert_uint_eq(copy.count, set.count);
	for (int o = 0; o < NOBJS; o++)
		ck_assert_int_eq(objs[o].refs, 2 * before[o]);
	gk_vma_clear(&copy);
	for (int o = 0; o < NOBJS; o++)
		ck_assert_int_eq(objs[o].refs, before[o]);
}

static void setup(void)
{
	memset(model, 0, sizeof(model));
	memset(objs, 0, sizeof(objs));
	gk_pool_init(&pool, sizeof(struct gk_vma), vma_test_page, NULL);
	gk_vma_init(&set, &pool, MAXV);
}

START_TEST(vma_tree_matches_page_model_under_random_operations)
{
	srandom(testlib_seed("vma_tree_matches_page_model_under_random_operations",
			     "GK_VMA_TEST_SEED"));
	for (int step = 0; step < 20000; step++) {
		unsigned r = random() % 100;

		if (r < 40)
			op_map();
		else if (r < 60)
			op_unmap();
		else if (r < 80)
			op_protect();
		else if (r < 88)
			op_gap();
		else if (r < 99)
			op_lookups();
		else
			op_copy();
		check_against_model();
	}
	gk_vma_clear(&set);
	for (int o = 0; o < NOBJS; o++)
		ck_assert_int_eq(objs[o].refs, 0);
	ck_assert_uint_eq(pool.in_use, 0);
}
END_TEST

/* Thousands of areas in one set: the tree stays within AVL height. */
START_TEST(vma_tree_height_is_logarithmic)
{
	const int n = 3000;

	for (int i = 0; i < n; i++) /* every other page, so none merge */
		ck_assert_int_eq(gk_vma_map(&set, BASE + 2 * i * PG, BASE + (2 * i + 1) * PG,
					    VMA_READ, NULL, 0, "t"),
				 0);
	ck_assert_uint_eq(set.count, n);
	/* AVL: height < 1.44 log2(n + 2); log2(3002) < 11.6 */
	ck_assert_int_le(set.root->height, 16);
	for (int i = 0; i < n; i++)
		ck_assert_ptr_nonnull(gk_vma_find(&set, BASE + 2 * i * PG + 5));
	ck_assert_ptr_null(gk_vma_find(&set, BASE + PG));
	gk_vma_clear(&set);
}
END_TEST

START_TEST(vma_map_merges_neighbours_and_refuses_overlap)
{
	ck_assert_int_eq(gk_vma_map(&set, BASE, BASE + 4 * PG, VMA_READ | VMA_WRITE, NULL, 0, "a"),
			 0);
	ck_assert_int_eq(
	    gk_vma_map(&set, BASE + 8 * PG, BASE + 9 * PG, VMA_READ | VMA_WRITE, NULL, 0, "b"), 0);
	ck_assert_uint_eq(set.count, 2);
	ck_assert_int_eq(
	    gk_vma_map(&set, BASE + 4 * PG, BASE + 8 * PG, VMA_READ | VMA_WRITE, NULL, 0, "c"), 0);
	ck_assert_uint_eq(set.count, 1);
	ck_assert_uint_eq(set.root->end, BASE + 9 * PG);
	ck_assert_int_eq(gk_vma_map(&set, BASE + 3 * PG, BASE + 10 * PG, VMA_READ, NULL, 0, "d"),
			 -EINVAL);
	ck_assert_int_eq(gk_vma_map(&set, BASE + 10, BASE + PG * 11, VMA_READ, NULL, 0, "e"),
			 -EINVAL);
	gk_vma_clear(&set);
}
END_TEST

START_TEST(vma_split_past_the_maximum_fails_without_change)
{
	set.max = 1;
	ck_assert_int_eq(gk_vma_map(&set, BASE, BASE + 4 * PG, VMA_READ, NULL, 0, "a"), 0);
	ck_assert_int_eq(gk_vma_unmap(&set, BASE + PG, BASE + 2 * PG), -ENOMEM);
	ck_assert_int_eq(gk_vma_protect(&set, BASE + PG, BASE + 2 * PG, VMA_WRITE), -ENOMEM);
	ck_assert_uint_eq(set.count, 1);
	ck_assert_uint_eq(set.root->start, BASE);
	ck_assert_uint_eq(set.root->end, BASE + 4 * PG);
	ck_assert_uint_eq(set.root->flags, VMA_READ);
	gk_vma_clear(&set);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gk_vma");
	TCase *tc = tcase_create("tree");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, vma_tree_matches_page_model_under_random_operations);
	tcase_add_test(tc, vma_tree_height_is_logarithmic);
	tcase_add_test(tc, vma_map_merges_neighbours_and_refuses_overlap);
	tcase_add_test(tc, vma_split_past_the_maximum_fails_without_change);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
