/* guest-kernel/gk_sched.h: which process runs.
 *
 * Round robin over a FIFO run queue. A process runs until it blocks,
 * yields, exits or its quantum ends. Where the VM has a LAPIC (x2APIC)
 * its periodic timer ends quanta (sched=timer); where it has none, as
 * under vmm (no in-kernel irqchip), the quantum is checked on the TSC at
 * every system call and page fault (sched=trap). docs/guest-kernel.md has
 * the measurements behind the default.
 *
 * Switching is gk_trap_return into the next process's saved frame, with
 * its address space loaded (gk_tlb.h): the kernel's stack is abandoned,
 * which is why the kernel keeps nothing on it between traps.
 */
#ifndef GK_SCHED_H
#define GK_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include "gk_lib.h"
#include "gk_trap.h"

struct gk_kernel;
struct gk_proc;

enum gk_sched_mode { SCHED_AUTO, SCHED_TIMER, SCHED_TRAP };

struct gk_sched {
	struct gk_list runq;
	bool timer;	   /* the LAPIC timer is running */
	bool need_resched; /* the timer said the quantum is over */
	uint64_t quantum;  /* TSC cycles (trap mode) */
	uint64_t slice_start;
	uint64_t switches, ticks, yields;
};

/* mode AUTO: the timer where there is one. quantum_us: a quantum. */
void gk_sched_init(struct gk_kernel *k, enum gk_sched_mode mode, uint64_t quantum_us);
void gk_sched_add(struct gk_kernel *k, struct gk_proc *p);
/* Run the next runnable process; the current one, if any, must have been
 * queued or taken off the CPU already. */
void gk_sched_run(struct gk_kernel *k) __attribute__((noreturn));
/* The current process gives the CPU up: it is queued behind the others. */
void gk_sched_yield(struct gk_kernel *k, const struct gk_trap_frame *tf) __attribute__((noreturn));
/* Called as a trap from user mode returns: switch if the quantum is over. */
void gk_sched_trap_end(struct gk_kernel *k, struct gk_trap_frame *tf);
/* The LAPIC timer's interrupt. */
void gk_sched_tick(struct gk_kernel *k);

#endif
