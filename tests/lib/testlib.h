/* tests/lib/testlib.h: what every Check test program shares. */
#ifndef TESTS_TESTLIB_H
#define TESTS_TESTLIB_H

#include <check.h>
#include <stdbool.h>

#define TESTLIB_SKIP 77 /* the automake test driver's "skipped" status */

/* Run a suite, print Check's summary, return the process exit status. */
int testlib_run(Suite *s);
/* Whether this process may use userfaultfd; if not, prints why on stdout
 * (a "SKIP:" line for the log) and returns false. */
bool testlib_uffd_permitted(void);
/* The seed of a randomized test: $env if set, else a fixed one; printed
 * with the test's name so that a failure can be replayed. */
unsigned testlib_seed(const char *test, const char *env);

#endif
