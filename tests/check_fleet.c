/* tests/check_fleet.c: the fleet waits for forks under way, not only for
 * the children it has already started; it holds children started
 * together at its gate; the fd table is grown before any fork. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fleet.h"
#include "testlib.h"

/* A call made on a thread of its own, that may block: whether it has
 * returned yet. */
struct blocking {
	void (*call)(void *arg);
	void *arg;
	pthread_t thread;
	bool returned; /* atomic */
};

static void *blocking_thread(void *arg)
{
	struct blocking *b = arg;

	b->call(b->arg);
	__atomic_store_n(&b->returned, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void blocking_start(struct blocking *b, void (*call)(void *), void *arg)
{
	*b = (struct blocking){.call = call, .arg = arg};
	ck_assert_int_eq(pthread_create(&b->thread, NULL, blocking_thread, b), 0);
}

/* Not a timing assertion: however long it is given, none of b[0..n) may
 * return while what it waits for has not happened. */
static void blocking_assert_held(struct blocking *b, int n)
{
	for (int round = 0; round < 50; round++) {
		usleep(1000);
		for (int i = 0; i < n; i++)
			ck_assert(!__atomic_load_n(&b[i].returned, __ATOMIC_SEQ_CST));
	}
}

static void blocking_join(struct blocking *b)
{
	ck_assert_int_eq(pthread_join(b->thread, NULL), 0);
	ck_assert(b->returned);
}

static void call_fleet_wait(void *f)
{
	fleet_wait(f);
}

static void call_gate_pass(void *gate)
{
	vm_gate_pass(gate);
}

/* A fork that has not made its children yet keeps fleet_wait waiting:
 * main used to report a child still being made as "exit 4" and close the
 * control socket under it. */
START_TEST(fleet_wait_waits_for_a_fork_under_way)
{
	struct blocking w;
	struct fleet f;

	fleet_init(&f, 1, NULL);
	fleet_fork_begin(&f);
	blocking_start(&w, call_fleet_wait, &f);
	blocking_assert_held(&w, 1);
	fleet_fork_end(&f);
	blocking_join(&w);
	fleet_destroy(&f);
}
END_TEST

START_TEST(fleet_wait_without_children_returns)
{
	struct fleet f;

	fleet_init(&f, 1, NULL);
	fleet_fork_begin(&f);
	fleet_fork_end(&f);
	fleet_wait(&f);
	ck_assert_uint_eq(fleet_count(&f), 0);
	fleet_destroy(&f);
}
END_TEST

/* What a child's vCPU thread does before its first instruction: held
 * while the fork makes its siblings, let go when they are all made. */
START_TEST(fleet_hold_keeps_children_back_until_released)
{
	struct blocking p[3];
	struct fleet f;

	fleet_init(&f, 1, NULL);
	fleet_hold(&f, true);
	for (int i = 0; i < 3; i++)
		blocking_start(&p[i], call_gate_pass, &f.gate);
	blocking_assert_held(p, 3);
	fleet_hold(&f, false);
	for (int i = 0; i < 3; i++)
		blocking_join(&p[i]);
	fleet_destroy(&f);
}
END_TEST

/* The kernel's size of this process's fd table (FDSize in
 * /proc/self/status), or -1. */
static long fd_table_size(void)
{
	char line[256];
	long n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "FDSize: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* Grown before a VM that may fork starts, not in the middle of a fork:
 * growing it with several threads waits for an RCU grace period. */
START_TEST(fleet_expect_children_grows_the_fd_table)
{
	struct rlimit r;
	long want = 1024;
	struct fleet f;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
	if (r.rlim_cur < (rlim_t)want)
		want = (long)r.rlim_cur;
	fleet_init(&f, 1, NULL);
	fleet_expect_children();
	ck_assert_int_ge(fd_table_size(), want);
	fleet_destroy(&f);
}
END_TEST

static Suite *fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("wait");

	tcase_add_test(tc, fleet_wait_waits_for_a_fork_under_way);
	tcase_add_test(tc, fleet_wait_without_children_returns);
	tcase_add_test(tc, fleet_hold_keeps_children_back_until_released);
	tcase_add_test(tc, fleet_expect_children_grows_the_fd_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(fleet_suite());
}
