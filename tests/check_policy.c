/* tests/check_policy.c: FIFO, LRU, Clock and OPT evict what the textbook
 * says on hand-worked reference strings (Belady's anomaly included), OPT
 * and LRU match brute-force models and OPT never faults more than any
 * other policy on random strings; the simulator refuses bad input;
 * clock_sweep finds victims in hand order and gives referenced pages
 * their second chance. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "sim.h"
#include "testlib.h"

#define MAX_REFS 4000
#define NONE	 UINT64_MAX

static const uint64_t belady[] = {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};
#define BELADY_N (sizeof(belady) / sizeof(belady[0]))

static uint64_t faults_of(const struct policy_ops *ops, const uint64_t *refs, uint64_t n,
			  uint64_t pages, uint64_t capacity)
{
	struct sim_result r;

	ck_assert_int_eq(sim_run(ops, refs, n, pages, capacity, &r), 0);
	ck_assert_uint_eq(r.refs, n);
	return r.faults;
}

/* Drive ops as the simulator does, writing the evicted pages in order;
 * returns how many. next_use computed the simple way. */
static uint64_t evictions_of(const struct policy_ops *ops, const uint64_t *refs, uint64_t n,
			     uint64_t pages, uint64_t capacity, uint64_t *evicted)
{
	static uint64_t next_use[MAX_REFS];
	bool resident[64] = {false};
	struct policy *p;
	uint64_t nres = 0, ne = 0;

	ck_assert_uint_le(n, MAX_REFS);
	ck_assert_uint_le(pages, 64);
	for (uint64_t t = 0; t < n; t++) {
		next_use[t] = NONE;
		for (uint64_t u = t + 1; u < n && next_use[t] == NONE; u++)
			next_use[t] = refs[u] == refs[t] ? u : NONE;
	}
	ck_assert_int_eq(ops->create(&p, pages, capacity, next_use), 0);
	for (uint64_t t = 0; t < n; t++) {
		if (resident[refs[t]]) {
			ops->access(p, refs[t], t);
			continue;
		}
		if (nres == capacity) {
			evicted[ne] = ops->victim(p);
			ck_assert_msg(evicted[ne] < pages && resident[evicted[ne]],
				      "%s evicted page %lu, not resident", ops->name, evicted[ne]);
			resident[evicted[ne++]] = false;
			nres--;
		}
		ops->insert(p, refs[t], t);
		resident[refs[t]] = true;
		nres++;
	}
	ops->destroy(p);
	return ne;
}

static void assert_evictions(const struct policy_ops *ops, const uint64_t *refs, uint64_t n,
			     uint64_t capacity, const uint64_t *want, uint64_t nwant)
{
	uint64_t got[MAX_REFS], ne = evictions_of(ops, refs, n, 64, capacity, got);

	ck_assert_msg(ne == nwant, "%s, %lu frames: %lu evictions, expected %lu", ops->name,
		      capacity, ne, nwant);
	for (uint64_t i = 0; i < ne; i++)
		ck_assert_msg(got[i] == want[i],
			      "%s, %lu frames: eviction %lu is page %lu, expected %lu", ops->name,
			      capacity, i, got[i], want[i]);
}

/* Belady's string with 3 and 4 frames: the faults, and the pages evicted
 * in order (want3[0..n3), want4[0..n4)). */
static void assert_beladys_string(const struct policy_ops *ops, uint64_t faults3, uint64_t faults4,
				  const uint64_t *want3, uint64_t n3, const uint64_t *want4,
				  uint64_t n4)
{
	ck_assert_uint_eq(faults_of(ops, belady, BELADY_N, 6, 3), faults3);
	ck_assert_uint_eq(faults_of(ops, belady, BELADY_N, 6, 4), faults4);
	assert_evictions(ops, belady, BELADY_N, 3, want3, n3);
	assert_evictions(ops, belady, BELADY_N, 4, want4, n4);
}

