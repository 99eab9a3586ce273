/* guest-kernel/gk_trap.h: IDT, TSS and the one C entry for every vector.
 *
 * Vectors 0-31 (exceptions) and 0x80 (system calls, DPL 3) have gates;
 * nothing else is ever raised: no interrupt controller is programmed and
 * tasks run with IF=0. Under PVM a user `int $0x80` arrives as #UD instead
 * (see gk_trap_is_int80). Traps from user mode arrive on the TSS's RSP0
 * stack; gk_entry.S builds a struct gk_trap_frame there and calls gk_trap_dispatch.
 */
#ifndef GK_TRAP_H
#define GK_TRAP_H

#include <stdint.h>

#define TRAP_UD		6
#define TRAP_PF		14
#define TRAP_SYSCALL	0x80
#define TRAP_STACK_SIZE 16384

struct gk_kernel;

struct gk_trap_frame {
	/* The caller-saved registers only (gk_entry.S): the handler preserves
	 * the others, so they are neither saved nor restored. */
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
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

void gk_trap_init(struct gk_kernel *k);
void gk_trap_dispatch(struct gk_trap_frame *tf); /* from gk_entry.S */
/* Print an EXCEPTION line for tf and end the guest with VMM_GUEST_CRASH. */
void gk_trap_crash(struct gk_trap_frame *tf) __attribute__((noreturn));
void gk_trap_panic(const char *why) __attribute__((noreturn));
/* Load an empty IDT and raise an exception: the CPU shuts down. */
void gk_trap_triple_fault(void) __attribute__((noreturn));

#endif
