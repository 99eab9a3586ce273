/* tests/check_swapmap.c: the swap map counts references per slot, frees a
 * slot at its last put, refuses and counts misuse, keeps a batch in one run
 * of neighbouring slots (next-fit from a cursor), fills from several runs
 * or partly when it must, and remembers each slot's owner. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swapmap.h"
#include "testlib.h"

#define SMALL_SLOTS 32

static struct swap_map *m;

static void setup(void)
{
	ck_assert_int_eq(swap_map_create(&m, SMALL_SLOTS), 0);
}

static void teardown(void)
{
	swap_map_destroy(m);
}

static void assert_consistent(void)
{
	char why[256] = "";

	ck_assert_msg(swap_map_check(m, why, sizeof(why)) == 0, "%s", why);
}

static struct swap_map_stats stats(void)
{
	struct swap_map_stats s;

	swap_map_stats(m, &s);
	return s;
}

static void assert_slots(const uint32_t *got, uint32_t n, const uint32_t *want)
{
	for (uint32_t i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i], "slot %u of %u: got %u, expected %u", i, n, got[i],
			      want[i]);
}

/* The counters allocation keeps, and the invariants. */
static void assert_alloc_stats(uint32_t used, uint64_t split_allocs, uint64_t alloc_failures)
{
	struct swap_map_stats s = stats();

	ck_assert_uint_eq(s.used, used);
	ck_assert_uint_eq(s.split_allocs, split_allocs);
	ck_assert_uint_eq(s.alloc_failures, alloc_failures);
	assert_consistent();
}

static void alloc_all(void)
{
	uint32_t slots[SMALL_SLOTS];

	ck_assert_uint_eq(swap_map_alloc(m, SMALL_SLOTS, slots), SMALL_SLOTS);
}

static void put_range(uint32_t first, uint32_t n)
{
	for (uint32_t s = first; s < first + n; s++)
		ck_assert_int_eq(swap_map_put(m, s), 0);
}

START_TEST(swap_map_batch_on_empty_map_is_one_run)
{
	struct swap_map *big;
	struct swap_map_stats s;
	uint32_t slots[64];

	ck_assert_int_eq(swap_map_create(&big, 1000), 0);
	ck_assert_uint_eq(swap_map_alloc(big, 64, slots), 64);
	for (uint32_t i = 0; i < 64; i++) {
		ck_assert_uint_eq(slots[i], i);
		ck_assert_uint_eq(swap_map_count(big, i), 1);
	}
	swap_map_stats(big, &s);
	ck_assert_uint_eq(s.used, 64);
	ck_assert_uint_eq(s.allocs, 64);
	ck_assert_uint_eq(s.split_allocs, 0);
	ck_assert_uint_eq(s.alloc_failures, 0);
	swap_map_destroy(big);
}
END_TEST

START_TEST(swap_map_next_batch_starts_past_the_cursor_not_in_an_earlier_hole)
{
	uint32_t slots[8];
	static const uint32_t after[4] = {16, 17, 18, 19};

	ck_assert_uint_eq(swap_map_alloc(m, 8, slots), 8);
	ck_assert_uint_eq(swap_map_alloc(m, 8, slots), 8);
	ck_assert_uint_eq(slots[0], 8);
	put_range(2, 4);
	ck_assert_uint_eq(swap_map_alloc(m, 4, slots), 4);
	assert_slots(slots, 4, after);
	assert_consistent();
}
END_TEST

START_TEST(swap_map_cursor_wraps_to_a_hole_before_it)
{
	uint32_t slots[8];
	static const uint32_t hole[8] = {4, 5, 6, 7, 8, 9, 10, 11};

	alloc_all();
	put_range(4, 8);
	ck_assert_uint_eq(swap_map_alloc(m, 8, slots), 8);
	assert_slots(slots, 8, hole);
	assert_alloc_stats(SMALL_SLOTS, 0, 0);
}
END_TEST

