/* vmm-exit STATUS: end the VM with a verdict through the exit port
 * (VMM_PORT_EXIT, isa-debug-exit style): 0 for status 0, VMM_GUEST_FAILURE
 * otherwise; vmm then exits 0 or 1. Returns (exit 1) only where the port
 * cannot be reached (not under vmm): /init then powers off the usual way. */
#include <stdlib.h>

#include "vmmguest.h"

int vmm_exit(int argc, char **argv)
{
	uint8_t verdict = argc > 1 && atoi(argv[1]) ? VMM_GUEST_FAILURE : VMM_GUEST_SUCCESS;
	int fd = vmmguest_port_fd();

	fflush(stdout);
	if (fd < 0 || pwrite(fd, &verdict, 1, VMM_PORT_EXIT) != 1)
		perror("vmm-exit: /dev/port");
	return 1;
}
