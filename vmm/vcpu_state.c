/* vmm/vcpu_state.c: a vCPU's state, saved, restored and as bytes; see vcpu_state.h. */
#include "vcpu_state.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "devstate.h"
#include "err.h"

#define MSR_IA32_TSC	      0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0
#ifndef KVM_VCPU_TSC_CTRL
#define KVM_VCPU_TSC_CTRL   0
#define KVM_VCPU_TSC_OFFSET 0
#endif

/* MSRs a guest can write that KVM_GET_MSR_INDEX_LIST leaves out (the MTRRs),
 * and the ones this VMM promises to carry, in case a KVM's list lacks them. */
static const uint32_t vcpu_state_extra_msrs[] = {
    0x2ff,			   /* MTRRdefType */
    0x250,	0x258,	    0x259, /* fixed MTRRs */
    0x268,	0x269,	    0x26a,	0x26b,	    0x26c, 0x26d, 0x26e, 0x26f, 0x200,
    0x201,	0x202,	    0x203,	0x204,	    0x205, 0x206, 0x207, /* variable MTRRs */
    0x208,	0x209,	    0x20a,	0x20b,	    0x20c, 0x20d, 0x20e, 0x20f, 0x10, /* TSC */
    0x174,	0x175,	    0x176,		    /* SYSENTER_CS, _ESP, _EIP */
    0x1a0,					    /* MISC_ENABLE */
    0x277,					    /* PAT */
    0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR, LSTAR, CSTAR, SFMASK */
    0xc0000102, 0xc0000103,			    /* KERNEL_GS_BASE, TSC_AUX */
};

/* An ioctl of v failed, errno says why: -errno. */
static int vcpu_state_sys(const struct vcpu *v, const char *name)
{
	char what[32];

	snprintf(what, sizeof(what), "vCPU %d", v->id);
	return err_sys(what, name);
}

static int vcpu_state_ioctl(const struct vcpu *v, unsigned long req, void *arg, const char *name)
{
	return ioctl(v->fd, req, arg) < 0 ? vcpu_state_sys(v, name) : 0;
}

int vcpu_settle(struct vcpu *v)
{
	uint8_t was = v->run->immediate_exit;
	int ret = 0;

	v->run->immediate_exit = 1;
	if (ioctl(v->fd, KVM_RUN, 0) == 0)
		ret = 1; /* completing a rep string made its next exit */
	else if (errno != EINTR)
		ret = vcpu_state_sys(v, "KVM_RUN (immediate_exit)");
	v->run->immediate_exit = was;
	return ret;
}

/* --- Which MSRs ---------------------------------------------------------- */

/* KVM's list of MSRs to save, with the extras after it, each once. */
static int vcpu_state_msr_list(const struct kvm *k, uint32_t *out, uint32_t *nr)
{
	struct kvm_msr_list probe = {.nmsrs = 0}, *list;
	uint32_t n = 0;

	if (ioctl(k->fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return err_sys("/dev/kvm", "KVM_GET_MSR_INDEX_LIST");
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	if (ioctl(k->fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		return err_sys("/dev/kvm", "KVM_GET_MSR_INDEX_LIST");
	}
	if (list->nmsrs > VCPU_STATE_MAX_MSRS) {
		free(list);
		return err_errno(E2BIG, "/dev/kvm", "KVM lists %u MSRs to save: more than %d",
				 probe.nmsrs, VCPU_STATE_MAX_MSRS);
	}
	for (uint32_t i = 0; i < list->nmsrs; i++)
		out[n++] = list->indices[i];
	for (size_t i = 0; i < sizeof(vcpu_state_extra_msrs) / sizeof(vcpu_state_extra_msrs[0]);
	     i++) {
		uint32_t j = 0;

		while (j < n && out[j] != vcpu_state_extra_msrs[i])
			j++;
		if (j == n && n < VCPU_STATE_MAX_MSRS)
			out[n++] = vcpu_state_extra_msrs[i];
	}
	free(list);
	*nr = n;
	return 0;
}

/* The MSRs of list this vCPU can read: KVM_GET_MSRS stops at the first it
 * cannot (one the vCPU's CPUID lacks), which is skipped. */
static int vcpu_state_get_msrs(const struct vcpu *v, const uint32_t *list, uint32_t n,
			       struct vcpu_state *st)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));
	uint32_t i = 0;
	int got, ret = 0;

	if (!m)
		return -ENOMEM;
	st->nr_msrs = 0;
	while (i < n) {
		m->nmsrs = n - i;
		for (uint32_t j = 0; j < m->nmsrs; j++)
			m->entries[j] = (struct kvm_msr_entry){.index = list[i + j]};
		got = ioctl(v->fd, KVM_GET_MSRS, m);
		if (got < 0) {
			ret = vcpu_state_sys(v, "KVM_GET_MSRS");
			break;
		}
		memcpy(&st->msrs[st->nr_msrs], m->entries, got * sizeof(m->entries[0]));
		st->nr_msrs += got;
		i += got + 1; /* past the unreadable one */
	}
	free(m);
	return ret;
}

