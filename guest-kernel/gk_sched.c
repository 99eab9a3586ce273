/* guest-kernel/gk_sched.c: the run queue, switching, and the LAPIC timer. */
#include "gk_sched.h"
#include "gk_arch.h"
#include "gk_kernel.h"

#define PIC1_DATA 0x21 /* the legacy 8259s' mask registers */
#define PIC2_DATA 0xa1

#define CPUID1_EDX_APIC	  (1u << 9)
#define CPUID1_ECX_X2APIC (1u << 21)
#define MSR_APIC_BASE	  0x1b
#define APIC_BASE_EXTD	  (1u << 10)
#define APIC_BASE_EN	  (1u << 11)
#define X2APIC_VERSION	  0x803
#define X2APIC_EOI	  0x80b
#define X2APIC_SVR	  0x80f
#define X2APIC_LVT_TIMER  0x832
#define X2APIC_TIMER_INIT 0x838
#define X2APIC_TIMER_DIV  0x83e
#define SVR_ENABLE	  0x100
#define LVT_PERIODIC	  (1u << 17)
#define TIMER_DIV_1	  0xb
/* KVM's LAPIC and QEMU's count at 1 GHz (KVM's APIC bus default). */
#define APIC_TICKS_PER_US 1000
#define TSC_HZ_GUESS	  2000000000ULL /* when the boot data gives no TSC frequency */

/* An x2APIC that answers: CPUID says so and its MSRs do not fault. Under
 * vmm there is no in-kernel irqchip: CPUID may still claim one (KVM's
 * supported CPUID), but the MSRs raise #GP, which the probe catches. */
static bool gk_sched_x2apic(void)
{
	uint32_t a, b, c, d;
	uint64_t base, v;

	gk_arch_cpuid(1, &a, &b, &c, &d);
	if (!(d & CPUID1_EDX_APIC) || !(c & CPUID1_ECX_X2APIC) ||
	    gk_arch_rdmsr_safe(MSR_APIC_BASE, &base) < 0)
		return false;
	/* xAPIC first, then x2APIC: disabled to x2APIC directly is invalid. */
	if (!(base & APIC_BASE_EN) && gk_arch_wrmsr_safe(MSR_APIC_BASE, base |= APIC_BASE_EN) < 0)
		return false;
	if (!(base & APIC_BASE_EXTD) &&
	    gk_arch_wrmsr_safe(MSR_APIC_BASE, base | APIC_BASE_EXTD) < 0)
		return false;
	return gk_arch_rdmsr_safe(X2APIC_VERSION, &v) == 0;
}

void gk_sched_init(struct gk_kernel *k, enum gk_sched_mode mode, uint64_t quantum_us)
{
	struct gk_sched *s = &k->sched;

	gk_list_init(&s->runq);
	s->quantum = (k->boot.tsc_hz ? k->boot.tsc_hz : TSC_HZ_GUESS) / 1000000 * quantum_us;
	if (mode == SCHED_TRAP || !gk_sched_x2apic())
		return;
	/* User mode runs with interrupts on from here: a PC's 8259s (QEMU -M
	 * pc, where the firmware left the PIT's IRQ 0 on vector 8) must be
	 * masked, or a tick is taken for a double fault. */
	gk_arch_outb(PIC1_DATA, 0xff);
	gk_arch_outb(PIC2_DATA, 0xff);
	gk_arch_wrmsr(X2APIC_SVR, SVR_ENABLE | TRAP_SPURIOUS);
	gk_arch_wrmsr(X2APIC_TIMER_DIV, TIMER_DIV_1);
	gk_arch_wrmsr(X2APIC_LVT_TIMER, LVT_PERIODIC | TRAP_TIMER);
	gk_arch_wrmsr(X2APIC_TIMER_INIT, quantum_us * APIC_TICKS_PER_US);
	s->timer = true;
}

void gk_sched_add(struct gk_kernel *k, struct gk_proc *p)
{
	gk_list_add_tail(&k->sched.runq, &p->run);
}

void gk_sched_run(struct gk_kernel *k)
{
	struct gk_sched *s = &k->sched;
	struct gk_proc *p;

	if (gk_list_empty(&s->runq))
		gk_trap_panic("no process can run");
	p = GK_LIST_ENTRY(s->runq.next, struct gk_proc, run);
	gk_list_del(&p->run);
	if (p != k->current)
		s->switches++;
	k->current = p;
	gk_tlb_load(&k->tlb, &p->mm.tlb);
	s->slice_start = gk_arch_rdtsc();
	s->need_resched = false;
	gk_counters_publish(k);
	gk_trap_return(&p->ctx, k->traps.stack + TRAP_STACK_SIZE);
}

void gk_sched_yield(struct gk_kernel *k, const struct gk_trap_frame *tf)
{
	struct gk_proc *p = k->current;

	p->ctx = *tf;
	gk_sched_add(k, p);
	gk_sched_run(k);
}

void gk_sched_trap_end(struct gk_kernel *k, struct gk_trap_frame *tf)
{
	struct gk_sched *s = &k->sched;
	uint64_t now = gk_arch_rdtsc();

	gk_counters_tick(k, now);
	if (gk_list_empty(&s->runq)) {
		s->need_resched = false;
		return;
	}
	if (s->timer ? !s->need_resched : now - s->slice_start < s->quantum)
		return;
	gk_sched_yield(k, tf);
}

void gk_sched_tick(struct gk_kernel *k)
{
	gk_arch_wrmsr(X2APIC_EOI, 0);
	k->sched.ticks++;
	k->sched.need_resched = true;
}
