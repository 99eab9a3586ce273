/* vmm-guest: the Linux guests' test programs in one static binary, run as
 * the name it is called by (see vmmguest.h). */
#include <string.h>

#include "vmmguest.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} programs[] = {
    {"vmm-verify", vmm_verify},
    {"vmm-counter", vmm_counter},
    {"vmm-forkid", vmm_forkid},
    {"vmm-exit", vmm_exit},
};

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		if (!strcmp(name, programs[i].name))
			return programs[i].fn(argc, argv);
	fprintf(stderr, "vmm-guest: run me as vmm-verify, vmm-counter, vmm-forkid or vmm-exit\n");
	return 2;
}