/* --- Save ---------------------------------------------------------------- */

static int vcpu_state_get_fpu(const struct vcpu *v, const struct kvm *k, struct vcpu_state *st)
{
	if (!k->xsave_size) {
		st->parts |= VCPU_STATE_FPU;
		return vcpu_state_ioctl(v, KVM_GET_FPU, &st->fpu, "KVM_GET_FPU");
	}
	if (k->xsave_size > VCPU_STATE_XSAVE_MAX)
		return err_errno(E2BIG, "vcpu state", "KVM's XSAVE area is %u bytes: more than %d",
				 k->xsave_size, VCPU_STATE_XSAVE_MAX);
	st->parts |= VCPU_STATE_XSAVE;
	st->xsave_len = k->xsave_size;
	if (k->has_xsave2)
		return vcpu_state_ioctl(v, KVM_GET_XSAVE2, st->xsave, "KVM_GET_XSAVE2");
	return vcpu_state_ioctl(v, KVM_GET_XSAVE, st->xsave, "KVM_GET_XSAVE");
}

/* Without an in-kernel irqchip KVM has no LAPIC to give: no part then. */
static int vcpu_state_get_lapic(const struct vcpu *v, struct vcpu_state *st)
{
	if (ioctl(v->fd, KVM_GET_LAPIC, &st->lapic) < 0)
		return errno == EINVAL || errno == ENXIO ? 0 : vcpu_state_sys(v, "KVM_GET_LAPIC");
	st->parts |= VCPU_STATE_LAPIC;
	return 0;
}

/* The parts each KVM has: one ioctl and one flag. */
struct vcpu_state_simple {
	uint32_t part;
	size_t offset;
	unsigned long get, set;
	const char *get_name, *set_name;
};

#define VCPU_SIMPLE(part, field, get, set)                                                         \
	{                                                                                          \
		part, offsetof(struct vcpu_state, field), get, set, #get, #set                     \
	}

static const struct vcpu_state_simple vcpu_state_simple[] = {
    VCPU_SIMPLE(VCPU_STATE_XCRS, xcrs, KVM_GET_XCRS, KVM_SET_XCRS),
    VCPU_SIMPLE(VCPU_STATE_EVENTS, events, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS),
    VCPU_SIMPLE(VCPU_STATE_MP_STATE, mp_state, KVM_GET_MP_STATE, KVM_SET_MP_STATE),
    VCPU_SIMPLE(VCPU_STATE_DEBUGREGS, debugregs, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS),
};

static const struct vcpu_state_simple *vcpu_state_find_simple(uint32_t part)
{
	for (size_t i = 0; i < sizeof(vcpu_state_simple) / sizeof(vcpu_state_simple[0]); i++)
		if (vcpu_state_simple[i].part == part)
			return &vcpu_state_simple[i];
	return NULL;
}

