/* tests/check_ept.c: the second-level table agrees with a flat map under
 * random sets and clears, walks in GPA order within bounds, costs table
 * pages only where entries are and gives them back, and clones deeply. */
#include <check.h>
#include <errno.h>
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
#define POOL 2048

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

	ck_assert_uint_lt(w->seen, w->n);
	ck_assert_uint_eq(gpa, w->gpa[w->seen]);
	ck_assert_uint_eq(entry, w->entry[w->seen]);
	w->seen++;
	return 0;
}

static void check_against(const struct reference *ref)
{
	static uint64_t gpa[POOL], entry[POOL];
	struct ordered_walk w = {gpa, entry, 0, 0};

	for (size_t i = 0; i < POOL; i++) {
		ck_assert_uint_eq(ept_get(t, ref->gpa[i]), ref->entry[i]);
		if (ref->entry[i])
			gpa[w.n++] = ref->gpa[i];
	}
	qsort(gpa, w.n, sizeof(*gpa), cmp_u64);
	for (size_t i = 0; i < w.n; i++)
		entry[i] = ept_get(t, gpa[i]);
	ck_assert_int_eq(ept_for_each(t, 0, GPA_LIMIT, check_next, &w), 0);
	ck_assert_uint_eq(w.seen, w.n);
	ck_assert_uint_eq(ept_bytes(t), expected_pages(gpa, w.n) * EPT_PAGE_SIZE);
}

START_TEST(ept_matches_reference_map_under_random_operations)
{
	static struct reference ref;
	const char *env = getenv("EPT_TEST_SEED");
	unsigned seed = env ? strtoul(env, NULL, 0) : 20261123;

	fprintf(stderr,
		"ept_matches_reference_map_under_random_operations: seed %u (EPT_TEST_SEED)\n",
		seed);
	srandom(seed);
	memset(&ref, 0, sizeof(ref));
	for (size_t i = 0; i < POOL; i++) {
		ref.gpa[i] = random_gpa();
		for (size_t j = 0; j < i; j++) {
			if (ref.gpa[j] == ref.gpa[i]) {
				i--; /* draw again: the pool has distinct GPAs */
				break;
			}
		}
	}
	for (int op = 0; op < 200000; op++) {
		size_t i = random() % POOL;
		uint64_t e = leaf(random() % (1 << 20)) | (random() % 2 ? EPT_SW_COW : 0);

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
		ck_assert_int_eq(ept_set(t, gpa, leaf(gpa >> 12) | EPT_SW_COW), 0);
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

START_TEST(ept_clone_is_deep)
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
	tcase_add_test(tc, ept_clone_is_deep);
	tcase_add_test(tc, ept_clone_of_empty_table_is_empty);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(ept_suite());
}
