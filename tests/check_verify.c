/* tests/check_verify.c: the verify workload's loops (guest-kernel/user_touch.c,
 * included) on the host, with a user library that scripts SYS_FORKID: a
 * fork during a pass's fill is noticed before the check, announced once,
 * and the pass refilled with the child's pattern (pass 0's fresh-zero
 * check is not repeated); one between passes is announced at the next;
 * the booted VM's pattern is the seed's own. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "user.h"

#define PAGES 8

static uint64_t heap[PAGES * U_PAGE_WORDS] __attribute__((aligned(4096)));
static struct user_args args;
static char lines[8][64];
static int nr_lines;
/* The fork: from the fork_at-th page filled, or the fork_read_at-th read
 * of SYS_FORKID, on, it reads child; with lost, the child's writes from
 * then on do not land (a VMM that left it on its parent's frames). */
static uint64_t fills, fork_at, reads, fork_read_at, child, zero_checks;
static bool lost;

static void setup(void)
{
	memset(heap, 0, sizeof(heap));
	args = (struct user_args){.workload = WORKLOAD_VERIFY,
				  .heap = (uintptr_t)heap,
				  .size = sizeof(heap),
				  .seed = 7,
				  .passes = 3};
	nr_lines = 0;
	fills = reads = zero_checks = child = 0;
	fork_at = fork_read_at = UINT64_MAX;
	lost = false;
}

/* ---- the user library, as user_touch.c sees it (guest-kernel/user_lib.c) */

uint64_t u_forkid(void)
{
	bool forked = fills >= fork_at || reads >= fork_read_at;

	reads++;
	return forked ? child : 0;
}

void u_fork_line(uint64_t id)
{
	ck_assert_int_lt(nr_lines, 8);
	snprintf(lines[nr_lines++], sizeof(lines[0]), "FORK generation=%u index=%u",
		 (unsigned)(id >> 16), (unsigned)(id & 0xffff));
}

void u_pass_line(const struct user_args *a, const char *name, uint64_t pass)
{
	(void)a, (void)name, (void)pass;
}

uint64_t u_pattern(uint64_t page, uint64_t pass, uint64_t seed)
{
	return (page * 31 + pass * 7 + seed * 1000003) | 1;
}

void u_page_fill(uint64_t page, uint64_t pattern)
{
	uint64_t *p = (uint64_t *)(uintptr_t)page;

	for (uint64_t i = 0; i < U_PAGE_WORDS && !(lost && fills >= fork_at); i++)
		p[i] = pattern + i;
	fills++;
}

bool u_page_check(uint64_t page, uint64_t pattern, const char *what)
{
	const uint64_t *p = (const uint64_t *)(uintptr_t)page;

	(void)what;
	for (uint64_t i = 0; i < U_PAGE_WORDS; i++)
		if (p[i] != pattern + i)
			return false;
	return true;
}

bool u_page_zero(uint64_t page, const char *what)
{
	const uint64_t *p = (const uint64_t *)(uintptr_t)page;

	(void)what;
	zero_checks++;
	for (uint64_t i = 0; i < U_PAGE_WORDS; i++)
		if (p[i])
			return false;
	return true;
}

#include "user_touch.c"

START_TEST(verify_booted_vm_fills_with_the_seed_as_given)
{
	struct u_outcome o = u_verify(&args);

	ck_assert(o.ok);
	ck_assert_uint_eq(o.pages, PAGES);
	ck_assert_int_eq(nr_lines, 0);
	ck_assert_uint_eq(fills, 3 * PAGES);
	ck_assert(u_page_check(args.heap, u_pattern(args.heap, 2, args.seed), "last pass"));
}
END_TEST

START_TEST(verify_fork_during_pass_0_refills_without_a_second_zero_check)
{
	struct u_outcome o;

	fork_at = PAGES / 2; /* half of pass 0 is the parent's */
	child = 1 << 16 | 3;
	o = u_verify(&args);
	ck_assert(o.ok);
	ck_assert_int_eq(nr_lines, 1);
	ck_assert_str_eq(lines[0], "FORK generation=1 index=3");
	ck_assert_uint_eq(zero_checks, PAGES);
	ck_assert_uint_eq(fills, 4 * PAGES);
	ck_assert(!u_page_check(args.heap, u_pattern(args.heap, 2, args.seed), "parent's"));
}
END_TEST

START_TEST(verify_fork_between_passes_is_announced_at_the_next_pass)
{
	struct u_outcome o;

	fork_read_at = 2; /* pass 0 reads at its start and after its fill */
	child = 2 << 16 | 1;
	o = u_verify(&args);
	ck_assert(o.ok);
	ck_assert_int_eq(nr_lines, 1);
	ck_assert_str_eq(lines[0], "FORK generation=2 index=1");
	ck_assert_uint_eq(fills, 3 * PAGES); /* nothing filled again */
}
END_TEST

START_TEST(verify_child_that_reads_its_parents_pages_fails)
{
	fork_at = PAGES / 2;
	child = 1 << 16 | 1;
	lost = true;
	ck_assert(!u_verify(&args).ok);
	ck_assert_int_eq(nr_lines, 1);
	ck_assert_uint_eq(fills, 2 * PAGES); /* the fill, the refill, no second pass */
}
END_TEST

static Suite *verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("fork identity");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, verify_booted_vm_fills_with_the_seed_as_given);
	tcase_add_test(tc, verify_fork_during_pass_0_refills_without_a_second_zero_check);
	tcase_add_test(tc, verify_fork_between_passes_is_announced_at_the_next_pass);
	tcase_add_test(tc, verify_child_that_reads_its_parents_pages_fails);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(verify_suite());
}
