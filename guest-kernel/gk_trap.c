/* guest-kernel/gk_trap.c: gates, TSS and dispatch. */
#include <vmm_abi.h>
#include "gk_trap.h"
#include "gk_arch.h"
#include "gk_fault.h"
#include "gk_kernel.h"
#include "gk_segment.h"
#include "gk_syscall.h"
#include "uapi.h"

struct gk_trap_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const struct gk_trap_desc gk_idt_desc; /* gk_entry.S: the IDT, built at link time */
extern uint64_t gk_gdt[];

/* The IDT has no context argument; one CPU, one kernel. */
static struct gk_kernel *gk_trap_kernel;

static void gk_trap_load_tss(struct gk_traps *t)
{
	uint64_t base = (uint64_t)(uintptr_t)&t->tss, limit = sizeof(t->tss) - 1;

	t->tss.rsp0 = (uint64_t)(uintptr_t)(t->stack + TRAP_STACK_SIZE);
	/* No I/O bitmap: user-mode port access faults (IOPL is 0). */
	t->tss.iomap_base = sizeof(t->tss);
	gk_gdt[SEG_TSS_INDEX] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ULL << 40 |
				(limit >> 16) << 48 | (base >> 24 & 0xff) << 56;
	gk_gdt[SEG_TSS_INDEX + 1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(SEG_TSS));
}

void gk_trap_init(struct gk_kernel *k)
{
	gk_trap_kernel = k;
	__asm__ volatile("lidt %0" : : "m"(gk_idt_desc));
	gk_trap_load_tss(&k->traps);
}

extern char _user_text_size[];

/* PVM (the build hosts' KVM) does not deliver `int $0x80` from user mode
 * through the IDT: it raises #UD at the instruction. Accept that #UD as
 * the system call, so one user ABI works there too; only from the image's
 * code, mapped in every process: a range check, not an area lookup, on a
 * path every system call takes there. */
static int gk_trap_is_int80(struct gk_kernel *k, struct gk_trap_frame *tf)
{
	const uint8_t *insn = (const uint8_t *)(uintptr_t)tf->rip;

	if (!(tf->cs & 3) || !k->current || tf->rip < USER_BASE ||
	    tf->rip + 2 > USER_BASE + (uint64_t)(uintptr_t)_user_text_size)
		return 0;
	return insn[0] == 0xcd && insn[1] == TRAP_SYSCALL;
}

extern const char gk_arch_msr_insn_rd[], gk_arch_msr_insn_wr[], gk_arch_msr_fixup[];

/* A #GP from gk_arch_rdmsr_safe or gk_arch_wrmsr_safe: resume at their fixup. */
static int gk_trap_msr_probe(struct gk_trap_frame *tf)
{
	if (tf->cs & 3 || (tf->rip != (uint64_t)(uintptr_t)gk_arch_msr_insn_rd &&
			   tf->rip != (uint64_t)(uintptr_t)gk_arch_msr_insn_wr))
		return 0;
	tf->rip = (uint64_t)(uintptr_t)gk_arch_msr_fixup;
	return 1;
}

void gk_trap_dispatch(struct gk_trap_frame *tf)
{
	struct gk_kernel *k = gk_trap_kernel;

	if (tf->vector == TRAP_PF) {
		gk_fault_handle(k, tf);
	} else if (tf->vector == TRAP_SYSCALL && (tf->cs & 3)) {
		gk_syscall_handle(k, tf);
	} else if (tf->vector == TRAP_UD && gk_trap_is_int80(k, tf)) {
		tf->rip += 2;
		gk_syscall_handle(k, tf);
	} else if (tf->vector == TRAP_TIMER) {
		gk_sched_tick(k);
	} else if (tf->vector == TRAP_SPURIOUS) {
		/* no EOI for the spurious vector */
	} else if (!(tf->vector == TRAP_GP && gk_trap_msr_probe(tf))) {
		gk_trap_crash(tf);
	}
	if (tf->cs & 3)
		gk_sched_trap_end(k, tf);
}

void gk_trap_crash(struct gk_trap_frame *tf)
{
	struct gk_kernel *k = gk_trap_kernel;

	if (k->con.len)
		gk_console_flush(&k->con);
	gk_printf(&k->con, "EXCEPTION vector=%lu error=0x%lx rip=0x%lx cr2=0x%lx\n", tf->vector,
		  tf->error, tf->rip, gk_arch_read_cr2());
	gk_kernel_exit(k, VMM_GUEST_CRASH);
}

void gk_trap_panic(const char *why)
{
	struct gk_kernel *k = gk_trap_kernel;

	if (k->con.len)
		gk_console_flush(&k->con);
	gk_printf(&k->con, "PANIC %s\n", why);
	gk_kernel_exit(k, VMM_GUEST_CRASH);
}

void gk_trap_triple_fault(void)
{
	struct gk_trap_desc empty = {0, 0};

	/* #UD cannot be delivered, nor the #GP, nor the #DF: shutdown. */
	__asm__ volatile("lidt %0; ud2" : : "m"(empty));
	gk_arch_halt_forever();
}
