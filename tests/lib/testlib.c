/* tests/lib/testlib.c: see testlib.h. */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "uffd.h"

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

bool testlib_uffd_permitted(void)
{
	int64_t r = uffd_probe_features();

	if (r >= 0)
		return true;
	printf("SKIP: userfaultfd is not permitted here (%s): neither userfaultfd(2) "
	       "(sysctl vm.unprivileged_userfaultfd=0 without CAP_SYS_PTRACE) nor /dev/userfaultfd "
	       "(its file permissions) lets this user in\n",
	       strerror((int)-r));
	return false;
}

unsigned testlib_seed(const char *test, const char *env)
{
	const char *v = getenv(env);
	unsigned seed = v ? strtoul(v, NULL, 0) : 20261123;

	fprintf(stderr, "%s: seed %u (%s)\n", test, seed, env);
	return seed;
}