static uint32_t vcpu_state_simple_parts(const struct kvm *k)
{
	return (k->has_xcrs ? VCPU_STATE_XCRS : 0) | (k->has_vcpu_events ? VCPU_STATE_EVENTS : 0) |
	       (k->has_mp_state ? VCPU_STATE_MP_STATE : 0) |
	       (k->has_debugregs ? VCPU_STATE_DEBUGREGS : 0);
}

static int vcpu_state_get_simple(const struct vcpu *v, uint32_t part, struct vcpu_state *st)
{
	const struct vcpu_state_simple *s = vcpu_state_find_simple(part);

	st->parts |= part;
	return vcpu_state_ioctl(v, s->get, (char *)st + s->offset, s->get_name);
}

int vcpu_state_save(const struct vcpu *v, const struct kvm *k, struct vcpu_state *st)
{
	uint32_t *list = malloc(VCPU_STATE_MAX_MSRS * sizeof(*list)), nr = 0;
	uint32_t simple = vcpu_state_simple_parts(k);
	int ret;

	if (!list)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	st->parts = VCPU_STATE_REGS | VCPU_STATE_MSRS;
	ret = vcpu_state_ioctl(v, KVM_GET_REGS, &st->regs, "KVM_GET_REGS");
	if (!ret && k->has_sregs2) {
		st->parts |= VCPU_STATE_SREGS2;
		ret = vcpu_state_ioctl(v, KVM_GET_SREGS2, &st->sregs2, "KVM_GET_SREGS2");
	} else if (!ret) {
		st->parts |= VCPU_STATE_SREGS;
		ret = vcpu_state_ioctl(v, KVM_GET_SREGS, &st->sregs, "KVM_GET_SREGS");
	}
	if (!ret)
		ret = vcpu_state_get_fpu(v, k, st);
	for (uint32_t part = 1; !ret && part <= VCPU_STATE_ALL_PARTS; part <<= 1)
		if (simple & part)
			ret = vcpu_state_get_simple(v, part, st);
	if (!ret)
		ret = vcpu_state_msr_list(k, list, &nr);
	if (!ret)
		ret = vcpu_state_get_msrs(v, list, nr, st);
	if (!ret)
		ret = vcpu_state_get_lapic(v, st);
	free(list);
	return ret;
}

int vcpu_state_msr(const struct vcpu_state *st, uint32_t index, uint64_t *value)
{
	for (uint32_t i = 0; i < st->nr_msrs; i++)
		if (st->msrs[i].index == index) {
			*value = st->msrs[i].data;
			return 0;
		}
	return -ENOENT;
}

/* --- Restore ------------------------------------------------------------- */

/* sregs2 on a KVM without it: the PDPTRs are dropped (KVM reads them from
 * guest memory, as a CPU does) and no interrupt is pending here, since
 * SREGS2 leaves that to the events. */
static void vcpu_state_sregs_from2(const struct kvm_sregs2 *s2, struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	s->cs = s2->cs, s->ds = s2->ds, s->es = s2->es, s->fs = s2->fs, s->gs = s2->gs;
	s->ss = s2->ss, s->tr = s2->tr, s->ldt = s2->ldt, s->gdt = s2->gdt, s->idt = s2->idt;
	s->cr0 = s2->cr0, s->cr2 = s2->cr2, s->cr3 = s2->cr3, s->cr4 = s2->cr4, s->cr8 = s2->cr8;
	s->efer = s2->efer;
	s->apic_base = s2->apic_base;
}

static int vcpu_state_set_sregs(struct vcpu *v, const struct kvm *k, const struct vcpu_state *st)
{
	struct kvm_sregs s;

	if (st->parts & VCPU_STATE_SREGS)
		return vcpu_state_ioctl(v, KVM_SET_SREGS, (void *)&st->sregs, "KVM_SET_SREGS");
	if (k->has_sregs2)
		return vcpu_state_ioctl(v, KVM_SET_SREGS2, (void *)&st->sregs2, "KVM_SET_SREGS2");
	vcpu_state_sregs_from2(&st->sregs2, &s);
	return vcpu_state_ioctl(v, KVM_SET_SREGS, &s, "KVM_SET_SREGS");
}