START_TEST(swap_map_run_found_after_wrap_may_reach_past_the_cursor)
{
	uint32_t slots[8];
	static const uint32_t run[8] = {10, 11, 12, 13, 14, 15, 16, 17};

	alloc_all();
	put_range(10, 10);
	ck_assert_uint_eq(swap_map_alloc(m, 4, slots), 4);
	ck_assert_uint_eq(slots[0], 10);
	put_range(10, 4); /* free: 10..19, the cursor at 14 inside it */
	/* From 14 the run holds 6; from 10, after the wrap, it holds 10. */
	ck_assert_uint_eq(swap_map_alloc(m, 8, slots), 8);
	assert_slots(slots, 8, run);
	assert_alloc_stats(SMALL_SLOTS - 2, 0, 0);
}
END_TEST

START_TEST(swap_map_fills_from_several_runs_in_increasing_order)
{
	uint32_t slots[4];
	static const uint32_t want[4] = {1, 20, 25, 26};

	alloc_all();
	put_range(2, 2);
	ck_assert_uint_eq(swap_map_alloc(m, 2, slots), 2); /* 2, 3: cursor at 4 */
	ck_assert_uint_eq(slots[0], 2);
	put_range(1, 1);
	put_range(20, 1);
	put_range(25, 2);
	/* No run of 4: 20, 25, 26 from the cursor on, then 1 after the wrap. */
	ck_assert_uint_eq(swap_map_alloc(m, 4, slots), 4);
	assert_slots(slots, 4, want);
	assert_alloc_stats(SMALL_SLOTS, 1, 0);
}
END_TEST

START_TEST(swap_map_full_map_allocates_nothing)
{
	uint32_t slot = SWAP_SLOT_NONE;

	alloc_all();
	ck_assert_uint_eq(swap_map_alloc(m, 1, &slot), 0);
	ck_assert_uint_eq(slot, SWAP_SLOT_NONE);
	assert_alloc_stats(SMALL_SLOTS, 0, 1);
}
END_TEST

START_TEST(swap_map_almost_full_map_allocates_what_is_left)
{
	uint32_t slots[5];
	static const uint32_t left[2] = {7, 30};

	alloc_all();
	put_range(7, 1);
	put_range(30, 1);
	ck_assert_uint_eq(swap_map_alloc(m, 5, slots), 2);
	assert_slots(slots, 2, left);
	assert_alloc_stats(SMALL_SLOTS, 1, 1);
}
END_TEST

START_TEST(swap_map_alloc_of_zero_changes_nothing)
{
	uint32_t slot;

	ck_assert_uint_eq(swap_map_alloc(m, 0, &slot), 0);
	ck_assert_uint_eq(stats().allocs, 0);
	ck_assert_uint_eq(stats().alloc_failures, 0);
}
END_TEST

START_TEST(swap_map_last_put_frees_the_slot)
{
	uint32_t slot;

	ck_assert_uint_eq(swap_map_alloc(m, 1, &slot), 1);
	ck_assert_uint_eq(swap_map_count(m, slot), 1);
	ck_assert_int_eq(swap_map_get(m, slot), 2);
	ck_assert_int_eq(swap_map_get(m, slot), 3);
	ck_assert_int_eq(swap_map_put(m, slot), 2);
	ck_assert_int_eq(swap_map_put(m, slot), 1);
	ck_assert_uint_eq(stats().used, 1);
	ck_assert_int_eq(swap_map_put(m, slot), 0);
	ck_assert_uint_eq(swap_map_count(m, slot), 0);
	ck_assert_uint_eq(stats().used, 0);
	ck_assert_uint_eq(stats().frees, 1);
	assert_consistent();
}
END_TEST

