/* ept/uffd.h: userfaultfd, the delivery of second-level faults.
 *
 * Thin wrappers that turn each ioctl into 0 or -errno. Features are probed
 * on a throwaway descriptor first, since UFFDIO_API can be called only once
 * per descriptor; constants newer than the installed headers are defined
 * here under #ifndef.
 */
#ifndef EPT_UFFD_H
#define EPT_UFFD_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/userfaultfd.h>

#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif
#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1)
#endif

struct uffd {
	int fd;
	uint64_t features; /* granted by UFFDIO_API */
	uint64_t ioctls;   /* allowed on the registered range */
	const char *via;   /* how it was opened: "syscall" or "/dev/userfaultfd" */
};

/* Features the running kernel offers, or -errno: -EPERM when neither
 * userfaultfd(2) nor /dev/userfaultfd is permitted to this user. */
int64_t uffd_probe_features(void);
/* Open a descriptor asking for features (a subset of what the probe said). */
int uffd_open(struct uffd *u, uint64_t features);
void uffd_close(struct uffd *u);
/* Register [addr, addr + len) for the faults of modes
 * (UFFDIO_REGISTER_MODE_*: MISSING, MINOR for a page the store holds but
 * the view does not map, WP): registering a range registered already
 * replaces its modes. */
int uffd_register_modes(struct uffd *u, void *addr, uint64_t len, uint64_t modes);
/* Unregister [addr, addr + len): every thread waiting on a fault there
 * wakes and the kernel serves its retry, the one way to release a thread
 * that a signal cannot interrupt (KVM on 6.1 waits uninterruptibly). */
int uffd_unregister(struct uffd *u, void *addr, uint64_t len);
bool uffd_can(const struct uffd *u, int ioctl_nr); /* _UFFDIO_COPY, ... */

/* Fill [addr, addr + len) with a copy of src, and wake the faulting thread
 * unless dont_wake. Returns 0, or -EEXIST (with *done bytes filled before
 * the first page that already existed), or another -errno. */
int uffd_copy(struct uffd *u, uint64_t addr, const void *src, uint64_t len, bool dont_wake,
	      uint64_t *done);
int uffd_wake(struct uffd *u, uint64_t addr, uint64_t len);
/* Map the store's pages behind [addr, addr + len) into the view (MINOR
 * faults); like uffd_copy for -EEXIST and *done. */
int uffd_continue(struct uffd *u, uint64_t addr, uint64_t len, bool dont_wake, uint64_t *done);
/* The same, mapped write-protected, and the faulting thread woken: one
 * ioctl where 6.1 needs three. -EINVAL on kernels before 6.4 (no
 * UFFDIO_CONTINUE_MODE_WP). */
int uffd_continue_wp(struct uffd *u, uint64_t addr, uint64_t len, uint64_t *done);
/* Write-protect [addr, addr + len) (wp), or lift the protection, which
 * wakes threads waiting on a write there unless dont_wake. Pages the view
 * does not map are left alone (6.1 has no WP_UNPOPULATED). */
int uffd_writeprotect(struct uffd *u, uint64_t addr, uint64_t len, bool wp, bool dont_wake);

#endif
