/* vmm/vcpu_state.h: everything KVM needs to resume a vCPU elsewhere.
 *
 * vcpu_state_save() reads a vCPU that is out of KVM_RUN with its last exit
 * complete: a vCPU parked by vm_pause() is (vm_run.c settles it before it
 * parks); one driven by hand calls vcpu_settle() first. After an I/O exit
 * KVM leaves RIP on the instruction until the next KVM_RUN completes it, so
 * a state saved unsettled would repeat the instruction when restored.
 *
 * The parts, each read with what this KVM has (probed in kvm.c):
 *   regs        KVM_GET_REGS
 *   sregs       KVM_GET_SREGS2 (with the PAE PDPTRs), else KVM_GET_SREGS;
 *               they carry EFER and APIC_BASE, which are no MSRs here
 *   fpu         KVM_GET_XSAVE2 (its size from KVM_CAP_XSAVE2), else
 *               KVM_GET_XSAVE (4096 bytes), else KVM_GET_FPU
 *   xcrs        KVM_GET_XCRS (XCR0)
 *   msrs        every MSR of KVM_GET_MSR_INDEX_LIST (what KVM itself calls
 *               the vCPU's state: SYSCALL and SYSENTER MSRs, KERNEL_GS_BASE,
 *               TSC, TSC_AUX, PAT, MISC_ENABLE, the paravirtual, PMU and
 *               nested ones it emulates), and the MTRRs, which the list
 *               leaves out; of those, the ones this vCPU can read. Hyper-V's
 *               run and reference times are among them, but KVM ignores
 *               a write of its clocks: a guest given Hyper-V's CPUID (not
 *               ours) would see them start again
 *   lapic       KVM_GET_LAPIC, where the VM has an in-kernel irqchip
 *   events      KVM_GET_VCPU_EVENTS: pending exception, interrupt, NMI, SMI
 *   mp_state    KVM_GET_MP_STATE
 *   debugregs   KVM_GET_DEBUGREGS
 *
 * vcpu_state_restore() sets them on a vCPU that has not run, of a VM whose
 * memory is in place (paravirtual MSRs name guest pages), created with the
 * same CPUID (vcpu_set_cpuid on the same host), with an irqchip if the
 * saved vCPU had a LAPIC. The order is in vcpu_state.c, with its reasons.
 *
 * As bytes (vcpu_state_to_bytes):
 *   u32 magic VCPU_STATE_MAGIC, u32 version VCPU_STATE_VERSION, u32 parts
 *   then each part present, in the order of the bits: u32 length, bytes
 * The bytes of a part are KVM's own structure (x86-64 Linux ABI: fixed
 * layout, little-endian); msrs are a u32 count and that many
 * struct kvm_msr_entry. vcpu_state_from_bytes() checks every length, count,
 * flag and reserved field; the register values themselves KVM checks when
 * restore sets them.
 */
#ifndef VMM_VCPU_STATE_H
#define VMM_VCPU_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "kvm.h"
#include "vcpu.h"

#define VCPU_STATE_MAGIC     0x55504356u /* "VCPU" */
#define VCPU_STATE_VERSION   1
#define VCPU_STATE_MAX_MSRS  512
#define VCPU_STATE_XSAVE_MAX 16384 /* AMX's tiles need 11008 */

enum vcpu_state_part {
	VCPU_STATE_REGS = 1u << 0,
	VCPU_STATE_SREGS = 1u << 1,
	VCPU_STATE_SREGS2 = 1u << 2,
	VCPU_STATE_FPU = 1u << 3,
	VCPU_STATE_XSAVE = 1u << 4,
	VCPU_STATE_XCRS = 1u << 5,
	VCPU_STATE_MSRS = 1u << 6,
	VCPU_STATE_LAPIC = 1u << 7,
	VCPU_STATE_EVENTS = 1u << 8,
	VCPU_STATE_MP_STATE = 1u << 9,
	VCPU_STATE_DEBUGREGS = 1u << 10,
	VCPU_STATE_ALL_PARTS = (1u << 11) - 1,
};

struct vcpu_state {
	uint32_t parts; /* enum vcpu_state_part: which fields below hold state */
	struct kvm_regs regs;
	struct kvm_sregs sregs;	  /* VCPU_STATE_SREGS: a KVM without SREGS2 */
	struct kvm_sregs2 sregs2; /* VCPU_STATE_SREGS2 */
	struct kvm_fpu fpu;	  /* VCPU_STATE_FPU: a KVM without XSAVE */
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	struct kvm_debugregs debugregs;
	uint32_t nr_msrs;
	struct kvm_msr_entry msrs[VCPU_STATE_MAX_MSRS];
	uint32_t xsave_len; /* VCPU_STATE_XSAVE: bytes of xsave */
	uint8_t xsave[VCPU_STATE_XSAVE_MAX] __attribute__((aligned(64)));
};

/* Complete the vCPU's last exit without running guest code (KVM_RUN with
 * immediate_exit): 0, 1 if that made an exit (in v->run) the caller must
 * handle first, or -errno. */
int vcpu_settle(struct vcpu *v);
/* 0 or -errno with a message naming the ioctl. */
int vcpu_state_save(const struct vcpu *v, const struct kvm *k, struct vcpu_state *st);
int vcpu_state_restore(struct vcpu *v, const struct kvm *k, const struct vcpu_state *st);
/* The value of an MSR in st; -ENOENT if it was not saved. */
int vcpu_state_msr(const struct vcpu_state *st, uint32_t index, uint64_t *value);

/* 0 or -ENOSPC; *used = bytes needed, either way. */
int vcpu_state_to_bytes(const struct vcpu_state *st, void *buf, size_t len, size_t *used);
/* 0, or -EINVAL with err naming the part and field and what was expected. */
int vcpu_state_from_bytes(struct vcpu_state *st, const void *buf, size_t len, char *err,
			  size_t errlen);

#endif