/* An area of another size than this KVM's: shorter is padded with zeros
 * (components it did not have stay in their initial state), longer only if
 * what is cut off is zeros. */
static int vcpu_state_set_xsave(struct vcpu *v, const struct kvm *k, const struct vcpu_state *st)
{
	size_t n = k->xsave_size > st->xsave_len ? k->xsave_size : st->xsave_len;
	uint8_t *area;
	int ret;

	if (!k->xsave_size)
		return err_errno(ENOTSUP, "vcpu state",
				 "the state has an XSAVE area of %u bytes; this KVM has no XSAVE",
				 st->xsave_len);
	for (size_t i = k->xsave_size; i < st->xsave_len; i++)
		if (st->xsave[i])
			return err_errno(ENOTSUP, "vcpu state",
					 "XSAVE byte %zu is set: this KVM's area has %u bytes", i,
					 k->xsave_size);
	area = aligned_alloc(64, (n + 63) & ~(size_t)63);
	if (!area)
		return -ENOMEM;
	memset(area, 0, n);
	memcpy(area, st->xsave, st->xsave_len);
	ret = vcpu_state_ioctl(v, KVM_SET_XSAVE, area, "KVM_SET_XSAVE");
	free(area);
	return ret;
}

static int vcpu_state_set_fpu(struct vcpu *v, const struct kvm *k, const struct vcpu_state *st)
{
	if (st->parts & VCPU_STATE_FPU)
		return vcpu_state_ioctl(v, KVM_SET_FPU, (void *)&st->fpu, "KVM_SET_FPU");
	return vcpu_state_set_xsave(v, k, st);
}

/* Whether the new vCPU already holds value in MSR index. Some MSRs KVM
 * reports but refuses to take back even unchanged (6.1 does so for
 * MSR_KVM_POLL_CONTROL on a vCPU whose PV features it does not enforce):
 * one that reads back as saved needs no write, and nothing is lost. */
static bool vcpu_state_msr_holds(const struct vcpu *v, uint32_t index, uint64_t value)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(m->entries[0]));
	bool holds;

	if (!m)
		return false;
	m->nmsrs = 1;
	m->entries[0].index = index;
	holds = ioctl(v->fd, KVM_GET_MSRS, m) == 1 && m->entries[0].data == value;
	free(m);
	return holds;
}

/* The saved MSRs, with or without the TSC deadline (see the order below). */
static int vcpu_state_set_msrs(struct vcpu *v, const struct vcpu_state *st, bool deadline)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + st->nr_msrs * sizeof(m->entries[0]));
	uint32_t done = 0, n;
	int set, ret = 0;

	if (!m)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->nr_msrs; i++)
		if ((st->msrs[i].index == MSR_IA32_TSC_DEADLINE) == deadline)
			m->entries[m->nmsrs++] = st->msrs[i];
	n = m->nmsrs;
	while (!ret && done < n) {
		set = ioctl(v->fd, KVM_SET_MSRS, m);
		if (set < 0)
			ret = vcpu_state_sys(v, "KVM_SET_MSRS");
		else if ((uint32_t)set < m->nmsrs &&
			 !vcpu_state_msr_holds(v, m->entries[set].index, m->entries[set].data))
			ret = err_errno(
			    EINVAL, "vcpu state",
			    "vCPU %d: KVM_SET_MSRS refused MSR %#x = %#llx (%u of %u set)", v->id,
			    m->entries[set].index, (unsigned long long)m->entries[set].data,
			    done + set, n);
		else if ((uint32_t)set < m->nmsrs) /* past the one that holds its value */
			set++;
		if (ret)
			break;
		done += set;
		memmove(m->entries, m->entries + set, (m->nmsrs - set) * sizeof(m->entries[0]));
		m->nmsrs -= set;
	}
	free(m);
	return ret;
}

