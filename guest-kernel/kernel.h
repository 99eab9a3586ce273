/* guest-kernel/kernel.h: the whole kernel's state, one instance per CPU.
 *
 * kmain owns it and passes it down; only trap.c keeps a pointer to it,
 * because the IDT has no way to carry one.
 */
#ifndef GK_KERNEL_H
#define GK_KERNEL_H

#include <stdint.h>
#include "args.h"
#include "bootinfo.h"
#include "console.h"
#include "frame.h"
#include "hcall.h"
#include "paging.h"
#include "task.h"
#include "trap.h"

struct kernel {
	struct paging pg; /* page aligned */
	struct traps traps;
	struct bootinfo boot;
	struct hcall hc;
	struct console con;
	struct frames frames;
	struct bootargs args;
	struct task task;
	struct task *current; /* the task in user mode, or in a syscall / fault for it */
};

void kmain(uint32_t start_info) __attribute__((noreturn));
/* Flush the console, write code to the exit port, halt. */
void kernel_exit(struct kernel *k, uint32_t code) __attribute__((noreturn));

#endif
