/* guest-kernel/gk_task.h: a user-mode (CPL3) task running one workload.
 *
 * The task's image is part of the kernel ELF (user_*.c, linked at
 * USER_BASE by kernel.ld, loaded inside the kernel image): its code pages
 * are mapped from there read/exec, its data copy-on-write. gk_task_run enters
 * user mode and returns when the task exits or is killed.
 */
#ifndef GK_TASK_H
#define GK_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include "gk_args.h"
#include "gk_trap.h"
#include "gk_vma.h"

struct gk_task {
	const char *name;
	uint64_t pml4; /* GPA */
	struct gk_vma_set vmas;
	uint64_t entry, rsp, arg;
	uint64_t ksp;	 /* kernel stack pointer saved by gk_task_enter_user */
	uint64_t faults; /* first-level #PFs taken for this task */
	uint64_t frames; /* frames mapped into it */
	/* Fault-path caches: the area and the page table of the last fault. */
	const struct gk_vma *last_vma; /* never NULL once the task is created */
	uint64_t *pt, pt_index;	       /* pt maps [pt_index << 21, +2 MiB) */
	uint64_t seq_next, seq_pages;  /* the last window's end and size */
	bool killed, reported, result_ok;
};

/* 0, or -ENOMEM / -EINVAL with a BOOT error line printed. */
int gk_task_create(struct gk_kernel *k, struct gk_task *t, const struct gk_bootargs *a);
/* Runs t to its end; returns its exit status (-1 when killed). */
int gk_task_run(struct gk_kernel *k, struct gk_task *t);
void gk_task_exit(struct gk_kernel *k, int status) __attribute__((noreturn));
/* Print "WHAT task=NAME addr=... error=... rip=..." and end the task. */
void gk_task_kill(struct gk_kernel *k, struct gk_trap_frame *tf, uint64_t addr, const char *what)
    __attribute__((noreturn));

/* gk_entry.S */
uint64_t gk_task_enter_user(uint64_t *ksp, uint64_t rip, uint64_t rsp, uint64_t arg);
void gk_task_resume_kernel(uint64_t ksp, uint64_t status) __attribute__((noreturn));

#endif
