/* guest-kernel/gk_kernel.h: the whole kernel's state, one instance per CPU.
 *
 * gk_main owns it and passes it down; only gk_trap.c keeps a pointer to it,
 * because the IDT has no way to carry one.
 */
#ifndef GK_KERNEL_H
#define GK_KERNEL_H

#include <stdint.h>
#include "gk_args.h"
#include "gk_bootinfo.h"
#include "gk_cache.h"
#include "gk_console.h"
#include "gk_counters.h"
#include "gk_fault.h"
#include "gk_frame.h"
#include "gk_hcall.h"
#include "gk_paging.h"
#include "gk_pool.h"
#include "gk_proc.h"
#include "gk_sched.h"
#include "gk_tlb.h"
#include "gk_trap.h"

struct gk_kernel {
	struct gk_paging pg; /* page aligned */
	struct gk_traps traps;
	struct gk_bootinfo boot;
	struct gk_hcall hc;
	struct gk_console con;
	struct gk_frames frames;
	struct gk_bootargs args;
	struct gk_tlb tlb;
	struct gk_pool vma_pool, table_pool;
	struct gk_cache cache;
	struct gk_procs procs;
	struct gk_sched sched;
	struct gk_fault_stats faults;
	struct gk_counters counters;
	struct gk_proc *current; /* the process in user mode, or in a trap for it */
};

void gk_main(uint32_t start_info) __attribute__((noreturn));
/* Flush the console, write code to the exit port, halt. */
void gk_kernel_exit(struct gk_kernel *k, uint32_t code) __attribute__((noreturn));
/* Init has exited: report and end the guest with its verdict. */
void gk_kernel_finish(struct gk_kernel *k, struct gk_proc *init) __attribute__((noreturn));

#endif
