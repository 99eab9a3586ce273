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

struct kvm {
	int fd;
	int run_size; /* bytes of each vCPU's struct kvm_run mapping */
	bool has_tss_addr;
	bool has_identity_map_addr;
	bool has_tsc_khz;
	bool has_binary_stats;
	bool has_immediate_exit;
};

/* Open /dev/kvm (or path) and probe it: 0 or -errno with a message. */
int kvm_open(struct kvm *k, const char *path);
void kvm_close(struct kvm *k);
int kvm_check(const struct kvm *k, long cap); /* > 0 if supported */

#endif
