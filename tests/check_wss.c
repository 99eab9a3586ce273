/* tests/check_wss.c: the working-set estimate is t/n of the resident
 * pages, its Wilson interval matches the formula worked by hand, covers
 * the true size of a known hot set in about 95% of sampled periods and
 * narrows as the sample grows; the edges (n = 0, t = 0, t = n) stay
 * sensible; wss_pick draws distinct, sorted, uniform indices from a state
 * the caller owns. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wss.h"
#include "testlib.h"

#define RESIDENT 100000
#define HOT	 20000 /* pages [0, HOT) are touched every period */

static void assert_estimate(uint64_t resident, uint32_t n, uint32_t t, uint64_t pages, uint64_t lo,
			    uint64_t hi)
{
	struct wss_estimate e;

	wss_estimate(resident, n, t, &e);
	ck_assert_msg(e.pages == pages && e.lo == lo && e.hi == hi,
		      "%lu resident, %u of %u touched: %lu [%lu, %lu], expected %lu [%lu, %lu]",
		      resident, t, n, e.pages, e.lo, e.hi, pages, lo, hi);
	ck_assert_uint_eq(e.sampled, n);
	ck_assert_uint_eq(e.touched, t);
}

START_TEST(wss_estimate_matches_the_wilson_interval_by_hand)
{
	/* p = 0.2, n = 100: centre 0.21110, half-width 0.07773. */
	assert_estimate(RESIDENT, 100, 20, 20000, 13336, 28884);
	assert_estimate(RESIDENT, 400, 80, 20000, 16373, 24198);
	assert_estimate(1000, 10, 3, 300, 107, 604);
}
END_TEST

START_TEST(wss_estimate_edges_stay_sensible)
{
	struct wss_estimate e;

	/* Nothing sampled: nothing known, nothing claimed. */
	assert_estimate(1000, 0, 0, 0, 0, 0);
	/* None touched: the working set may still be small, not surely 0. */
	assert_estimate(1000, 50, 0, 0, 0, 72);
	/* All touched: it may be a little smaller than everything. */
	assert_estimate(1000, 50, 50, 1000, 928, 1000);
	assert_estimate(0, 50, 10, 0, 0, 0);
	/* More touched than sampled is taken as all. */
	wss_estimate(1000, 50, 60, &e);
	ck_assert_uint_eq(e.touched, 50);
	ck_assert_uint_eq(e.pages, 1000);
	/* No overflow where resident * touched passes 2^64. */
	wss_estimate(UINT64_MAX / 2, 1000, 500, &e);
	ck_assert_uint_eq(e.pages, UINT64_MAX / 4 + 1);
	ck_assert_uint_le(e.lo, e.pages);
	ck_assert_uint_ge(e.hi, e.pages);
}
END_TEST