START_TEST(swap_map_misuse_is_refused_counted_and_changes_nothing)
{
	struct swap_map_stats before, after;
	uint32_t slot;
	uint16_t vm;
	uint64_t page;

	ck_assert_uint_eq(swap_map_alloc(m, 1, &slot), 1);
	swap_map_set_owner(m, slot, 3, 0x42);
	swap_map_stats(m, &before);
	ck_assert_int_eq(swap_map_put(m, slot + 1), -EINVAL);
	ck_assert_int_eq(swap_map_get(m, slot + 1), -EINVAL);
	ck_assert_int_eq(swap_map_get(m, SMALL_SLOTS), -EINVAL);
	ck_assert_int_eq(swap_map_put(m, SWAP_SLOT_NONE), -EINVAL);
	swap_map_set_owner(m, slot + 1, 1, 1);
	swap_map_set_owner(m, slot, 1, SWAP_OWNER_MAXPAGE + 1);
	swap_map_stats(m, &after);
	ck_assert_uint_eq(after.misuse, 6);
	after.misuse = before.misuse;
	ck_assert_mem_eq(&after, &before, sizeof(before));
	ck_assert_uint_eq(swap_map_count(m, slot), 1);
	ck_assert(swap_map_owner(m, slot, &vm, &page));
	ck_assert_uint_eq(vm, 3);
	ck_assert_uint_eq(page, 0x42);
	assert_consistent();
}
END_TEST

START_TEST(swap_map_owner_round_trips)
{
	uint32_t slots[3];
	uint16_t vm;
	uint64_t page;

	ck_assert_uint_eq(swap_map_alloc(m, 3, slots), 3);
	ck_assert(!swap_map_owner(m, slots[0], &vm, &page)); /* not set yet */
	swap_map_set_owner(m, slots[0], 7, 0x123456789abULL);
	swap_map_set_owner(m, slots[1], 0xffff, SWAP_OWNER_MAXPAGE);
	swap_map_set_owner(m, slots[2], 0, 0);
	ck_assert(swap_map_owner(m, slots[0], &vm, &page));
	ck_assert_uint_eq(vm, 7);
	ck_assert_uint_eq(page, 0x123456789abULL);
	ck_assert(swap_map_owner(m, slots[1], &vm, &page));
	ck_assert_uint_eq(vm, 0xffff);
	ck_assert_uint_eq(page, SWAP_OWNER_MAXPAGE);
	ck_assert(swap_map_owner(m, slots[2], &vm, &page));
	ck_assert_uint_eq(vm, 0);
	ck_assert_uint_eq(page, 0);
	ck_assert(!swap_map_owner(m, SMALL_SLOTS - 1, &vm, &page)); /* free */
	assert_consistent();
}
END_TEST

START_TEST(swap_map_freed_slot_forgets_its_owner)
{
	uint32_t slot, again;
	uint16_t vm;
	uint64_t page;

	ck_assert_uint_eq(swap_map_alloc(m, 1, &slot), 1);
	swap_map_set_owner(m, slot, 2, 99);
	ck_assert_int_eq(swap_map_put(m, slot), 0);
	ck_assert(!swap_map_owner(m, slot, &vm, &page));
	/* Reallocated (the only free slot left), it starts without one. */
	alloc_all();
	ck_assert_int_eq(swap_map_put(m, slot), 0);
	ck_assert_uint_eq(swap_map_alloc(m, 1, &again), 1);
	ck_assert_uint_eq(again, slot);
	ck_assert(!swap_map_owner(m, again, &vm, &page));
	assert_consistent();
}
END_TEST

/* A reference model: one count per slot. */
#define MODEL_SLOTS 300

static void model_alloc(uint32_t *model)
{
	uint32_t slots[40], n = 1 + random() % 40, got, free_slots = 0;

	for (uint32_t s = 0; s < MODEL_SLOTS; s++)
		free_slots += !model[s];
	got = swap_map_alloc(m, n, slots);
	ck_assert_uint_eq(got, n < free_slots ? n : free_slots);
	for (uint32_t i = 0; i < got; i++) {
		ck_assert_uint_lt(slots[i], MODEL_SLOTS);
		ck_assert_msg(!model[slots[i]], "slot %u allocated while in use", slots[i]);
		if (i)
			ck_assert_uint_gt(slots[i], slots[i - 1]);
		model[slots[i]] = 1;
	}
}

