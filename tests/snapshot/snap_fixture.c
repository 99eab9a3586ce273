/* tests/snapshot/snap_fixture.c: write a valid snapshot of a small VM
 * (tests/lib/snap_fixture.h), or one whose machine is wrong in one way,
 * for the shell tests of vmm restore.
 * Usage: snap_fixture DIR [--mem BYTES] [--vm-mem BYTES] [--vm-version N]
 *                         [--omit SECTION]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap_fixture.h"

static int snap_fixture_usage(void)
{
	fprintf(stderr, "usage: snap_fixture DIR [--mem BYTES] [--vm-mem BYTES] "
			"[--vm-version N] [--omit SECTION]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct snap_fixture f = {.tsc_hz = 0};
	char err[512];
	int i;

	if (argc < 2 || argc % 2)
		return snap_fixture_usage();
	for (i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mem"))
			f.mem_bytes = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--vm-mem"))
			f.vm_mem_bytes = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--vm-version"))
			f.vm_version = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--omit"))
			f.omit = argv[i + 1];
		else
			return snap_fixture_usage();
	}
	if (snap_fixture_write(argv[1], &f, err, sizeof(err))) {
		fprintf(stderr, "snap_fixture: %s\n", err);
		return 1;
	}
	return 0;
}
