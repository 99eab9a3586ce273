/* guest-kernel/task.h: a user-mode (CPL3) task running one workload.
 *
 * The task's image is part of the kernel ELF (user_*.c, linked at
 * USER_BASE by kernel.ld, loaded inside the kernel image): its code pages
 * are mapped from there read/exec, its data copy-on-write. task_run enters
 * user mode and returns when the task exits or is killed.
 */
#ifndef GK_TASK_H
#define GK_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include "args.h"
#include "trap.h"
#include "vma.h"

struct task {
	const char *name;
	uint64_t pml4; /* GPA */
	struct vma_set vmas;
	uint64_t entry, rsp, arg;
	uint64_t ksp;	 /* kernel stack pointer saved by task_enter_user */
	uint64_t faults; /* first-level #PFs taken for this task */
	uint64_t frames; /* frames mapped into it */
	/* Fault-path caches: the area and the page table of the last fault. */
	const struct vma *last_vma;   /* never NULL once the task is created */
	uint64_t *pt, pt_index;	      /* pt maps [pt_index << 21, +2 MiB) */
	uint64_t seq_next, seq_pages; /* the last window's end and size */
	bool killed, reported, result_ok;
};

/* 0, or -ENOMEM / -EINVAL with a BOOT error line printed. */
int task_create(struct kernel *k, struct task *t, const struct bootargs *a);
/* Runs t to its end; returns its exit status (-1 when killed). */
int task_run(struct kernel *k, struct task *t);
void task_exit(struct kernel *k, int status) __attribute__((noreturn));
/* Print "WHAT task=NAME addr=... error=... rip=..." and end the task. */
void task_kill(struct kernel *k, struct trap_frame *tf, uint64_t addr, const char *what)
    __attribute__((noreturn));

/* entry.S */
uint64_t task_enter_user(uint64_t *ksp, uint64_t rip, uint64_t rsp, uint64_t arg);
void task_resume_kernel(uint64_t ksp, uint64_t status) __attribute__((noreturn));

#endif
