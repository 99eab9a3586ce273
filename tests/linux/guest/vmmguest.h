/* tests/linux/guest/vmmguest.h: the test programs of the Linux guests'
 * initramfs, one static binary (scripts/mkinitramfs.sh builds it with the
 * host's gcc, -static) that runs as the program its name says (vmm-verify,
 * vmm-counter, vmm-forkid, vmm-exit: links to it), and what they share:
 * the VMM's ports (include/vmm_abi.h), reached from Linux user space
 * through /dev/port (root, as /init runs them).
 *
 * Why /dev/port and not ioperm: the kernel makes the IN or OUT for the
 * program, at CPL 0, where no TSS I/O bitmap is looked at. A user-space
 * IN allowed by ioperm faults (#GP) in a VM restored in the test VM:
 * QEMU 7.2's TCG grants it only while TR's cached type is "available
 * TSS" (9), and KVM_GET_SREGS reports the busy type (11), which the
 * restored vCPU then has. /dev/port reads a byte at a time; the fork
 * identity port serves that (vmm_abi.h).
 */
#ifndef VMM_GUEST_LINUX_H
#define VMM_GUEST_LINUX_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "vmm_abi.h"

/* /dev/port, opened once; -1 where it cannot be. */
static inline int vmmguest_port_fd(void)
{
	static int fd = -2;

	if (fd == -2)
		fd = open("/dev/port", O_RDWR | O_CLOEXEC);
	return fd;
}

/* The fork identity, (generation << 16) | index; 0 for a booted VM; -1
 * where the port cannot be reached (not root, no /dev/port). */
static inline int64_t vmmguest_forkid(void)
{
	uint32_t v;
	int fd = vmmguest_port_fd();

	if (fd < 0 || pread(fd, &v, sizeof(v), VMM_PORT_FORKID) != sizeof(v))
		return -1;
	return v;
}

static inline void vmmguest_fork_line(int64_t id)
{
	printf("FORK generation=%u index=%u\n", (unsigned)(id >> 16), (unsigned)(id & 0xffff));
	fflush(stdout);
}

static inline uint64_t vmmguest_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int vmm_verify(int argc, char **argv);
int vmm_counter(int argc, char **argv);
int vmm_forkid(int argc, char **argv);
int vmm_exit(int argc, char **argv);

#endif
