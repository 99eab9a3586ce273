/* tests/lib/testlib.h: what every Check test program shares. */
#ifndef TESTS_TESTLIB_H
#define TESTS_TESTLIB_H

#include <check.h>

/* Run a suite, print Check's summary, return the process exit status. */
int testlib_run(Suite *s);

#endif