START_TEST(policy_fifo_shows_beladys_anomaly)
{
	static const uint64_t ev3[] = {1, 2, 3, 4, 1, 2}, ev4[] = {1, 2, 3, 4, 5, 1};

	assert_beladys_string(&policy_fifo_ops, 9, 10, ev3, 6, ev4, 6);
}
END_TEST

START_TEST(policy_lru_evicts_the_least_recently_used)
{
	static const uint64_t ev3[] = {1, 2, 3, 4, 5, 1, 2}, ev4[] = {3, 4, 5, 1};

	assert_beladys_string(&policy_lru_ops, 10, 8, ev3, 7, ev4, 4);
}
END_TEST

START_TEST(policy_opt_evicts_the_page_needed_furthest_ahead)
{
	/* Ties among pages never used again go to the larger page. */
	static const uint64_t ev3[] = {3, 4, 2, 3}, ev4[] = {4, 3};

	assert_beladys_string(&policy_opt_ops, 7, 6, ev3, 4, ev4, 2);
}
END_TEST

START_TEST(policy_clock_on_beladys_string)
{
	/* A page comes in referenced (the access that faulted it sets its
	 * bit): on this string, every page is referenced by the time the hand
	 * reaches it, so Clock degenerates to FIFO, anomaly included. */
	static const uint64_t ev3[] = {1, 2, 3, 4, 1, 2}, ev4[] = {1, 2, 3, 4, 5, 1};

	assert_beladys_string(&policy_clock_ops, 9, 10, ev3, 6, ev4, 6);
}
END_TEST

START_TEST(policy_clock_gives_a_referenced_page_a_second_chance)
{
	static const uint64_t refs[] = {1, 2, 3, 4, 2, 5, 6};
	static const uint64_t clock_ev[] = {1, 3, 2}, fifo_ev[] = {1, 2, 3};

	/* 4's fault swept every bit clear; then 2 was hit, so the hand passes
	 * it over once and 5 takes 3's frame, not 2's as in FIFO. */
	assert_evictions(&policy_clock_ops, refs, 7, 3, clock_ev, 3);
	assert_evictions(&policy_fifo_ops, refs, 7, 3, fifo_ev, 3);
}
END_TEST

START_TEST(policy_removed_page_is_never_a_victim)
{
	static const uint64_t next_use[8] = {NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE};
	const struct policy_ops *all[] = {&policy_fifo_ops, &policy_lru_ops, &policy_clock_ops,
					  &policy_opt_ops};

	for (int i = 0; i < 4; i++) {
		struct policy *p;
		uint64_t v, seen = 0;

		ck_assert_int_eq(all[i]->create(&p, 8, 8, next_use), 0);
		for (uint64_t page = 0; page < 5; page++)
			all[i]->insert(p, page, page);
		all[i]->remove(p, 2);
		all[i]->remove(p, 0);
		all[i]->remove(p, 2); /* not resident: changes nothing */
		while ((v = all[i]->victim(p)) != POLICY_NONE) {
			ck_assert_msg(v == 1 || v == 3 || v == 4, "%s: victim %lu", all[i]->name,
				      v);
			seen |= 1u << v;
		}
		ck_assert_uint_eq(seen, 1u << 1 | 1u << 3 | 1u << 4);
		all[i]->destroy(p);
	}
}
END_TEST

/* A string with locality: mostly a drifting window of 12 pages, now and
 * then any page. */
static void random_refs(uint64_t *refs, uint64_t n, uint64_t pages)
{
	uint64_t base = 0;

	for (uint64_t t = 0; t < n; t++) {
		if (random() % 50 == 0)
			base = random() % pages;
		refs[t] = random() % 8 ? (base + random() % 12) % pages : random() % pages;
	}
}

/* Brute force: at a fault with every frame taken, scan the resident pages
 * for the victim: furthest next use (ties: larger page) when opt, least
 * recent use otherwise. */
