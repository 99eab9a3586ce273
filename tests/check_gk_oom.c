/* tests/check_gk_oom.c: the guest kernel's OOM choice (guest-kernel/gk_oom.c,
 * built for the host): the documented badness score, examples of it, and
 * the choice among random sets of processes against a plain reference. */
#include <check.h>
#include <stdlib.h>

#include "testlib.h"
#include "gk_oom.h"

#define TOTAL 16000

START_TEST(oom_badness_is_resident_plus_tables_plus_adj_share)
{
	struct gk_oom_candidate c = {.pid = 2, .adj = 0, .rss = 1200, .pt_pages = 5};

	ck_assert_int_eq(gk_oom_badness(&c, TOTAL), 1205);
	c.adj = 500; /* half of all memory more */
	ck_assert_int_eq(gk_oom_badness(&c, TOTAL), 1205 + 8000);
	c.adj = -50;
	ck_assert_int_eq(gk_oom_badness(&c, TOTAL), 1205 - 800);
	c.adj = -999; /* below 1 but not exempt: 1 */
	ck_assert_int_eq(gk_oom_badness(&c, TOTAL), 1);
	c.adj = -1000;
	ck_assert_int_eq(gk_oom_badness(&c, TOTAL), -1);
}
END_TEST

START_TEST(oom_adj_1000_is_chosen_over_any_size)
{
	struct gk_oom_candidate c[] = {
	    {.pid = 1, .adj = 0, .rss = TOTAL - 10},
	    {.pid = 2, .adj = 1000, .rss = 0},
	};

	ck_assert_int_eq(gk_oom_choose(c, 2, TOTAL), 1);
}
END_TEST

START_TEST(oom_all_exempt_chooses_nobody)
{
	struct gk_oom_candidate c[] = {{.pid = 1, .adj = -1000, .rss = 9},
				       {.pid = 2, .adj = -1000}};

	ck_assert_int_eq(gk_oom_choose(c, 2, TOTAL), -1);
	ck_assert_int_eq(gk_oom_choose(c, 0, TOTAL), -1);
}
END_TEST

/* The reference: score every process by the documented formula, the
 * highest wins, ties to the lowest pid. */
static int reference_choose(const struct gk_oom_candidate *c, unsigned n, uint64_t total)
{
	long long best = 0, score;
	int pick = -1;

	for (unsigned i = 0; i < n; i++) {
		if (c[i].adj == -1000)
			continue;
		score = (long long)(c[i].rss + c[i].pt_pages) +
			(long long)c[i].adj * (long long)total / 1000;
		if (score < 1)
			score = 1;
		if (pick < 0 || score > best || (score == best && c[i].pid < c[pick].pid)) {
			best = score;
			pick = (int)i;
		}
	}
	return pick;
}

START_TEST(oom_choice_matches_reference_on_random_process_sets)
{
	struct gk_oom_candidate c[64];

	srandom(testlib_seed("oom_choice_matches_reference_on_random_process_sets",
			     "GK_OOM_TEST_SEED"));
	for (int round = 0; round < 20000; round++) {
		unsigned n = 1 + random() % 64;
		uint64_t total = 1 + random() % 1000000;

		for (unsigned i = 0; i < n; i++) {
			static const int adjs[] = {-1000, -999, -500, -1,  0,	0,
						   0,	  1,	300,  999, 1000};

			c[i].pid = 1 + (int)((i * 7 + round) % 200); /* repeats: ties by pid */
			c[i].adj =
			    random() % 3 ? adjs[random() % 11] : (int)(random() % 2001) - 1000;
			c[i].rss =
			    random() % 4 ? random() % 5000 : random() % 3; /* equal scores too */
			c[i].pt_pages = random() % 4;
		}
		int got = gk_oom_choose(c, n, total), want = reference_choose(c, n, total);

		if (got != want)
			ck_abort_msg("round %d: chose %d, reference %d", round, got, want);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gk_oom");
	TCase *tc = tcase_create("oom");

	tcase_add_test(tc, oom_badness_is_resident_plus_tables_plus_adj_share);
	tcase_add_test(tc, oom_adj_1000_is_chosen_over_any_size);
	tcase_add_test(tc, oom_all_exempt_chooses_nobody);
	tcase_add_test(tc, oom_choice_matches_reference_on_random_process_sets);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
