/* guest-kernel/gk_trap.h: IDT, TSS and the one C entry for every vector.
 *
 * Vectors 0-31 (exceptions), 0x80 (system calls, DPL 3), 0x20 (the LAPIC
 * timer, when gk_sched.c found one) and 0xff (its spurious vector) have
 * gates. The kernel runs with IF=0; processes run with IF=1 only when the
 * timer is on. Under PVM a user `int $0x80` arrives as #UD instead (see
 * gk_trap_is_int80). Traps arrive on the TSS's RSP0 stack, the kernel's
 * only stack; gk_entry.S builds a struct gk_trap_frame there with every
 * register and calls gk_trap_dispatch. A trap from user mode may return to
 * another process: gk_trap_return enters a saved frame.
 */
#ifndef GK_TRAP_H
#define GK_TRAP_H

#include <stdint.h>

#define TRAP_UD		6
#define TRAP_GP		13
#define TRAP_PF		14
#define TRAP_TIMER	0x20
#define TRAP_SPURIOUS	0xff
#define TRAP_SYSCALL	0x80
#define TRAP_STACK_SIZE 16384

struct gk_kernel;

struct gk_trap_frame {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	uint64_t vector, error; /* error is 0 for vectors without one */
	uint64_t rip, cs, rflags, rsp, ss;
};

struct gk_tss {
	uint32_t reserved0;
	uint64_t rsp0, rsp1, rsp2;
	uint64_t reserved1, ist[7], reserved2;
	uint16_t reserved3, iomap_base;
} __attribute__((packed));

struct gk_traps {
	uint8_t stack[TRAP_STACK_SIZE] __attribute__((aligned(16))); /* RSP0 */
	struct gk_tss tss;
};

_Static_assert(sizeof(struct gk_trap_frame) == 22 * 8, "gk_entry.S's FRAME_WORDS");

void gk_trap_init(struct gk_kernel *k);
/* gk_entry.S: enter the frame f (copied to the top of the trap stack). */
void gk_trap_return(const struct gk_trap_frame *f, void *stack_top) __attribute__((noreturn));
void gk_trap_dispatch(struct gk_trap_frame *tf); /* from gk_entry.S */
/* Print an EXCEPTION line for tf and end the guest with VMM_GUEST_CRASH. */
void gk_trap_crash(struct gk_trap_frame *tf) __attribute__((noreturn));
void gk_trap_panic(const char *why) __attribute__((noreturn));
/* Load an empty IDT and raise an exception: the CPU shuts down. */
void gk_trap_triple_fault(void) __attribute__((noreturn));

#endif