static uint64_t model_faults(bool opt, const uint64_t *refs, uint64_t n, uint64_t pages,
			     uint64_t capacity)
{
	static uint64_t last[64];
	bool resident[64] = {false};
	uint64_t faults = 0, nres = 0;

	for (uint64_t t = 0; t < n; t++) {
		uint64_t v = NONE, best = 0;

		last[refs[t]] = t;
		if (resident[refs[t]])
			continue;
		faults++;
		for (uint64_t q = 0; q < pages && nres == capacity; q++) {
			uint64_t score = NONE, u;

			if (!resident[q])
				continue;
			for (u = t + 1; opt && u < n && refs[u] != q; u++)
				;
			score = opt ? (u < n ? u : NONE) : NONE - last[q];
			if (v == NONE || score >= best) {
				v = q;
				best = score;
			}
		}
		if (v != NONE) {
			resident[v] = false;
			nres--;
		}
		resident[refs[t]] = true;
		nres++;
	}
	return faults;
}

static unsigned test_seed(const char *test)
{
	unsigned seed = testlib_seed(test, "POLICY_TEST_SEED");

	srandom(seed);
	return seed;
}

START_TEST(policy_opt_and_lru_match_brute_force_models)
{
	static uint64_t refs[2000];
	unsigned seed = test_seed("policy_opt_and_lru_match_brute_force_models");

	for (int round = 0; round < 10; round++) {
		uint64_t pages = 10 + random() % 50, cap = 1 + random() % 20;

		random_refs(refs, 2000, pages);
		ck_assert_msg(faults_of(&policy_opt_ops, refs, 2000, pages, cap) ==
				  model_faults(true, refs, 2000, pages, cap),
			      "seed %u round %d: opt %lu faults, model %lu", seed, round,
			      faults_of(&policy_opt_ops, refs, 2000, pages, cap),
			      model_faults(true, refs, 2000, pages, cap));
		ck_assert_msg(faults_of(&policy_lru_ops, refs, 2000, pages, cap) ==
				  model_faults(false, refs, 2000, pages, cap),
			      "seed %u round %d: lru %lu faults, model %lu", seed, round,
			      faults_of(&policy_lru_ops, refs, 2000, pages, cap),
			      model_faults(false, refs, 2000, pages, cap));
	}
}
END_TEST

START_TEST(policy_opt_never_faults_more_than_any_other)
{
	static uint64_t refs[MAX_REFS];
	const struct policy_ops *others[] = {&policy_fifo_ops, &policy_lru_ops, &policy_clock_ops};
	unsigned seed = test_seed("policy_opt_never_faults_more_than_any_other");

	for (int round = 0; round < 20; round++) {
		uint64_t pages = 8 + random() % 56, opt_prev = NONE, lru_prev = NONE;

		random_refs(refs, MAX_REFS, pages);
		for (uint64_t cap = 1; cap <= pages; cap += 3) {
			uint64_t opt = faults_of(&policy_opt_ops, refs, MAX_REFS, pages, cap);
			uint64_t lru = faults_of(&policy_lru_ops, refs, MAX_REFS, pages, cap);

			for (int i = 0; i < 3; i++) {
				uint64_t f = faults_of(others[i], refs, MAX_REFS, pages, cap);

				ck_assert_msg(opt <= f,
					      "seed %u round %d, %lu frames: opt %lu, %s %lu", seed,
					      round, cap, opt, others[i]->name, f);
			}
			/* Stack algorithms: more frames never fault more. */
			ck_assert_uint_le(opt, opt_prev);
			ck_assert_uint_le(lru, lru_prev);
			opt_prev = opt;
			lru_prev = lru;
		}
	}
}
END_TEST

/* OPT's heap on its own: keys that no reference string would give (a
 * replay only ever re-keys the page with the smallest key, which hides a
 * heap that is out of order) and removals from its middle. */
