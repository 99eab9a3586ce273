/* tests/check_ept.c: the second-level table agrees with a flat map under
 * random sets and clears, walks in GPA order within bounds, costs table
 * pages only where entries are and gives them back, and clones in O(1)
 * into trees that share pages yet change independently. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ept/ept.h"
#include "testlib.h"

#define GIB	  (1ULL << 30)
#define GPA_LIMIT (1ULL << EPT_GPA_BITS)

static struct ept *t;

static void setup(void)
{
	t = ept_create();
	ck_assert_ptr_nonnull(t);
}

static void teardown(void)
{
	ept_destroy(t);
}

static uint64_t leaf(uint64_t frame)
{
	return ept_entry(frame, EPT_RWX | EPT_MT_WB);
}

/* What ept_for_each saw. */
struct visits {
	size_t n;
	uint64_t gpa[64], entry[64];
};

static int record(uint64_t gpa, uint64_t entry, void *arg)
{
	struct visits *v = arg;

	ck_assert_uint_lt(v->n, 64);
	v->gpa[v->n] = gpa;
	v->entry[v->n++] = entry;
	return 0;
}

static struct visits walk(const struct ept *table, uint64_t start, uint64_t end)
{
	struct visits v = {0};

	ck_assert_int_eq(ept_for_each(table, start, end, record, &v), 0);
	return v;
}

/* The random test's reference: a flat map over a pool of GPAs chosen to
 * share and not share tables at every level. */
#define POOL 4096

struct reference {
	uint64_t gpa[POOL], entry[POOL];
};

