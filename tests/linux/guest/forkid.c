/* vmm-forkid: print which VM of a fork this is, read from the fork
 * identity port (VMM_PORT_FORKID): "FORK generation=G index=I"; a booted
 * VM is 0 and 0. Exit 1 where the port cannot be reached. */
#include "vmmguest.h"

int vmm_forkid(int argc, char **argv)
{
	int64_t id = vmmguest_forkid();

	(void)argc, (void)argv;
	if (id < 0) {
		perror("vmm-forkid: /dev/port");
		return 1;
	}
	vmmguest_fork_line(id);
	return 0;
}
