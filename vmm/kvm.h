/* vmm/kvm.h: the /dev/kvm handle and what it can do.
 *
 * Capabilities are probed once with KVM_CHECK_EXTENSION; nothing is assumed.
 * The installed headers may be older than the running kernel, so newer
 * constants are defined here under #ifndef.
 */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <stdbool.h>
#include <linux/kvm.h>

#ifndef KVM_CAP_BINARY_STATS_FD
#define KVM_CAP_BINARY_STATS_FD 203
#endif
#ifndef KVM_GET_STATS_FD
#define KVM_GET_STATS_FD _IO(KVMIO, 0xce)
#endif
#ifndef KVM_CAP_SREGS2
#define KVM_CAP_SREGS2 200
#endif
#ifndef KVM_CAP_XSAVE2
#define KVM_CAP_XSAVE2 208
#endif
#ifndef KVM_GET_XSAVE2
#define KVM_GET_XSAVE2 _IOR(KVMIO, 0xcf, struct kvm_xsave)
#endif

struct kvm {
	int fd;
	int run_size; /* bytes of each vCPU's struct kvm_run mapping */
	bool has_tss_addr;
	bool has_identity_map_addr;
	bool has_tsc_khz;
	bool has_binary_stats;
	bool has_immediate_exit;
	/* What a vCPU's state is read with (vcpu_state.h). */
	bool has_sregs2;     /* KVM_GET_SREGS2 (5.14+), else KVM_GET_SREGS */
	unsigned xsave_size; /* bytes of KVM_GET_XSAVE2 (5.17+) or 4096 for KVM_GET_XSAVE; 0:
				KVM_GET_FPU */
	bool has_xsave2;
	bool has_xcrs, has_vcpu_events, has_mp_state, has_debugregs;
};

/* Open /dev/kvm (or path) and probe it: 0 or -errno with a message. */
int kvm_open(struct kvm *k, const char *path);
void kvm_close(struct kvm *k);
int kvm_check(const struct kvm *k, long cap); /* > 0 if supported */

#endif