static uint64_t random_gpa(void)
{
	switch (random() % 4) {
	case 0: /* one cluster: shared leaf tables */
		return (random() % 4096) << EPT_PAGE_SHIFT;
	case 1: /* a 64 GiB guest */
		return (random() % (64 * GIB >> EPT_PAGE_SHIFT)) << EPT_PAGE_SHIFT;
	case 2: /* near the top of the address space */
		return GPA_LIMIT - ((1 + random() % 2048) << EPT_PAGE_SHIFT);
	default:
		return (((uint64_t)random() << 31 ^ random()) % GPA_LIMIT) & ~(EPT_PAGE_SIZE - 1);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Table pages a table holding exactly these (sorted) GPAs needs: one root
 * and one table per distinct prefix at each lower level. */
static size_t expected_pages(const uint64_t *sorted, size_t n)
{
	size_t pages = n ? 1 : 0;

	for (int shift = 39; shift >= 21; shift -= 9) {
		for (size_t i = 0; i < n; i++)
			pages += !i || sorted[i] >> shift != sorted[i - 1] >> shift;
	}
	return pages;
}

struct ordered_walk {
	const uint64_t *gpa, *entry;
	size_t n, seen;
};

static int check_next(uint64_t gpa, uint64_t entry, void *arg)
{
	struct ordered_walk *w = arg;

	/* ck_abort_msg, not ck_assert: Check logs every passing assertion,
	 * which would dominate the random tests' run time. */
	if (w->seen == w->n)
		ck_abort_msg("walk: gpa %#" PRIx64 " past the %zu expected entries", gpa, w->n);
	if (gpa != w->gpa[w->seen] || entry != w->entry[w->seen])
		ck_abort_msg("walk: visit %zu is gpa %#" PRIx64 " entry %#" PRIx64
			     ", expected gpa %#" PRIx64 " entry %#" PRIx64,
			     w->seen, gpa, entry, w->gpa[w->seen], w->entry[w->seen]);
	w->seen++;
	return 0;
}

/* One tree against its reference (entry[i] for pool GPA i): every GPA reads
 * back, the walk visits exactly the non-zero ones in order, and the tree
 * references the table pages those need. */
static void check_tree(const struct ept *tree, const uint64_t *pool, const uint64_t *ref)
{
	static uint64_t gpa[POOL], entry[POOL];
	struct ordered_walk w = {gpa, entry, 0, 0};

	for (size_t i = 0; i < POOL; i++) {
		uint64_t e = ept_get(tree, pool[i]);

		if (e != ref[i])
			ck_abort_msg("gpa %#" PRIx64 " reads %#" PRIx64 ", reference has %#" PRIx64,
				     pool[i], e, ref[i]);
		if (ref[i])
			gpa[w.n++] = pool[i];
	}
	qsort(gpa, w.n, sizeof(*gpa), cmp_u64);
	for (size_t i = 0; i < w.n; i++)
		entry[i] = ept_get(tree, gpa[i]);
	ck_assert_int_eq(ept_for_each(tree, 0, GPA_LIMIT, check_next, &w), 0);
	ck_assert_uint_eq(w.seen, w.n);
	ck_assert_uint_eq(ept_bytes(tree), expected_pages(gpa, w.n) * EPT_PAGE_SIZE);
	ck_assert_uint_le(ept_private_bytes(tree), ept_bytes(tree));
}

static void check_against(const struct reference *ref)
{
	check_tree(t, ref->gpa, ref->entry);
}

/* Distinct GPAs, so that a reference is a flat array indexed like the pool. */
static void draw_pool(uint64_t *pool)
{
	for (size_t i = 0; i < POOL; i++) {
		pool[i] = random_gpa();
		for (size_t j = 0; j < i; j++) {
			if (pool[j] == pool[i]) {
				i--; /* draw again */
				break;
			}
		}
	}
}

static unsigned test_seed(const char *test)
{
	return testlib_seed(test, "EPT_TEST_SEED");
}

static uint64_t random_leaf(void)
{
	return leaf(random() % (1 << 20)) | (random() % 2 ? EPT_SW_AHEAD : 0);
}

START_TEST(ept_matches_reference_map_under_random_operations)
{
	static struct reference ref;

	srandom(test_seed("ept_matches_reference_map_under_random_operations"));
	memset(&ref, 0, sizeof(ref));
	draw_pool(ref.gpa);
	for (int op = 0; op < 200000; op++) {
		size_t i = random() % POOL;
		uint64_t e = random_leaf();

		switch (random() % 5) {
		case 0:
		case 1:
			ck_assert_int_eq(ept_set(t, ref.gpa[i], e), 0);
			ref.entry[i] = e;
			break;
		case 2:
		case 3:
			ept_clear(t, ref.gpa[i]);
			ref.entry[i] = 0;
			break;
		default:
			ck_assert_uint_eq(ept_get(t, ref.gpa[i]), ref.entry[i]);
		}
		if (op % 20000 == 0)
			check_against(&ref);
	}
	check_against(&ref);
	for (size_t i = 0; i < POOL; i++)
		ept_clear(t, ref.gpa[i]);
	ck_assert_uint_eq(ept_bytes(t), 0);
}
END_TEST

START_TEST(ept_unset_gpa_reads_zero)
{
	ck_assert_uint_eq(ept_get(t, 0), 0);
	ck_assert_int_eq(ept_set(t, 0x5000, leaf(7)), 0);
	ck_assert_uint_eq(ept_get(t, 0x4000), 0);
	ck_assert_uint_eq(ept_get(t, 0x6000), 0);
	ck_assert_uint_eq(ept_get(t, 0x5000), leaf(7));
}
END_TEST

START_TEST(ept_entry_covers_its_whole_page)
{
	ck_assert_int_eq(ept_set(t, 0x5123, leaf(7)), 0);
	ck_assert_uint_eq(ept_get(t, 0x5000), leaf(7));
	ck_assert_uint_eq(ept_get(t, 0x5fff), leaf(7));
	ept_clear(t, 0x5800);
	ck_assert_uint_eq(ept_get(t, 0x5000), 0);
}
END_TEST

START_TEST(ept_keeps_software_bits_of_absent_entries)
{
	uint64_t swapped = ept_entry(1234, EPT_SW_SWAP);

	ck_assert(!ept_present(swapped));
	ck_assert_int_eq(ept_set(t, 0x10000, swapped), 0);
	ck_assert_uint_eq(ept_get(t, 0x10000), swapped);
	ck_assert_uint_eq(ept_frame(ept_get(t, 0x10000)), 1234);
}
END_TEST

START_TEST(ept_set_to_zero_clears)
{
	ck_assert_int_eq(ept_set(t, 0x5000, leaf(7)), 0);
	ck_assert_int_eq(ept_set(t, 0x5000, 0), 0);
	ck_assert_uint_eq(ept_get(t, 0x5000), 0);
	ck_assert_uint_eq(ept_bytes(t), 0);
}
END_TEST

START_TEST(ept_rejects_gpa_beyond_48_bits)
{
	ck_assert_int_eq(ept_set(t, GPA_LIMIT, leaf(1)), -EINVAL);
	ck_assert_int_eq(ept_set(t, UINT64_MAX, leaf(1)), -EINVAL);
	ck_assert_int_eq(ept_set(t, 1ULL << 52, leaf(1)), -EINVAL);
	ck_assert_uint_eq(ept_bytes(t), 0);
	ck_assert_uint_eq(ept_get(t, GPA_LIMIT), 0);
	/* The top page below the limit is an ordinary one, and does not alias. */
	ck_assert_int_eq(ept_set(t, GPA_LIMIT - EPT_PAGE_SIZE, leaf(2)), 0);
	ck_assert_uint_eq(ept_get(t, GPA_LIMIT - EPT_PAGE_SIZE), leaf(2));
	ck_assert_uint_eq(ept_get(t, GPA_LIMIT + GPA_LIMIT - EPT_PAGE_SIZE), 0);
	ept_clear(t, GPA_LIMIT + GPA_LIMIT - EPT_PAGE_SIZE);
	ck_assert_uint_eq(ept_get(t, GPA_LIMIT - EPT_PAGE_SIZE), leaf(2));
}
END_TEST

START_TEST(ept_empty_table_costs_no_pages)
{
	ck_assert_uint_eq(ept_bytes(t), 0);
}
END_TEST

START_TEST(ept_one_mapping_costs_four_table_pages)
{
	ck_assert_int_eq(ept_set(t, 123 * GIB, leaf(1)), 0);
	ck_assert_uint_eq(ept_bytes(t), 4 * 4096);
	/* A neighbour in the same leaf table costs nothing more. */
	ck_assert_int_eq(ept_set(t, 123 * GIB + 4096, leaf(2)), 0);
	ck_assert_uint_eq(ept_bytes(t), 4 * 4096);
}
END_TEST

START_TEST(ept_sparse_mappings_cost_levels_pages_each)
{
	/* One page per GiB over 64 GiB: one root, one level-2 table, and a
	 * level-1 and a leaf table per mapping. */
	for (uint64_t gpa = 0; gpa < 64 * GIB; gpa += GIB)
		ck_assert_int_eq(ept_set(t, gpa + 0x1000, leaf(gpa / GIB)), 0);
	ck_assert_uint_eq(ept_bytes(t), (2 + 2 * 64) * 4096);
	ck_assert_uint_le(ept_bytes(t), 64 * 4 * 4096);
}
END_TEST

START_TEST(ept_dense_mappings_cost_a_leaf_table_per_2_mib)
{
	for (uint64_t gpa = 0; gpa < 64 << 20; gpa += 4096)
		ck_assert_int_eq(ept_set(t, gpa, leaf(gpa >> 12)), 0);
	/* 32 leaf tables, one of each level above. */
	ck_assert_uint_eq(ept_bytes(t), (32 + 3) * 4096);
}
END_TEST

START_TEST(ept_frees_table_pages_when_cleared)
{
	ck_assert_int_eq(ept_set(t, 0x1000, leaf(1)), 0);
	ck_assert_int_eq(ept_set(t, 0x200000, leaf(2)), 0); /* next leaf table */
	ck_assert_uint_eq(ept_bytes(t), 5 * 4096);
	ept_clear(t, 0x200000);
	ck_assert_uint_eq(ept_bytes(t), 4 * 4096);
	ept_clear(t, 0x1000);
	ck_assert_uint_eq(ept_bytes(t), 0);
	/* And the table still works after giving everything back. */
	ck_assert_int_eq(ept_set(t, 0x1000, leaf(3)), 0);
	ck_assert_uint_eq(ept_get(t, 0x1000), leaf(3));
}
END_TEST

START_TEST(ept_clearing_an_absent_entry_changes_nothing)
{
	ck_assert_int_eq(ept_set(t, 0x1000, leaf(1)), 0);
	ept_clear(t, 0x2000);
	ept_clear(t, 100 * GIB);
	ck_assert_uint_eq(ept_bytes(t), 4 * 4096);
	ck_assert_uint_eq(ept_get(t, 0x1000), leaf(1));
}
END_TEST

START_TEST(ept_for_each_visits_in_gpa_order)
{
	uint64_t gpas[] = {GPA_LIMIT - 4096, 3 * GIB, 0x1000, 512 * GIB, 0x3000, 0x200000};
	uint64_t sorted[] = {0x1000, 0x3000, 0x200000, 3 * GIB, 512 * GIB, GPA_LIMIT - 4096};
	struct visits v;

	for (size_t i = 0; i < 6; i++)
		ck_assert_int_eq(ept_set(t, gpas[i], leaf(i + 1)), 0);
	v = walk(t, 0, GPA_LIMIT);
	ck_assert_uint_eq(v.n, 6);
	for (size_t i = 0; i < 6; i++) {
		ck_assert_uint_eq(v.gpa[i], sorted[i]);
		ck_assert_uint_eq(v.entry[i], ept_get(t, sorted[i]));
	}
}
END_TEST

START_TEST(ept_for_each_respects_range_bounds)
{
	struct visits v;

	/* Entries on both sides of leaf-table and level-1-table boundaries. */
	uint64_t gpas[] = {0x1ff000, 0x200000, 0x201000, GIB - 4096, GIB, GIB + 4096};

	for (size_t i = 0; i < 6; i++)
		ck_assert_int_eq(ept_set(t, gpas[i], leaf(i + 1)), 0);
	v = walk(t, 0x200000, 0x201000);
	ck_assert_uint_eq(v.n, 1);
	ck_assert_uint_eq(v.gpa[0], 0x200000);
	v = walk(t, 0x1ff000, GIB + 4096);
	ck_assert_uint_eq(v.n, 5);
	ck_assert_uint_eq(v.gpa[0], 0x1ff000);
	ck_assert_uint_eq(v.gpa[4], GIB);
	v = walk(t, 0x202000, GIB - 4096);
	ck_assert_uint_eq(v.n, 0);
	v = walk(t, GIB, GIB);
	ck_assert_uint_eq(v.n, 0);
	v = walk(t, GIB + 4096, UINT64_MAX); /* ends past 2^48 are clamped */
	ck_assert_uint_eq(v.n, 1);
	ck_assert_uint_eq(v.gpa[0], GIB + 4096);
}
END_TEST

static int stop_at_second(uint64_t gpa, uint64_t entry, void *arg)
{
	int *n = arg;

	return ++*n == 2 ? 42 : 0;
}

START_TEST(ept_for_each_stops_when_told)
{
	int n = 0;

	for (uint64_t gpa = 0; gpa < 5 * GIB; gpa += GIB)
		ck_assert_int_eq(ept_set(t, gpa, leaf(1)), 0);
	ck_assert_int_eq(ept_for_each(t, 0, GPA_LIMIT, stop_at_second, &n), 42);
	ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(ept_for_each_skips_absent_subtrees)
{
	struct visits v;

	/* A walk over all 2^36 pages finishes within the test's timeout only if
	 * absent subtrees are skipped whole. */
	ck_assert_int_eq(ept_set(t, 0, leaf(1)), 0);
	ck_assert_int_eq(ept_set(t, GPA_LIMIT - 4096, leaf(2)), 0);
	for (int i = 0; i < 1000; i++) {
		v = walk(t, 0, GPA_LIMIT);
		ck_assert_uint_eq(v.n, 2);
	}
}
END_TEST

START_TEST(ept_clone_is_equal)
{
	struct ept *c;
	struct visits a, b;

	for (uint64_t gpa = 0; gpa < 40 * GIB; gpa += 3 * GIB + 0x5000)
		ck_assert_int_eq(ept_set(t, gpa, leaf(gpa >> 12) | EPT_SW_AHEAD), 0);
	c = ept_clone(t);
	ck_assert_ptr_nonnull(c);
	a = walk(t, 0, GPA_LIMIT);
	b = walk(c, 0, GPA_LIMIT);
	ck_assert_uint_eq(a.n, b.n);
	ck_assert_mem_eq(a.gpa, b.gpa, a.n * sizeof(*a.gpa));
	ck_assert_mem_eq(a.entry, b.entry, a.n * sizeof(*a.entry));
	ck_assert_uint_eq(ept_bytes(c), ept_bytes(t));
	ept_destroy(c);
}
END_TEST

START_TEST(ept_clone_changes_independently)
{
	struct ept *c;
	size_t bytes;

	ck_assert_int_eq(ept_set(t, 0x1000, leaf(1)), 0);
	ck_assert_int_eq(ept_set(t, 7 * GIB, leaf(2)), 0);
	bytes = ept_bytes(t);
	c = ept_clone(t);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ept_set(c, 0x1000, leaf(10)), 0);
	ck_assert_int_eq(ept_set(c, 0x2000, leaf(11)), 0);
	ck_assert_int_eq(ept_set(c, 300 * GIB, leaf(12)), 0);
	ept_clear(c, 7 * GIB);
	ck_assert_uint_eq(ept_get(t, 0x1000), leaf(1));
	ck_assert_uint_eq(ept_get(t, 0x2000), 0);
	ck_assert_uint_eq(ept_get(t, 300 * GIB), 0);
	ck_assert_uint_eq(ept_get(t, 7 * GIB), leaf(2));
	ck_assert_uint_eq(ept_bytes(t), bytes);
	/* And the other way round: the clone outlives changes to the original. */
	ept_clear(t, 0x1000);
	ck_assert_uint_eq(ept_get(c, 0x1000), leaf(10));
	ept_destroy(c);
}
END_TEST

START_TEST(ept_clone_of_empty_table_is_empty)
{
	struct ept *c = ept_clone(t);

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(ept_bytes(c), 0);
	ck_assert_int_eq(ept_set(c, 0, leaf(1)), 0);
	ck_assert_uint_eq(ept_get(t, 0), 0);
	ept_destroy(c);
}
END_TEST

/* Bytes the heap hands out, for "this allocated nothing" (0 under
 * sanitizers that replace malloc: such checks then pass vacuously, and
 * ept_private_bytes still pins the sharing down). */
static size_t heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

/* 1 GiB mapped page by page: a root, a level-2 and a level-1 table, and 512
 * leaf tables. */
static void fill_one_gib(struct ept *tree)
{
	for (uint64_t gpa = 0; gpa < GIB; gpa += EPT_PAGE_SIZE)
		ck_assert_int_eq(ept_set(tree, gpa, leaf(gpa >> 12)), 0);
}

START_TEST(ept_clone_allocates_no_table_pages)
{
	struct ept *c;
	size_t heap;

	fill_one_gib(t);
	ck_assert_uint_eq(ept_private_bytes(t), 515 * 4096);
	heap = heap_in_use();
	c = ept_clone(t);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_lt(heap_in_use() - heap, 4096); /* struct ept, no table */
	ck_assert_uint_eq(ept_bytes(c), 515 * 4096);
	/* Every page is now shared, the original's too. */
	ck_assert_uint_eq(ept_private_bytes(c), 0);
	ck_assert_uint_eq(ept_private_bytes(t), 0);
	ept_destroy(c);
	ck_assert_uint_eq(ept_private_bytes(t), 515 * 4096);
}
END_TEST

START_TEST(ept_write_after_clone_copies_only_its_path)
{
	struct ept *c;

	fill_one_gib(t);
	c = ept_clone(t);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ept_set(c, 0x1000, leaf(99)), 0);
	/* Root, level 2, level 1 and one leaf table: private in each tree. */
	ck_assert_uint_eq(ept_private_bytes(c), 4 * 4096);
	ck_assert_uint_eq(ept_private_bytes(t), 4 * 4096);
	ck_assert_uint_eq(ept_bytes(c), 515 * 4096);
	/* A second write through the same path copies nothing more. */
	ck_assert_int_eq(ept_set(c, 0x2000, leaf(98)), 0);
	ck_assert_uint_eq(ept_private_bytes(c), 4 * 4096);
	ck_assert_uint_eq(ept_get(t, 0x1000), leaf(1));
	ck_assert_uint_eq(ept_get(c, 0x1000), leaf(99));
	ck_assert_uint_eq(ept_get(c, 0x3000), leaf(3));
	ept_destroy(c);
}
END_TEST

START_TEST(ept_clear_through_shared_path_drops_what_it_empties)
{
	struct ept *c;

	ck_assert_int_eq(ept_set(t, 0x1000, leaf(1)), 0);
	ck_assert_int_eq(ept_set(t, 7 * GIB, leaf(2)), 0);
	c = ept_clone(t);
	ck_assert_ptr_nonnull(c);
	/* 7 GiB's level-1 and leaf tables empty: the clone lets go of them and
	 * copies only the root and the level-2 table that stay. */
	ck_assert_int_eq(ept_clear(c, 7 * GIB), 0);
	ck_assert_uint_eq(ept_bytes(c), 4 * 4096);
	ck_assert_uint_eq(ept_private_bytes(c), 2 * 4096);
	ck_assert_uint_eq(ept_bytes(t), 6 * 4096);
	ck_assert_uint_eq(ept_private_bytes(t), 4 * 4096);
	ck_assert_uint_eq(ept_get(t, 7 * GIB), leaf(2));
	/* Clearing a tree's last entry drops its whole (shared) path. */
	ck_assert_int_eq(ept_clear(c, 0x1000), 0);
	ck_assert_uint_eq(ept_bytes(c), 0);
	ck_assert_uint_eq(ept_private_bytes(t), 6 * 4096);
	ck_assert_uint_eq(ept_get(t, 0x1000), leaf(1));
	ept_destroy(c);
}
END_TEST

/* Trees with a reference each over one pool of GPAs. */
#define FOREST 4

struct forest {
	uint64_t gpa[POOL];
	struct ept *tree[FOREST];
	uint64_t ref[FOREST][POOL];
};

static void forest_set(struct forest *f, int i, size_t idx, uint64_t e)
{
	int ret = ept_set(f->tree[i], f->gpa[idx], e);

	if (ret)
		ck_abort_msg("tree %d: ept_set(%#" PRIx64 ") returned %d", i, f->gpa[idx], ret);
	f->ref[i][idx] = e;
}

static void forest_clear(struct forest *f, int i, size_t idx)
{
	int ret = ept_clear(f->tree[i], f->gpa[idx]);

	if (ret)
		ck_abort_msg("tree %d: ept_clear(%#" PRIx64 ") returned %d", i, f->gpa[idx], ret);
	f->ref[i][idx] = 0;
}

static void forest_clone(struct forest *f, int from, int to)
{
	ck_assert_ptr_null(f->tree[to]);
	f->tree[to] = ept_clone(f->tree[from]);
	ck_assert_ptr_nonnull(f->tree[to]);
	memcpy(f->ref[to], f->ref[from], sizeof(f->ref[to]));
}

static void forest_destroy(struct forest *f, int i)
{
	ept_destroy(f->tree[i]);
	f->tree[i] = NULL;
}

static int forest_live(const struct forest *f)
{
	int n = 0;

	for (int i = 0; i < FOREST; i++)
		n += f->tree[i] != NULL;
	return n;
}

/* Every live tree matches its reference; a tree alone holds all its pages
 * (a reference count left too high would show them shared). */
static void forest_check(const struct forest *f)
{
	for (int i = 0; i < FOREST; i++) {
		if (!f->tree[i])
			continue;
		check_tree(f->tree[i], f->gpa, f->ref[i]);
		if (forest_live(f) == 1)
			ck_assert_uint_eq(ept_private_bytes(f->tree[i]), ept_bytes(f->tree[i]));
	}
}

static int forest_pick(const struct forest *f, bool live)
{
	int i;

	do
		i = random() % FOREST;
	while ((f->tree[i] != NULL) != live);
	return i;
}

/* Clear every pool GPA in the same 1 GiB as pool GPA idx: frees whole
 * subtrees, shared or not. */
static void forest_clear_gib(struct forest *f, int i, size_t idx)
{
	for (size_t j = 0; j < POOL; j++)
		if (f->gpa[j] / GIB == f->gpa[idx] / GIB)
			forest_clear(f, i, j);
}

static void forest_random_step(struct forest *f)
{
	int i = forest_pick(f, true);
	size_t idx = random() % POOL;
	int r = random() % 100;

	if (r < 45) {
		forest_set(f, i, idx, random_leaf());
	} else if (r < 85) {
		forest_clear(f, i, idx);
	} else if (r < 87) {
		forest_clear_gib(f, i, idx);
	} else if (r < 92) {
		if (forest_live(f) == FOREST)
			forest_destroy(f, forest_pick(f, true));
		if (f->tree[i])
			forest_clone(f, i, forest_pick(f, false));
	} else if (r < 95) {
		if (forest_live(f) > 1)
			forest_destroy(f, i);
	} else if (ept_get(f->tree[i], f->gpa[idx]) != f->ref[i][idx]) {
		ck_abort_msg("tree %d: gpa %#" PRIx64 " differs from its reference", i,
			     f->gpa[idx]);
	}
}

START_TEST(ept_clones_match_their_references_under_random_operations)
{
	static struct forest f;

	srandom(test_seed("ept_clones_match_their_references_under_random_operations"));
	memset(&f, 0, sizeof(f));
	draw_pool(f.gpa);
	f.tree[0] = ept_create();
	ck_assert_ptr_nonnull(f.tree[0]);
	for (size_t idx = 0; idx < POOL; idx += 2)
		forest_set(&f, 0, idx, random_leaf());
	for (int step = 0; step < 40000; step++) {
		forest_random_step(&f);
		if (step % 100 == 0)
			forest_check(&f);
	}
	forest_check(&f);
	while (forest_live(&f)) {
		forest_destroy(&f, forest_pick(&f, true));
		forest_check(&f);
	}
}
END_TEST

/* Three generations: a root tree, its clone and the clone's clone, each
 * changed after cloning so that all three differ. */
static void forest_three_generations(struct forest *f)
{
	srandom(7);
	memset(f, 0, sizeof(*f));
	draw_pool(f->gpa);
	f->tree[0] = ept_create();
	ck_assert_ptr_nonnull(f->tree[0]);
	for (size_t idx = 0; idx < POOL; idx++)
		forest_set(f, 0, idx, leaf(idx + 1));
	forest_clone(f, 0, 1);
	for (size_t idx = 0; idx < POOL; idx += 3)
		forest_clear(f, 1, idx);
	forest_clone(f, 1, 2);
	for (size_t idx = 0; idx < POOL; idx += 5)
		forest_set(f, 2, idx, leaf(idx + 100000));
	for (size_t idx = 1; idx < POOL; idx += 7)
		forest_clear(f, 0, idx);
	forest_check(f);
}

START_TEST(ept_clone_of_clone_outlives_the_middle_generation)
{
	static struct forest f;

	forest_three_generations(&f);
	forest_destroy(&f, 1);
	forest_check(&f);
	for (size_t idx = 0; idx < POOL; idx += 11) {
		forest_set(&f, 0, idx, leaf(idx + 200000));
		forest_clear(&f, 2, idx);
	}
	forest_check(&f);
	forest_destroy(&f, 0);
	forest_check(&f);
	forest_destroy(&f, 2);
}
END_TEST

START_TEST(ept_destroying_generations_in_any_order_leaves_the_rest_intact)
{
	static const int order[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					{1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	static struct forest f;

	for (int o = 0; o < 6; o++) {
		forest_three_generations(&f);
		for (int k = 0; k < 3; k++) {
			forest_destroy(&f, order[o][k]);
			forest_check(&f);
		}
	}
}
END_TEST

static Suite *ept_suite(void)
{
	Suite *s = suite_create("ept");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ept_matches_reference_map_under_random_operations);
	tcase_add_test(tc, ept_unset_gpa_reads_zero);
	tcase_add_test(tc, ept_entry_covers_its_whole_page);
	tcase_add_test(tc, ept_keeps_software_bits_of_absent_entries);
	tcase_add_test(tc, ept_set_to_zero_clears);
	tcase_add_test(tc, ept_rejects_gpa_beyond_48_bits);
	tcase_add_test(tc, ept_empty_table_costs_no_pages);
	tcase_add_test(tc, ept_one_mapping_costs_four_table_pages);
	tcase_add_test(tc, ept_sparse_mappings_cost_levels_pages_each);
	tcase_add_test(tc, ept_dense_mappings_cost_a_leaf_table_per_2_mib);
	tcase_add_test(tc, ept_frees_table_pages_when_cleared);
	tcase_add_test(tc, ept_clearing_an_absent_entry_changes_nothing);
	tcase_add_test(tc, ept_for_each_visits_in_gpa_order);
	tcase_add_test(tc, ept_for_each_respects_range_bounds);
	tcase_add_test(tc, ept_for_each_stops_when_told);
	tcase_add_test(tc, ept_for_each_skips_absent_subtrees);
	tcase_add_test(tc, ept_clone_is_equal);
	tcase_add_test(tc, ept_clone_changes_independently);
	tcase_add_test(tc, ept_clone_of_empty_table_is_empty);
	tcase_add_test(tc, ept_clone_allocates_no_table_pages);
	tcase_add_test(tc, ept_write_after_clone_copies_only_its_path);
	tcase_add_test(tc, ept_clear_through_shared_path_drops_what_it_empties);
	tcase_add_test(tc, ept_clones_match_their_references_under_random_operations);
	tcase_add_test(tc, ept_clone_of_clone_outlives_the_middle_generation);
	tcase_add_test(tc, ept_destroying_generations_in_any_order_leaves_the_rest_intact);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(ept_suite());
}
