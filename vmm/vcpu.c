/* vmm/vcpu.c: virtual CPU set-up, see vcpu.h. */
#include "vcpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"

int vcpu_create(struct vcpu *v, const struct kvm *k, int vm_fd, int id)
{
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->stats_fd = -1;
	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return err_sys("vcpu", "KVM_CREATE_VCPU");
	v->run_size = k->run_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int ret = err_sys("vcpu", "mmap kvm_run");

		v->run = NULL;
		vcpu_destroy(v);
		return ret;
	}
	if (k->has_binary_stats)
		v->stats_fd = ioctl(v->fd, KVM_GET_STATS_FD, 0);
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->stats_fd >= 0)
		close(v->stats_fd);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = v->stats_fd = -1;
}

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR	 (1u << 31)
#define KVM_CPUID_FEATURES_LEAF	 0x40000001
#define KVM_FEATURE_ASYNC_PF_ALL ((1u << 4) | (1u << 10) | (1u << 14)) /* and _VMEXIT, _INT */

static void vcpu_normalise_leaf(struct kvm_cpuid_entry2 *e, const struct vcpu *v,
				const struct kvm *k)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0xffff) | (uint32_t)v->id << 24 | 1u << 16;
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (kvm_check(k, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
			e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
		break;
	case 4: /* cache: shared by one thread, one core per package */
		e->eax &= 0x3fff;
		break;
	case 0xb:
	case 0x1f:
		e->edx = (uint32_t)v->id;
		break;
	case KVM_CPUID_FEATURES_LEAF:
		e->eax &= ~KVM_FEATURE_ASYNC_PF_ALL;
		break;
	case 0x80000008:
		e->ecx &= ~0xffu; /* one core */
		break;
	}
}

/* KVM's supported leaves, as many as there are: allocated, 0 or -errno. */
static int vcpu_supported_cpuid(const struct kvm *k, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *cpuid;
	int nent = 128; /* 75 leaves here: one ioctl, not two */

	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return -ENOMEM;
		cpuid->nent = nent;
		if (ioctl(k->fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		free(cpuid);
		if (errno != E2BIG || nent >= 4096)
			return err_sys("/dev/kvm", "KVM_GET_SUPPORTED_CPUID");
		nent *= 2;
	}
	*out = cpuid;
	return 0;
}

int vcpu_set_cpuid(struct vcpu *v, const struct kvm *k, bool normalise)
{
	struct kvm_cpuid2 *cpuid = NULL;
	int ret = vcpu_supported_cpuid(k, &cpuid);

	if (ret)
		return ret;
	for (uint32_t i = 0; normalise && i < cpuid->nent; i++)
		vcpu_normalise_leaf(&cpuid->entries[i], v, k);
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0)
		ret = err_sys("vcpu", "KVM_SET_CPUID2");
	free(cpuid);
	return ret;
}

static void vcpu_flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

int vcpu_reset_pvh(struct vcpu *v, uint64_t entry, uint64_t start_info)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return err_sys("vcpu", "KVM_GET_SREGS");
	/* PVH: flat 32-bit code and data, protected mode, paging off. */
	vcpu_flat_segment(&sregs.cs, 0x10, 0xb);
	vcpu_flat_segment(&sregs.ds, 0x18, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	vcpu_flat_segment(&sregs.tr, 0x20, 0xb);
	sregs.tr.s = 0;
	sregs.tr.limit = 0x67;
	sregs.tr.g = 0;
	sregs.cr0 = 0x11; /* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return err_sys("vcpu", "KVM_SET_SREGS");

	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rbx = start_info;
	regs.rflags = 0x2;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return err_sys("vcpu", "KVM_SET_REGS");
	return 0;
}

int vcpu_reset_long(struct vcpu *v, const struct vcpu_long_entry *e)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return err_sys("vcpu", "KVM_GET_SREGS");
	vcpu_flat_segment(&sregs.cs, e->code_sel, 0xb);
	sregs.cs.db = 0;
	sregs.cs.l = 1;
	vcpu_flat_segment(&sregs.ds, e->data_sel, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = e->gdt_base;
	sregs.gdt.limit = e->gdt_limit;
	sregs.cr3 = e->cr3;
	sregs.cr4 = 0x20;	/* PAE */
	sregs.cr0 = 0x80000011; /* PG | ET | PE */
	sregs.efer = 0x500;	/* LMA | LME */
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return err_sys("vcpu", "KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = e->rip;
	regs.rsi = e->rsi;
	regs.rflags = 0x2;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return err_sys("vcpu", "KVM_SET_REGS");
	return 0;
}

uint64_t vcpu_tsc_hz(const struct vcpu *v, const struct kvm *k)
{
	int khz;

	if (!k->has_tsc_khz)
		return 0;
	khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	return khz > 0 ? (uint64_t)khz * 1000 : 0;
}

uint64_t vcpu_rip(const struct vcpu *v)
{
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}