static void model_op(uint32_t *model, uint64_t *misuse)
{
	uint32_t s = random() % (MODEL_SLOTS + 2); /* now and then out of range */
	int op = random() % 8;

	if (op == 0) {
		model_alloc(model);
		return;
	}
	if (s >= MODEL_SLOTS || !model[s]) {
		ck_assert_int_eq(op < 3 ? swap_map_get(m, s) : swap_map_put(m, s), -EINVAL);
		(*misuse)++;
		return;
	}
	if (op < 3)
		ck_assert_int_eq(swap_map_get(m, s), (int)++model[s]);
	else
		ck_assert_int_eq(swap_map_put(m, s), (int)--model[s]);
}

START_TEST(swap_map_counts_follow_a_reference_model_under_random_operations)
{
	static uint32_t model[MODEL_SLOTS];
	const char *env = getenv("SWAPMAP_TEST_SEED");
	unsigned seed = env ? strtoul(env, NULL, 0) : 20261123;
	uint64_t misuse = 0;
	uint32_t used;

	fprintf(stderr, "swap_map_counts_follow_a_reference_model: seed %u (SWAPMAP_TEST_SEED)\n",
		seed);
	srandom(seed);
	swap_map_destroy(m);
	ck_assert_int_eq(swap_map_create(&m, MODEL_SLOTS), 0);
	memset(model, 0, sizeof(model));
	for (int op = 0; op < 50000; op++) {
		model_op(model, &misuse);
		if (op % 1000)
			continue;
		used = 0;
		for (uint32_t s = 0; s < MODEL_SLOTS; s++) {
			ck_assert_msg(swap_map_count(m, s) == model[s],
				      "op %d: slot %u count %u, model %u", op, s,
				      swap_map_count(m, s), model[s]);
			used += !!model[s];
		}
		ck_assert_uint_eq(stats().used, used);
		ck_assert_uint_eq(stats().misuse, misuse);
		assert_consistent();
	}
}
END_TEST

START_TEST(swap_map_create_refuses_bad_sizes)
{
	struct swap_map *x;

	ck_assert_int_eq(swap_map_create(&x, 0), -EINVAL);
	ck_assert_int_eq(swap_map_create(&x, SWAP_SLOT_NONE), -EINVAL);
}
END_TEST

START_TEST(swap_map_metadata_is_about_twelve_bytes_per_slot)
{
	struct swap_map *big;
	struct swap_map_stats s;
	uint32_t n = 1u << 20;

	ck_assert_int_eq(swap_map_create(&big, n), 0);
	swap_map_stats(big, &s);
	ck_assert_uint_ge(s.metadata_bytes, (size_t)n * 12 + n / 8);
	ck_assert_uint_lt(s.metadata_bytes, (size_t)n * 12 + n / 8 + 4096);
	swap_map_destroy(big);
}
END_TEST

static Suite *swap_map_suite(void)
{
	Suite *s = suite_create("swapmap");
	TCase *tc = tcase_create("map");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, swap_map_batch_on_empty_map_is_one_run);
	tcase_add_test(tc, swap_map_next_batch_starts_past_the_cursor_not_in_an_earlier_hole);
	tcase_add_test(tc, swap_map_cursor_wraps_to_a_hole_before_it);
	tcase_add_test(tc, swap_map_run_found_after_wrap_may_reach_past_the_cursor);
	tcase_add_test(tc, swap_map_fills_from_several_runs_in_increasing_order);
	tcase_add_test(tc, swap_map_full_map_allocates_nothing);
	tcase_add_test(tc, swap_map_almost_full_map_allocates_what_is_left);
	tcase_add_test(tc, swap_map_alloc_of_zero_changes_nothing);
	tcase_add_test(tc, swap_map_last_put_frees_the_slot);
	tcase_add_test(tc, swap_map_misuse_is_refused_counted_and_changes_nothing);
	tcase_add_test(tc, swap_map_owner_round_trips);
	tcase_add_test(tc, swap_map_freed_slot_forgets_its_owner);
	tcase_add_test(tc, swap_map_counts_follow_a_reference_model_under_random_operations);
	tcase_add_test(tc, swap_map_create_refuses_bad_sizes);
	tcase_add_test(tc, swap_map_metadata_is_about_twelve_bytes_per_slot);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(swap_map_suite());
}
