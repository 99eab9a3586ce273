/* guest-kernel/trap.c: gates, TSS and dispatch. */
#include <vmm_abi.h>
#include "trap.h"
#include "arch.h"
#include "fault.h"
#include "kernel.h"
#include "segment.h"
#include "syscall.h"

struct trap_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const struct trap_desc idt_desc; /* entry.S: the IDT, built at link time */
extern uint64_t gdt[];

/* The IDT has no context argument; one CPU, one kernel. */
static struct kernel *trap_kernel;

static void trap_load_tss(struct traps *t)
{
	uint64_t base = (uint64_t)(uintptr_t)&t->tss, limit = sizeof(t->tss) - 1;

	t->tss.rsp0 = (uint64_t)(uintptr_t)(t->stack + TRAP_STACK_SIZE);
	/* No I/O bitmap: user-mode port access faults (IOPL is 0). */
	t->tss.iomap_base = sizeof(t->tss);
	gdt[SEG_TSS_INDEX] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ULL << 40 |
			     (limit >> 16) << 48 | (base >> 24 & 0xff) << 56;
	gdt[SEG_TSS_INDEX + 1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(SEG_TSS));
}

void trap_init(struct kernel *k)
{
	trap_kernel = k;
	__asm__ volatile("lidt %0" : : "m"(idt_desc));
	trap_load_tss(&k->traps);
}

/* PVM (a paravirtualized KVM this kernel once ran on) does not deliver
 * `int $0x80` from user mode through the IDT: it raises #UD at the
 * instruction. Accept that #UD as the system call, so one user ABI works
 * there too. */
static int trap_is_int80(struct kernel *k, struct trap_frame *tf)
{
	const struct vma *v;
	const uint8_t *insn = (const uint8_t *)(uintptr_t)tf->rip;

	if (!(tf->cs & 3) || !k->current)
		return 0;
	v = vma_find_range(&k->current->vmas, tf->rip, 2);
	return v && (v->flags & VMA_EXEC) && insn[0] == 0xcd && insn[1] == TRAP_SYSCALL;
}

void trap_dispatch(struct trap_frame *tf)
{
	struct kernel *k = trap_kernel;

	if (tf->vector == TRAP_PF) {
		fault_handle(k, tf);
	} else if (tf->vector == TRAP_SYSCALL && (tf->cs & 3)) {
		syscall_handle(k, tf);
	} else if (tf->vector == TRAP_UD && trap_is_int80(k, tf)) {
		tf->rip += 2;
		syscall_handle(k, tf);
	} else {
		trap_crash(tf);
	}
}

void trap_crash(struct trap_frame *tf)
{
	struct kernel *k = trap_kernel;

	if (k->con.len)
		console_flush(&k->con);
	kprintf(&k->con, "EXCEPTION vector=%lu error=0x%lx rip=0x%lx cr2=0x%lx\n", tf->vector,
		tf->error, tf->rip, arch_read_cr2());
	kernel_exit(k, VMM_GUEST_CRASH);
}

void trap_panic(const char *why)
{
	struct kernel *k = trap_kernel;

	if (k->con.len)
		console_flush(&k->con);
	kprintf(&k->con, "PANIC %s\n", why);
	kernel_exit(k, VMM_GUEST_CRASH);
}

void trap_triple_fault(void)
{
	struct trap_desc empty = {0, 0};

	/* #UD cannot be delivered, nor the #GP, nor the #DF: shutdown. */
	__asm__ volatile("lidt %0; ud2" : : "m"(empty));
	arch_halt_forever();
}
