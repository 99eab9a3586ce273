/* vmm/vcpu.h: one virtual CPU.
 *
 * Per-vCPU state lives here so that more vCPUs are a loop, not a rewrite.
 * Saving and restoring what KVM holds of a vCPU is vcpu_state.h.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "kvm.h"

struct vcpu {
	int id;
	int fd;
	int stats_fd; /* KVM binary statistics, -1 if unsupported */
	struct kvm_run *run;
	int run_size;
	pthread_t thread; /* runs the vCPU's loop (vm_run.c) */
	bool thread_started;
};

int vcpu_create(struct vcpu *v, const struct kvm *k, int vm_fd, int id);
void vcpu_destroy(struct vcpu *v);
/* Give the vCPU the CPUID leaves that KVM supports. */
int vcpu_set_cpuid(struct vcpu *v, const struct kvm *k);
/* PVH entry state: 32-bit protected mode, paging off, %ebx = start info. */
int vcpu_reset_pvh(struct vcpu *v, uint64_t entry, uint64_t start_info);
/* Guest TSC frequency in Hz, or 0 if KVM cannot say. */
uint64_t vcpu_tsc_hz(const struct vcpu *v, const struct kvm *k);
/* RIP for crash reports; 0 if it cannot be read. */
uint64_t vcpu_rip(const struct vcpu *v);

#endif