START_TEST(policy_opt_victim_has_the_furthest_next_use_under_random_operations)
{
	static uint64_t next_use[20000];
	uint64_t key[64], v, best;
	bool resident[64] = {false};
	unsigned seed = test_seed("policy_opt_victim_has_the_furthest_next_use");
	struct policy *p;

	for (uint64_t t = 0; t < 20000; t++)
		next_use[t] = random() % 10 ? (uint64_t)random() % 1000 : NONE;
	ck_assert_int_eq(policy_opt_ops.create(&p, 64, 64, next_use), 0);
	for (uint64_t t = 0; t < 20000; t++) {
		uint64_t page = random() % 64;
		int op = random() % 4;

		if (op == 0) {
			policy_opt_ops.remove(p, page);
			resident[page] = false;
		} else if (op == 1 && resident[page]) {
			policy_opt_ops.access(p, page, t);
			key[page] = next_use[t];
		} else if (op == 2) {
			policy_opt_ops.insert(p, page, t);
			key[page] = next_use[t];
			resident[page] = true;
		} else {
			best = NONE;
			for (uint64_t q = 0; q < 64; q++) {
				if (resident[q] && (best == NONE || key[q] >= key[best]))
					best = q;
			}
			v = policy_opt_ops.victim(p);
			ck_assert_msg(v == best, "seed %u, t %lu: victim %lu, expected %lu", seed,
				      t, v, best);
			if (v != POLICY_NONE)
				resident[v] = false;
		}
	}
	policy_opt_ops.destroy(p);
}
END_TEST

START_TEST(sim_counts_cold_misses_and_evictions)
{
	static const uint64_t refs[] = {0, 1, 2, 0, 1, 2};
	struct sim_result r;

	ck_assert_int_eq(sim_run(&policy_lru_ops, refs, 6, 3, 3, &r), 0);
	ck_assert_uint_eq(r.refs, 6);
	ck_assert_uint_eq(r.faults, 3);
	ck_assert_uint_eq(r.evictions, 0);
	ck_assert_int_eq(sim_run(&policy_lru_ops, refs, 6, 3, 2, &r), 0);
	ck_assert_uint_eq(r.faults, 6);
	ck_assert_uint_eq(r.evictions, 4);
	ck_assert_int_eq(sim_run(&policy_opt_ops, refs, 0, 3, 2, &r), 0);
	ck_assert_uint_eq(r.faults, 0);
}
END_TEST

START_TEST(sim_refuses_bad_input)
{
	static const uint64_t refs[] = {0, 1, 7};
	struct sim_result r = {.faults = 42};

	ck_assert_int_eq(sim_run(&policy_fifo_ops, refs, 3, 7, 2, &r), -EINVAL);
	ck_assert_int_eq(sim_run(&policy_fifo_ops, refs, 3, 8, 0, &r), -EINVAL);
	ck_assert_int_eq(sim_run(&policy_fifo_ops, refs, 3, 0, 2, &r), -EINVAL);
	ck_assert_uint_eq(r.faults, 42);
}
END_TEST

START_TEST(policy_by_name_finds_every_policy)
{
	ck_assert_ptr_eq(policy_by_name("clock"), &policy_clock_ops);
	ck_assert_ptr_eq(policy_by_name("fifo"), &policy_fifo_ops);
	ck_assert_ptr_eq(policy_by_name("lru"), &policy_lru_ops);
	ck_assert_ptr_eq(policy_by_name("opt"), &policy_opt_ops);
	ck_assert_ptr_null(policy_by_name("random"));
	ck_assert_ptr_null(policy_by_name("LRU"));
}
END_TEST

START_TEST(policy_opt_refuses_no_future)
{
	struct policy *p;

	ck_assert_int_eq(policy_opt_ops.create(&p, 8, 4, NULL), -EINVAL);
}
END_TEST

/* clock_sweep's test: -1 not resident, 0 resident, 1 referenced (cleared here). */
static int sweep_test(void *arg, uint64_t page)
{
	int *state = arg, s = state[page];

	if (s == 1)
		state[page] = 0;
	return s;
}