static uint64_t test_seed(const char *test)
{
	const char *env = getenv("WSS_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 20261123;

	fprintf(stderr, "%s: seed %lu (WSS_TEST_SEED)\n", test, seed);
	return seed;
}

/* One period: sample n of the resident pages, count those in the hot set. */
static struct wss_estimate sample_period(uint64_t *rng, uint32_t n)
{
	static uint64_t picks[RESIDENT];
	struct wss_estimate e;
	uint32_t t = 0;

	wss_pick(rng, RESIDENT, n, picks);
	for (uint32_t i = 0; i < n; i++)
		t += picks[i] < HOT;
	wss_estimate(RESIDENT, n, t, &e);
	return e;
}

START_TEST(wss_interval_covers_the_true_size_and_narrows_with_n)
{
	uint64_t seed = test_seed("wss_interval_covers_the_true_size"), rng = seed;
	const uint32_t ns[2] = {100, 400};
	double width[2], mean[2];

	for (int k = 0; k < 2; k++) {
		unsigned covered = 0;

		width[k] = mean[k] = 0;
		for (int trial = 0; trial < 200; trial++) {
			struct wss_estimate e = sample_period(&rng, ns[k]);

			covered += e.lo <= HOT && HOT <= e.hi;
			width[k] += (double)(e.hi - e.lo) / 200;
			mean[k] += (double)e.pages / 200;
		}
		ck_assert_msg(covered >= 180, "seed %lu, n %u: %u of 200 intervals cover %d", seed,
			      ns[k], covered, HOT);
		ck_assert_msg(mean[k] > HOT * 0.95 && mean[k] < HOT * 1.05,
			      "seed %lu, n %u: mean estimate %.0f, true %d", seed, ns[k], mean[k],
			      HOT);
	}
	/* Four times the sample, half the width (1/sqrt(n)). */
	ck_assert_msg(width[1] < width[0] * 0.6, "seed %lu: mean width %.0f at n 400, %.0f at 100",
		      seed, width[1], width[0]);
}
END_TEST

static void assert_pick_valid(uint64_t nr, uint32_t n, const uint64_t *out)
{
	for (uint32_t i = 0; i < n; i++) {
		ck_assert_uint_lt(out[i], nr);
		if (i)
			ck_assert_msg(out[i] > out[i - 1], "pick %u: %lu after %lu", i, out[i],
				      out[i - 1]);
	}
}

/* Every index is picked n/nr of the time, whichever way wss_pick draws:
 * 30000 draws, 5 standard deviations either side. */
static void assert_pick_uniform(uint64_t *rng, uint32_t n)
{
	unsigned hits[10] = {0};
	uint64_t out[10];
	double want = 30000.0 * n / 10, sd = sqrt(want * (1 - n / 10.0));

	for (int trial = 0; trial < 30000; trial++) {
		wss_pick(rng, 10, n, out);
		assert_pick_valid(10, n, out);
		for (uint32_t i = 0; i < n; i++)
			hits[out[i]]++;
	}
	for (int i = 0; i < 10; i++)
		ck_assert_msg(hits[i] > want - 5 * sd && hits[i] < want + 5 * sd,
			      "%u of 10: index %d picked %u times, expected %.0f", n, i, hits[i],
			      want);
}

START_TEST(wss_pick_is_distinct_sorted_and_uniform)
{
	uint64_t rng = test_seed("wss_pick_is_distinct_sorted_and_uniform");
	static uint64_t out[RESIDENT];

	assert_pick_uniform(&rng, 3); /* draws and drops repeats */
	assert_pick_uniform(&rng, 7); /* one pass over every index */
	wss_pick(&rng, RESIDENT, 5000, out);
	assert_pick_valid(RESIDENT, 5000, out);
	wss_pick(&rng, 1ULL << 60, 1000, out);
	assert_pick_valid(1ULL << 60, 1000, out);
}
END_TEST

START_TEST(wss_pick_of_everything_takes_every_index)
{
	uint64_t rng = 1, out[64];

	wss_pick(&rng, 64, 64, out);
	for (uint64_t i = 0; i < 64; i++)
		ck_assert_uint_eq(out[i], i);
	memset(out, 0xff, sizeof(out));
	wss_pick(&rng, 5, 9, out); /* more than there are: all 5 */
	for (uint64_t i = 0; i < 5; i++)
		ck_assert_uint_eq(out[i], i);
	ck_assert_uint_eq(out[5], UINT64_MAX);
}
END_TEST

START_TEST(wss_pick_replays_from_the_same_state)
{
	uint64_t a = 42, b = 42, x[100], y[100];

	wss_pick(&a, RESIDENT, 100, x);
	wss_pick(&b, RESIDENT, 100, y);
	ck_assert_mem_eq(x, y, sizeof(x));
	ck_assert_uint_eq(a, b);
	wss_pick(&a, RESIDENT, 100, x); /* the state moved on: another sample */
	ck_assert(memcmp(x, y, sizeof(x)));
}
END_TEST

START_TEST(wss_ewma_starts_at_the_first_sample_then_smooths)
{
	struct wss_ewma avg = {0};

	ck_assert_double_eq(wss_ewma_update(&avg, 1000, 0.25), 1000);
	ck_assert_double_eq(wss_ewma_update(&avg, 2000, 0.25), 1250);
	ck_assert_double_eq(wss_ewma_update(&avg, 2000, 0.25), 1437.5);
	ck_assert_double_eq(wss_ewma_update(&avg, 0, 1), 0);
}
END_TEST

static Suite *wss_suite(void)
{
	Suite *s = suite_create("wss");
	TCase *tc = tcase_create("wss");

	tcase_add_test(tc, wss_estimate_matches_the_wilson_interval_by_hand);
	tcase_add_test(tc, wss_estimate_edges_stay_sensible);
	tcase_add_test(tc, wss_interval_covers_the_true_size_and_narrows_with_n);
	tcase_add_test(tc, wss_pick_is_distinct_sorted_and_uniform);
	tcase_add_test(tc, wss_pick_of_everything_takes_every_index);
	tcase_add_test(tc, wss_pick_replays_from_the_same_state);
	tcase_add_test(tc, wss_ewma_starts_at_the_first_sample_then_smooths);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(wss_suite());
}
