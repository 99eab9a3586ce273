/* tests/check_fleet.c: the fleet waits for forks under way, not only for
 * the children it has already started; it holds children started
 * together at its gate; its fd table is grown before any fork. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fleet.h"
#include "testlib.h"

struct waiter {
	struct fleet *f;
	bool returned; /* atomic */
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	fleet_wait(w->f);
	__atomic_store_n(&w->returned, true, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A fork that has not made its children yet keeps fleet_wait waiting:
 * main used to report a child still being made as "exit 4" and close the
 * control socket under it. */
START_TEST(fleet_wait_waits_for_a_fork_under_way)
{
	struct fleet f;
	struct waiter w = {.f = &f};
	pthread_t t;

	fleet_init(&f, 1, NULL);
	fleet_fork_begin(&f);
	ck_assert_int_eq(pthread_create(&t, NULL, wait_thread, &w), 0);
	/* Not a timing assertion: whatever the wait, it must not have returned. */
	for (int i = 0; i < 50; i++) {
		usleep(1000);
		ck_assert(!__atomic_load_n(&w.returned, __ATOMIC_SEQ_CST));
	}
	fleet_fork_end(&f);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert(w.returned);
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

struct passer {
	struct vm_gate *gate;
	bool passed; /* atomic */
};

static void *pass_thread(void *arg)
{
	struct passer *p = arg;

	vm_gate_pass(p->gate);
	__atomic_store_n(&p->passed, true, __ATOMIC_SEQ_CST);
	return NULL;
}

/* What a child's vCPU thread does before its first instruction: held
 * while the fork makes its siblings, let go when they are all made. */
START_TEST(fleet_hold_keeps_children_back_until_released)
{
	struct fleet f;
	struct passer p[3];
	pthread_t t[3];

	fleet_init(&f, 1, NULL);
	fleet_hold(&f, true);
	for (int i = 0; i < 3; i++) {
		p[i] = (struct passer){.gate = &f.gate};
		ck_assert_int_eq(pthread_create(&t[i], NULL, pass_thread, &p[i]), 0);
	}
	/* Not a timing assertion: however long, none may pass a closed gate. */
	for (int n = 0; n < 50; n++) {
		usleep(1000);
		for (int i = 0; i < 3; i++)
			ck_assert(!__atomic_load_n(&p[i].passed, __ATOMIC_SEQ_CST));
	}
	fleet_hold(&f, false);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert(p[i].passed);
	}
	fleet_destroy(&f);
}
END_TEST

START_TEST(fleet_open_gate_and_no_gate_pass_at_once)
{
	struct fleet f;

	fleet_init(&f, 1, NULL);
	vm_gate_pass(&f.gate); /* open from fleet_init: returns */
	vm_gate_pass(NULL);
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

/* Grown while the fleet starts, not in the middle of a fork: growing it
 * with several threads waits for an RCU grace period. */
START_TEST(fleet_init_grows_the_fd_table_for_children)
{
	struct rlimit r;
	long want = 1024;
	struct fleet f;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
	if (r.rlim_cur < (rlim_t)want)
		want = (long)r.rlim_cur;
	fleet_init(&f, 1, NULL);
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
	tcase_add_test(tc, fleet_open_gate_and_no_gate_pass_at_once);
	tcase_add_test(tc, fleet_init_grows_the_fd_table_for_children);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(fleet_suite());
}