START_TEST(clock_sweep_finds_unreferenced_pages_in_hand_order)
{
	int state[10] = {-1, 1, 0, 0, 1, -1, 0, 1, 1, 0};
	uint64_t hand = 3, victims[10], scanned;
	static const uint64_t want[3] = {3, 6, 9};

	ck_assert_uint_eq(clock_sweep(&hand, 10, 100, 3, sweep_test, state, victims, &scanned), 3);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(victims[i], want[i]);
	ck_assert_uint_eq(scanned, 7);
	ck_assert_uint_eq(hand, 0);
	ck_assert_int_eq(state[4], 0); /* passed over, bit cleared */
	ck_assert_int_eq(state[7], 0);
	ck_assert_int_eq(state[1], 1); /* not reached */
}
END_TEST

START_TEST(clock_sweep_laps_once_and_never_repeats_a_victim)
{
	int state[4] = {1, -1, 1, 1};
	uint64_t hand = 2, victims[8], scanned;
	static const uint64_t want[3] = {2, 3, 0};

	/* Lap 1 clears 2, 3 and 0; lap 2 takes them, and stops back at 2. */
	ck_assert_uint_eq(clock_sweep(&hand, 4, 100, 8, sweep_test, state, victims, &scanned), 3);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(victims[i], want[i]);
	ck_assert_uint_eq(scanned, 8); /* 1 is seen twice, not resident */
	ck_assert_uint_eq(hand, 2);
}
END_TEST

START_TEST(clock_sweep_stops_after_max_scan)
{
	int state[8] = {1, 1, 1, 1, 1, 1, 1, 1};
	uint64_t hand = 6, victims[8], scanned;

	ck_assert_uint_eq(clock_sweep(&hand, 8, 5, 2, sweep_test, state, victims, &scanned), 0);
	ck_assert_uint_eq(scanned, 5);
	ck_assert_uint_eq(hand, 3);
	ck_assert_uint_eq(clock_sweep(&hand, 8, 5, 0, sweep_test, state, victims, &scanned), 0);
	ck_assert_uint_eq(scanned, 0);
	hand = 99; /* past the index space: starts over at 0 */
	ck_assert_uint_eq(clock_sweep(&hand, 8, 1, 1, sweep_test, state, victims, NULL), 1);
	ck_assert_uint_eq(victims[0], 0);
	ck_assert_uint_eq(hand, 1);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policies");
	TCase *sweep = tcase_create("clock_sweep");

	tcase_add_test(tc, policy_fifo_shows_beladys_anomaly);
	tcase_add_test(tc, policy_lru_evicts_the_least_recently_used);
	tcase_add_test(tc, policy_opt_evicts_the_page_needed_furthest_ahead);
	tcase_add_test(tc, policy_clock_on_beladys_string);
	tcase_add_test(tc, policy_clock_gives_a_referenced_page_a_second_chance);
	tcase_add_test(tc, policy_removed_page_is_never_a_victim);
	tcase_add_test(tc, policy_opt_and_lru_match_brute_force_models);
	tcase_add_test(tc, policy_opt_never_faults_more_than_any_other);
	tcase_add_test(tc, policy_opt_victim_has_the_furthest_next_use_under_random_operations);
	tcase_add_test(tc, sim_counts_cold_misses_and_evictions);
	tcase_add_test(tc, sim_refuses_bad_input);
	tcase_add_test(tc, policy_by_name_finds_every_policy);
	tcase_add_test(tc, policy_opt_refuses_no_future);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(sweep, clock_sweep_finds_unreferenced_pages_in_hand_order);
	tcase_add_test(sweep, clock_sweep_laps_once_and_never_repeats_a_victim);
	tcase_add_test(sweep, clock_sweep_stops_after_max_scan);
	suite_add_tcase(s, sweep);
	return s;
}

int main(void)
{
	return testlib_run(policy_suite());
}
