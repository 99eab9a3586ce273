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
/* Give the vCPU the CPUID leaves that KVM supports; normalised, as an
 * operating system expects of a machine of one CPU per package whose
 * vCPU v->id is the APIC ID: the APIC ID in leaves 1, 0xb and 0x1f, one
 * logical processor, one core (leaves 4 and 0x80000008), the hypervisor
 * bit and the TSC-deadline timer where KVM emulates it, and no
 * asynchronous page faults (KVM_FEATURE_ASYNC_PF*: they would move the
 * wait for a second-level fault from the vCPU into a KVM worker, which
 * the VMM's pause and stop know nothing of). */
int vcpu_set_cpuid(struct vcpu *v, const struct kvm *k, bool normalise);
/* PVH entry state: 32-bit protected mode, paging off, %ebx = start info. */
int vcpu_reset_pvh(struct vcpu *v, uint64_t entry, uint64_t start_info);

/* The 64-bit Linux boot protocol's entry: long mode, paging on (cr3),
 * flat code and data from the GDT at gdt_base, interrupts off. */
struct vcpu_long_entry {
	uint64_t rip, rsi, cr3, gdt_base;
	uint16_t gdt_limit, code_sel, data_sel;
};
int vcpu_reset_long(struct vcpu *v, const struct vcpu_long_entry *e);
/* Guest TSC frequency in Hz, or 0 if KVM cannot say. */
uint64_t vcpu_tsc_hz(const struct vcpu *v, const struct kvm *k);
/* RIP for crash reports; 0 if it cannot be read. */
uint64_t vcpu_rip(const struct vcpu *v);

#endif