static int vcpu_state_guest_tsc(const struct vcpu *v, uint64_t *tsc)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(m->entries[0]));
	int ret = 0;

	if (!m)
		return -ENOMEM;
	m->nmsrs = 1;
	m->entries[0].index = MSR_IA32_TSC;
	if (ioctl(v->fd, KVM_GET_MSRS, m) != 1)
		ret = vcpu_state_sys(v, "KVM_GET_MSRS (TSC)");
	*tsc = m->entries[0].data;
	free(m);
	return ret;
}

/* KVM takes a TSC written within a second of what it expects of a new VM
 * (its age in cycles) for vCPUs synchronising, and keeps its own: a guest
 * saved young would see its TSC go back. Where KVM has the vCPU's TSC
 * offset (5.16+), move it so that the TSC goes on from the saved value;
 * elsewhere the MSR write is all there is. */
static int vcpu_state_set_tsc(struct vcpu *v, const struct vcpu_state *st)
{
	uint64_t want, now = 0, offset = 0;
	struct kvm_device_attr a = {
	    .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET, .addr = (uintptr_t)&offset};
	int ret;

	if (vcpu_state_msr(st, MSR_IA32_TSC, &want) || ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &a) < 0)
		return 0;
	ret = vcpu_state_ioctl(v, KVM_GET_DEVICE_ATTR, &a, "KVM_GET_DEVICE_ATTR (TSC offset)");
	if (!ret)
		ret = vcpu_state_guest_tsc(v, &now);
	if (ret)
		return ret;
	offset += want - now; /* modulo 2^64: back as well as ahead */
	return vcpu_state_ioctl(v, KVM_SET_DEVICE_ATTR, &a, "KVM_SET_DEVICE_ATTR (TSC offset)");
}

static int vcpu_state_set_simple(struct vcpu *v, const struct kvm *k, const struct vcpu_state *st,
				 uint32_t part)
{
	const struct vcpu_state_simple *s = vcpu_state_find_simple(part);

	if (!(st->parts & part))
		return 0;
	if (!(vcpu_state_simple_parts(k) & part))
		return err_errno(ENOTSUP, "vcpu state",
				 "the state has what %s sets; this KVM has not", s->set_name);
	return vcpu_state_ioctl(v, s->set, (char *)st + s->offset, s->set_name);
}

/* Asked first: without a LAPIC, KVM refuses the MSRs that name one
 * (ASYNC_PF_INT) before the LAPIC's turn would say why. */
static int vcpu_state_check_lapic(const struct vcpu *v, const struct vcpu_state *st)
{
	struct kvm_lapic_state probe;

	if (!(st->parts & VCPU_STATE_LAPIC) || ioctl(v->fd, KVM_GET_LAPIC, &probe) >= 0)
		return 0;
	if (errno == EINVAL || errno == ENXIO)
		return err_errno(EINVAL, "vcpu state",
				 "vCPU %d: the state has a LAPIC; this VM has no in-kernel irqchip "
				 "(KVM_CREATE_IRQCHIP)",
				 v->id);
	return vcpu_state_sys(v, "KVM_GET_LAPIC");
}

static int vcpu_state_set_lapic(struct vcpu *v, const struct vcpu_state *st)
{
	if (!(st->parts & VCPU_STATE_LAPIC))
		return 0;
	return vcpu_state_ioctl(v, KVM_SET_LAPIC, (void *)&st->lapic, "KVM_SET_LAPIC");
}

/* The order, where it matters:
 *   sregs first: CR0/CR4/EFER are the mode the rest is set in, and they
 *     carry APIC_BASE, which the LAPIC needs before its registers;
 *   regs before events: KVM_SET_REGS drops a pending exception, which the
 *     events then set again;
 *   xcrs before xsave: the enabled features, then their state;
 *   MSRs after sregs and before the LAPIC, the TSC put right after them
 *     (vcpu_state_set_tsc), except the TSC deadline, which KVM keeps only
 *     while the LAPIC timer is in TSC-deadline mode, so it follows the
 *     LAPIC (and the TSC, which it is a point of);
 *   events, then mp_state last: the events' SMM and latched INIT decide
 *     which MP states KVM accepts. */
