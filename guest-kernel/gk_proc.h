/* guest-kernel/gk_proc.h: processes.
 *
 * A fixed table of PROC_MAX processes. Each has an address space
 * (gk_mm.h), a pid, a parent, and, while it does not run, its user
 * registers (a trap frame). The kernel keeps nothing of a process on its
 * one stack between traps, so a process that blocks (wait) has its
 * system call restarted when it runs again: its frame is rewound to the
 * `int $0x80`.
 *
 *   spawn   a new process running a workload of the kernel image by name
 *   fork    a copy, memory shared copy-on-write (gk_mm_fork)
 *   exit    memory freed at once; a zombie until its parent waits for it;
 *           its children go to init (pid 1)
 *   wait    reaps a zombie child, or blocks until one exits
 *   kill    a bad access (SEGV) or the OOM killer: exit with USER_STATUS_*
 *
 * Init is the first process, running the workload of the command line.
 * The guest lives as long as init: when it exits the kernel reports and
 * ends the guest, whatever else still runs.
 */
#ifndef GK_PROC_H
#define GK_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include "gk_lib.h"
#include "gk_mm.h"
#include "gk_trap.h"
#include "uapi.h"

#define PROC_MAX 64

enum gk_proc_state { PROC_FREE, PROC_RUNNABLE, PROC_WAITING, PROC_ZOMBIE };

struct gk_proc {
	struct gk_trap_frame ctx; /* user registers while it does not run */
	struct gk_mm mm;
	struct gk_list run; /* on the run queue (runnable, not running), or the free list */
	struct gk_list children, sibling; /* its children; its place among its parent's */
	struct gk_proc *parent;
	const char *name;
	enum gk_proc_state state;
	unsigned slot;
	int pid, status, oom_adj;
	uint64_t faults, cow_copies, cow_reuses, stack_grows;
	bool reported, result_ok; /* SYS_RESULT */
};

struct gk_procs {
	struct gk_proc p[PROC_MAX];
	struct gk_list free; /* free slots, the last freed first */
	struct gk_proc *init;
	int next_pid;
	unsigned live; /* runnable or waiting */
	uint64_t created, oom_kills;
};

struct gk_kernel;

void gk_procs_init(struct gk_procs *t);
/* A new runnable process running workload w (init when parent is NULL);
 * NULL, with *err set to -EAGAIN (table full) or -ENOMEM. */
struct gk_proc *gk_proc_spawn(struct gk_kernel *k, enum workload w, struct gk_proc *parent,
			      int *err);
/* A copy of p, as p's trap frame tf left it; the child's pid or -errno. */
int64_t gk_proc_fork(struct gk_kernel *k, struct gk_proc *p, const struct gk_trap_frame *tf);
/* p ends with status. Does not return when p is the current process. */
void gk_proc_exit(struct gk_kernel *k, struct gk_proc *p, int status);
/* SYS_WAIT for the current process p; may block (and not return). */
int64_t gk_proc_wait(struct gk_kernel *k, struct gk_proc *p, struct gk_trap_frame *tf, int64_t pid,
		     uint64_t status_ptr);
/* The current process made a bad access: a `WHAT task=... ` line, then exit. */
void gk_proc_kill(struct gk_kernel *k, const struct gk_trap_frame *tf, uint64_t addr,
		  const char *what) __attribute__((noreturn));
/* Out of frames for the current process: the page cache gives back what it
 * can, else the OOM killer kills the process with the highest badness
 * (gk_oom.h), which may be the current one (then this does not return).
 * false if nothing could be freed. */
bool gk_proc_oom(struct gk_kernel *k);

#endif
