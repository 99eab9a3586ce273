/* tests/check_fleet.c: the fleet waits for forks under way, not only for
 * the children it has already started. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
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

static Suite *fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("wait");

	tcase_add_test(tc, fleet_wait_waits_for_a_fork_under_way);
	tcase_add_test(tc, fleet_wait_without_children_returns);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(fleet_suite());
}
