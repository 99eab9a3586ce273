/* tests/lib/testlib.c: see testlib.h. */
#include "testlib.h"

#include <stdlib.h>

#include "err.h"

int testlib_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	err_set_quiet(true); /* messages are checked through last_error() */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