int vcpu_state_restore(struct vcpu *v, const struct kvm *k, const struct vcpu_state *st)
{
	int ret = vcpu_state_check_lapic(v, st);

	if (!ret)
		ret = vcpu_state_set_sregs(v, k, st);
	if (!ret)
		ret = vcpu_state_ioctl(v, KVM_SET_REGS, (void *)&st->regs, "KVM_SET_REGS");
	if (!ret)
		ret = vcpu_state_set_simple(v, k, st, VCPU_STATE_XCRS);
	if (!ret)
		ret = vcpu_state_set_fpu(v, k, st);
	if (!ret)
		ret = vcpu_state_set_msrs(v, st, false);
	if (!ret)
		ret = vcpu_state_set_tsc(v, st);
	if (!ret)
		ret = vcpu_state_set_lapic(v, st);
	if (!ret)
		ret = vcpu_state_set_msrs(v, st, true);
	if (!ret)
		ret = vcpu_state_set_simple(v, k, st, VCPU_STATE_DEBUGREGS);
	if (!ret)
		ret = vcpu_state_set_simple(v, k, st, VCPU_STATE_EVENTS);
	if (!ret)
		ret = vcpu_state_set_simple(v, k, st, VCPU_STATE_MP_STATE);
	return ret;
}

/* --- Bytes --------------------------------------------------------------- */

struct vcpu_state_layout {
	uint32_t part;
	const char *name;
	size_t offset, size; /* of a fixed part in struct vcpu_state; size 0: variable */
};

#define VCPU_FIXED(part, name, field)                                                              \
	{                                                                                          \
		part, name, offsetof(struct vcpu_state, field),                                    \
		    sizeof(((struct vcpu_state *)0)->field)                                        \
	}

static const struct vcpu_state_layout vcpu_state_layout[] = {
    VCPU_FIXED(VCPU_STATE_REGS, "regs", regs),
    VCPU_FIXED(VCPU_STATE_SREGS, "sregs", sregs),
    VCPU_FIXED(VCPU_STATE_SREGS2, "sregs2", sregs2),
    VCPU_FIXED(VCPU_STATE_FPU, "fpu", fpu),
    {VCPU_STATE_XSAVE, "xsave", 0, 0},
    VCPU_FIXED(VCPU_STATE_XCRS, "xcrs", xcrs),
    {VCPU_STATE_MSRS, "msrs", 0, 0},
    VCPU_FIXED(VCPU_STATE_LAPIC, "lapic", lapic),
    VCPU_FIXED(VCPU_STATE_EVENTS, "events", events),
    VCPU_FIXED(VCPU_STATE_MP_STATE, "mp_state", mp_state),
    VCPU_FIXED(VCPU_STATE_DEBUGREGS, "debugregs", debugregs),
};

#define VCPU_NR_PARTS (sizeof(vcpu_state_layout) / sizeof(vcpu_state_layout[0]))

static void vcpu_state_put_part(struct devstate_writer *w, const struct vcpu_state *st,
				const struct vcpu_state_layout *l)
{
	if (l->part == VCPU_STATE_XSAVE) {
		devstate_put_u32(w, st->xsave_len);
		devstate_put_bytes(w, st->xsave, st->xsave_len);
	} else if (l->part == VCPU_STATE_MSRS) {
		devstate_put_u32(w, 4 + st->nr_msrs * (uint32_t)sizeof(st->msrs[0]));
		devstate_put_u32(w, st->nr_msrs);
		devstate_put_bytes(w, st->msrs, st->nr_msrs * sizeof(st->msrs[0]));
	} else {
		devstate_put_u32(w, (uint32_t)l->size);
		devstate_put_bytes(w, (const char *)st + l->offset, l->size);
	}
}

