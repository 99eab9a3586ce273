/* ept/uffd.c: userfaultfd wrappers, see uffd.h. */
#include "uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

/* userfaultfd(2), or where the sysctl vm.unprivileged_userfaultfd=0 refuses
 * it to a user without CAP_SYS_PTRACE, the device /dev/userfaultfd (Linux
 * 6.1+), whose file permissions decide instead. *via says which. */
static int uffd_new_fd(const char **via)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), dev, err;

	*via = "syscall";
	if (fd >= 0)
		return fd;
	if (errno != EPERM)
		return -errno;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -EPERM; /* the caller's message names both ways */
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	err = errno;
	close(dev);
	*via = "/dev/userfaultfd";
	return fd < 0 ? -err : fd;
}

int64_t uffd_probe_features(void)
{
	struct uffdio_api api = {.api = UFFD_API};
	const char *via;
	int fd = uffd_new_fd(&via);
	int64_t ret;

	if (fd < 0)
		return fd;
	ret = ioctl(fd, UFFDIO_API, &api) < 0 ? -errno : (int64_t)api.features;
	close(fd);
	return ret;
}

int uffd_open(struct uffd *u, uint64_t features)
{
	struct uffdio_api api = {.api = UFFD_API, .features = features};

	memset(u, 0, sizeof(*u));
	u->fd = uffd_new_fd(&u->via);
	if (u->fd < 0)
		return u->fd;
	if (ioctl(u->fd, UFFDIO_API, &api) < 0) {
		int ret = -errno;

		uffd_close(u);
		return ret;
	}
	u->features = api.features;
	return 0;
}

void uffd_close(struct uffd *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

int uffd_register_modes(struct uffd *u, void *addr, uint64_t len, uint64_t modes)
{
	struct uffdio_register reg = {.range = {.start = (uintptr_t)addr, .len = len},
				      .mode = modes};

	if (ioctl(u->fd, UFFDIO_REGISTER, &reg) < 0)
		return -errno;
	u->ioctls = reg.ioctls;
	return 0;
}

int uffd_unregister(struct uffd *u, void *addr, uint64_t len)
{
	struct uffdio_range r = {.start = (uintptr_t)addr, .len = len};

	return ioctl(u->fd, UFFDIO_UNREGISTER, &r) < 0 ? -errno : 0;
}

bool uffd_can(const struct uffd *u, int ioctl_nr)
{
	return u->ioctls & (1ULL << ioctl_nr);
}

/* The kernel reports progress in a field that is negative on error. */
static int uffd_result(int r, int64_t progress, uint64_t *done)
{
	if (done)
		*done = progress > 0 ? (uint64_t)progress : 0;
	return r < 0 ? -errno : 0;
}

int uffd_copy(struct uffd *u, uint64_t addr, const void *src, uint64_t len, bool dont_wake,
	      uint64_t *done)
{
	struct uffdio_copy c = {
	    .dst = addr,
	    .src = (uintptr_t)src,
	    .len = len,
	    .mode = dont_wake ? UFFDIO_COPY_MODE_DONTWAKE : 0,
	};
	int r = ioctl(u->fd, UFFDIO_COPY, &c);

	return uffd_result(r, c.copy, done);
}

int uffd_wake(struct uffd *u, uint64_t addr, uint64_t len)
{
	struct uffdio_range r = {.start = addr, .len = len};

	return ioctl(u->fd, UFFDIO_WAKE, &r) < 0 ? -errno : 0;
}

int uffd_continue(struct uffd *u, uint64_t addr, uint64_t len, bool dont_wake, uint64_t *done)
{
	struct uffdio_continue c = {
	    .range = {.start = addr, .len = len},
	    .mode = dont_wake ? UFFDIO_CONTINUE_MODE_DONTWAKE : 0,
	};
	int r = ioctl(u->fd, UFFDIO_CONTINUE, &c);

	return uffd_result(r, c.mapped, done);
}

int uffd_continue_wp(struct uffd *u, uint64_t addr, uint64_t len, uint64_t *done)
{
	struct uffdio_continue c = {
	    .range = {.start = addr, .len = len},
	    .mode = UFFDIO_CONTINUE_MODE_WP,
	};
	int r = ioctl(u->fd, UFFDIO_CONTINUE, &c);

	return uffd_result(r, c.mapped, done);
}

int uffd_writeprotect(struct uffd *u, uint64_t addr, uint64_t len, bool wp, bool dont_wake)
{
	struct uffdio_writeprotect w = {
	    .range = {.start = addr, .len = len},
	    .mode = (wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0) |
		    (dont_wake ? UFFDIO_WRITEPROTECT_MODE_DONTWAKE : 0),
	};

	return ioctl(u->fd, UFFDIO_WRITEPROTECT, &w) < 0 ? -errno : 0;
}
