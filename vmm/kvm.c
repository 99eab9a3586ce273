/* vmm/kvm.c: /dev/kvm handle, see kvm.h. */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "err.h"

int kvm_check(const struct kvm *k, long cap)
{
	int r = ioctl(k->fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static int kvm_open_fd(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return err_errno(ENOENT, path,
				 "not found: is KVM enabled (modprobe kvm_intel or kvm_amd)?");
	if (errno == EACCES)
		return err_errno(EACCES, path,
				 "permission denied: run as root or join the kvm group");
	return err_sys(path, "open");
}

static void kvm_probe_state(struct kvm *k)
{
	int xsave2 = kvm_check(k, KVM_CAP_XSAVE2); /* the size KVM_GET_XSAVE2 writes */

	k->has_sregs2 = kvm_check(k, KVM_CAP_SREGS2) > 0;
	k->has_xsave2 = xsave2 >= (int)sizeof(struct kvm_xsave);
	k->xsave_size = k->has_xsave2			  ? (unsigned)xsave2
			: kvm_check(k, KVM_CAP_XSAVE) > 0 ? sizeof(struct kvm_xsave)
							  : 0;
	k->has_xcrs = kvm_check(k, KVM_CAP_XCRS) > 0;
	k->has_vcpu_events = kvm_check(k, KVM_CAP_VCPU_EVENTS) > 0;
	k->has_mp_state = kvm_check(k, KVM_CAP_MP_STATE) > 0;
	k->has_debugregs = kvm_check(k, KVM_CAP_DEBUGREGS) > 0;
}

int kvm_open(struct kvm *k, const char *path)
{
	int ret, version;

	k->fd = kvm_open_fd(path);
	if (k->fd < 0)
		return k->fd;
	version = ioctl(k->fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		ret = err_errno(ENOTSUP, path, "KVM API version %d: expected %d", version,
				KVM_API_VERSION);
		goto fail;
	}
	if (!kvm_check(k, KVM_CAP_USER_MEMORY) || !kvm_check(k, KVM_CAP_EXT_CPUID)) {
		ret = err_errno(ENOTSUP, path,
				"KVM lacks user memory slots or KVM_GET_SUPPORTED_CPUID");
		goto fail;
	}
	k->run_size = ioctl(k->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size < (int)sizeof(struct kvm_run)) {
		ret = err_sys(path, "KVM_GET_VCPU_MMAP_SIZE");
		goto fail;
	}
	k->has_tss_addr = kvm_check(k, KVM_CAP_SET_TSS_ADDR) > 0;
	k->has_identity_map_addr = kvm_check(k, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0;
	k->has_tsc_khz = kvm_check(k, KVM_CAP_GET_TSC_KHZ) > 0;
	k->has_binary_stats = kvm_check(k, KVM_CAP_BINARY_STATS_FD) > 0;
	k->has_immediate_exit = kvm_check(k, KVM_CAP_IMMEDIATE_EXIT) > 0;
	kvm_probe_state(k);
	return 0;
fail:
	close(k->fd);
	k->fd = -1;
	return ret;
}

void kvm_close(struct kvm *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}