int vcpu_state_to_bytes(const struct vcpu_state *st, void *buf, size_t len, size_t *used)
{
	struct devstate_writer w = {.buf = buf, .len = len};

	devstate_put_u32(&w, VCPU_STATE_MAGIC);
	devstate_put_u32(&w, VCPU_STATE_VERSION);
	devstate_put_u32(&w, st->parts);
	for (size_t i = 0; i < VCPU_NR_PARTS; i++)
		if (st->parts & vcpu_state_layout[i].part)
			vcpu_state_put_part(&w, st, &vcpu_state_layout[i]);
	*used = w.pos;
	return w.pos > len ? -ENOSPC : 0;
}

static bool vcpu_state_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void vcpu_state_check_parts(struct devstate_reader *r, uint32_t parts)
{
	static const uint32_t required = VCPU_STATE_REGS | VCPU_STATE_MSRS;
	bool one_sregs = !(parts & VCPU_STATE_SREGS) != !(parts & VCPU_STATE_SREGS2);
	bool one_fpu = !(parts & VCPU_STATE_FPU) != !(parts & VCPU_STATE_XSAVE);

	if (parts & ~(uint32_t)VCPU_STATE_ALL_PARTS || (parts & required) != required ||
	    !one_sregs || !one_fpu)
		devstate_fail(r,
			      "parts %#x: expected regs, msrs, one of sregs and sregs2, one of fpu "
			      "and xsave, and no bits above %#x",
			      parts, VCPU_STATE_ALL_PARTS);
}

/* The variable parts: counts and lengths, then each MSR's reserved field. */
static void vcpu_state_get_msrs_part(struct devstate_reader *r, struct vcpu_state *st, uint32_t len)
{
	uint32_t n = devstate_get_u32(r, "msrs count");
	const uint8_t *p;

	if (!r->ret && (n > VCPU_STATE_MAX_MSRS || len != 4 + n * sizeof(st->msrs[0]))) {
		devstate_fail(r, "msrs: %u entries in %u bytes: expected at most %d, 16 bytes each",
			      n, len, VCPU_STATE_MAX_MSRS);
		return;
	}
	p = devstate_get_bytes(r, n * sizeof(st->msrs[0]), "msrs");
	if (!p)
		return;
	memcpy(st->msrs, p, n * sizeof(st->msrs[0]));
	st->nr_msrs = n;
	for (uint32_t i = 0; i < n; i++) {
		if (st->msrs[i].reserved)
			devstate_fail(r,
				      "msrs: entry %u (MSR %#x): reserved field is %#x, expected 0",
				      i, st->msrs[i].index, st->msrs[i].reserved);
		for (uint32_t j = 0; j < i; j++)
			if (st->msrs[j].index == st->msrs[i].index)
				devstate_fail(r, "msrs: MSR %#x twice (entries %u and %u)",
					      st->msrs[i].index, j, i);
	}
}

static void vcpu_state_get_xsave_part(struct devstate_reader *r, struct vcpu_state *st,
				      uint32_t len)
{
	const uint8_t *p;

	if (len < sizeof(struct kvm_xsave) || len > VCPU_STATE_XSAVE_MAX) {
		devstate_fail(r, "xsave: %u bytes: expected %zu to %d", len,
			      sizeof(struct kvm_xsave), VCPU_STATE_XSAVE_MAX);
		return;
	}
	p = devstate_get_bytes(r, len, "xsave");
	if (p) {
		memcpy(st->xsave, p, len);
		st->xsave_len = len;
	}
}

static void vcpu_state_get_part(struct devstate_reader *r, struct vcpu_state *st,
				const struct vcpu_state_layout *l)
{
	uint32_t len = devstate_get_u32(r, l->name);
	const uint8_t *p;

	if (r->ret)
		return;
	if (l->part == VCPU_STATE_XSAVE) {
		vcpu_state_get_xsave_part(r, st, len);
		return;
	}
	if (l->part == VCPU_STATE_MSRS) {
		vcpu_state_get_msrs_part(r, st, len);
		return;
	}
	if (len != l->size) {
		devstate_fail(r, "%s: %u bytes: expected %zu (struct kvm_%s)", l->name, len,
			      l->size, l->name);
		return;
	}
	p = devstate_get_bytes(r, len, l->name);
	if (p)
		memcpy((char *)st + l->offset, p, len);
}

#define VCPU_EVENTS_FLAGS                                                                          \
	(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |                       \
	 KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM | KVM_VCPUEVENT_VALID_PAYLOAD |      \
	 KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

/* The fields of the fixed parts that KVM does not check itself, or checks
 * with an answer that would not say what was wrong. */
static void vcpu_state_check_values(struct devstate_reader *r, const struct vcpu_state *st)
{
	const __u64 *bitmap = st->sregs.interrupt_bitmap;
	int pending = 0;

	for (size_t i = 0; i < sizeof(st->sregs.interrupt_bitmap) / 8; i++)
		pending += __builtin_popcountll(bitmap[i]);
	if (pending > 1)
		devstate_fail(r, "sregs: %d interrupts pending: expected at most 1", pending);
	if (st->sregs2.flags & ~(uint64_t)KVM_SREGS2_FLAGS_PDPTRS_VALID)
		devstate_fail(r, "sregs2: flags %#llx: expected only PDPTRS_VALID (1)",
			      (unsigned long long)st->sregs2.flags);
	if (st->xcrs.nr_xcrs > KVM_MAX_XCRS || st->xcrs.flags ||
	    !vcpu_state_zero(st->xcrs.padding, sizeof(st->xcrs.padding)))
		devstate_fail(r,
			      "xcrs: %u registers, flags %#x: expected at most %d, flags and "
			      "padding 0",
			      st->xcrs.nr_xcrs, st->xcrs.flags, KVM_MAX_XCRS);
	if (st->events.flags & ~(uint32_t)VCPU_EVENTS_FLAGS ||
	    !vcpu_state_zero(st->events.reserved, sizeof(st->events.reserved)) ||
	    st->events.exception.nr > 31)
		devstate_fail(r,
			      "events: flags %#x, exception %u: expected flags within %#x, "
			      "reserved 0 and an exception vector below 32",
			      st->events.flags, st->events.exception.nr, VCPU_EVENTS_FLAGS);
	if (st->mp_state.mp_state > KVM_MP_STATE_SIPI_RECEIVED &&
	    st->mp_state.mp_state != KVM_MP_STATE_AP_RESET_HOLD)
		devstate_fail(r, "mp_state %u: expected an x86 state (0 to 4, or 9)",
			      st->mp_state.mp_state);
	if (st->debugregs.flags ||
	    !vcpu_state_zero(st->debugregs.reserved, sizeof(st->debugregs.reserved)))
		devstate_fail(r, "debugregs: flags %#llx: expected flags and reserved 0",
			      (unsigned long long)st->debugregs.flags);
}

int vcpu_state_from_bytes(struct vcpu_state *st, const void *buf, size_t len, char *err,
			  size_t errlen)
{
	struct devstate_reader r = {
	    .buf = buf, .len = len, .dev = "vCPU", .err = err, .errlen = errlen};
	uint32_t magic, version;

	if (errlen)
		err[0] = '\0';
	memset(st, 0, sizeof(*st));
	magic = devstate_get_u32(&r, "magic");
	version = devstate_get_u32(&r, "version");
	st->parts = devstate_get_u32(&r, "parts");
	if (!r.ret && magic != VCPU_STATE_MAGIC)
		devstate_fail(&r, "magic %#x: expected %#x (\"VCPU\")", magic, VCPU_STATE_MAGIC);
	if (!r.ret && version != VCPU_STATE_VERSION)
		devstate_fail(&r, "version %u: expected %u", version, VCPU_STATE_VERSION);
	if (!r.ret)
		vcpu_state_check_parts(&r, st->parts);
	for (size_t i = 0; !r.ret && i < VCPU_NR_PARTS; i++)
		if (st->parts & vcpu_state_layout[i].part)
			vcpu_state_get_part(&r, st, &vcpu_state_layout[i]);
	if (!r.ret)
		vcpu_state_check_values(&r, st);
	return devstate_close(&r);
}
