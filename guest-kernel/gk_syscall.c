/* guest-kernel/gk_syscall.c: the system calls, one function each, and a table. */
#include <vmm_abi.h>
#include "gk_syscall.h"
#include "gk_arch.h"
#include "gk_cache.h"
#include "gk_cpio.h"
#include "gk_kernel.h"
#include "gk_lib.h"
#include "gk_oom.h"
#include "uapi.h"

/* Whether [addr, addr + len) lies in areas that allow need; a stack that
 * may grow down to addr grows, as a fault there would make it. */
static bool gk_sys_user(struct gk_proc *p, uint64_t addr, uint64_t len, unsigned need)
{
	uint64_t end = addr + len;
	const struct gk_vma *v;

	if (end < addr || addr < USER_BASE || end > USER_END)
		return false;
	v = gk_vma_find(&p->mm.vmas, addr);
	if (!v)
		v = gk_fault_grow_stack(&p->mm, ALIGN_DOWN(addr, PAGE_SIZE));
	for (; v; v = gk_vma_find(&p->mm.vmas, v->end)) {
		if ((v->flags & need) != need)
			return false;
		if (v->end >= end)
			return true;
	}
	return false;
}

struct gk_sys_args {
	struct gk_kernel *k;
	struct gk_proc *p;
	struct gk_trap_frame *tf;
	uint64_t a0, a1, a2, a3, a4, a5;
};

static int64_t gk_sys_write(struct gk_sys_args *a)
{
	const char *s = (const char *)(uintptr_t)a->a0;
	uint64_t n;

	if (a->a1 > SYS_WRITE_MAX)
		return -UAPI_EINVAL;
	if (!gk_sys_user(a->p, a->a0, a->a1, VMA_READ))
		return -UAPI_EFAULT;
	/* Up to a NUL; the process's bytes go straight into the line. */
	for (n = 0; n < a->a1 && s[n]; n++)
		;
	gk_console_mem(&a->k->con, s, (unsigned)n);
	gk_console_flush(&a->k->con);
	return (int64_t)a->a1;
}

static int64_t gk_sys_exit(struct gk_sys_args *a)
{
	gk_proc_exit(a->k, a->p, (int)(a->a0 & 0xff));
	return 0; /* not reached */
}

/* cycles / hz in ns without 128-bit division (no libgcc here). */
static uint64_t gk_sys_cycles_to_ns(uint64_t cycles, uint64_t hz)
{
	return cycles / hz * 1000000000ULL + cycles % hz * 1000000000ULL / hz;
}

static int64_t gk_sys_result(struct gk_sys_args *a)
{
	struct gk_kernel *k = a->k;
	struct user_result r;
	unsigned i;

	if (!gk_sys_user(a->p, a->a0, sizeof(r), VMA_READ))
		return -UAPI_EFAULT;
	memcpy(&r, (const void *)(uintptr_t)a->a0, sizeof(r));
	r.name[sizeof(r.name) - 1] = '\0';
	for (i = 0; r.name[i]; i++)
		if (r.name[i] <= ' ' || r.name[i] > '~' || r.name[i] == '=')
			r.name[i] = '?';
	gk_printf(&k->con, "RESULT workload=%s pages=%lu faults=%lu cycles=%lu", r.name, r.pages,
		  a->p->faults, r.cycles);
	if (k->boot.tsc_hz)
		gk_printf(&k->con, " ns=%lu", gk_sys_cycles_to_ns(r.cycles, k->boot.tsc_hz));
	gk_printf(&k->con, " ok=%lu\n", r.ok);
	a->p->reported = true;
	a->p->result_ok = r.ok == 1;
	/* A failed check ends the guest at once, whichever process saw it:
	 * what runs after it (a broken kernel's other processes) proves
	 * nothing and need not end. */
	if (r.ok != 1)
		gk_kernel_exit(k, VMM_GUEST_FAILURE);
	return 0;
}

/* Drop the pages of private anonymous areas: they read zero next time. */
static int64_t gk_sys_release(struct gk_sys_args *a)
{
	uint64_t end = a->a0 + a->a1, before = a->p->mm.rss;
	const struct gk_vma *v;

	if ((a->a0 | a->a1) % PAGE_SIZE)
		return -UAPI_EINVAL;
	if (!gk_sys_user(a->p, a->a0, a->a1, VMA_WRITE))
		return -UAPI_EFAULT;
	for (v = gk_vma_next(&a->p->mm.vmas, a->a0); v && v->start < end;
	     v = gk_vma_next(&a->p->mm.vmas, v->end))
		if (v->obj || (v->flags & (VMA_IMAGE | VMA_SHARED)))
			return -UAPI_EINVAL;
	gk_mm_zap(a->k, &a->p->mm, a->a0, end);
	return (int64_t)(before - a->p->mm.rss);
}

/* Read each time: a fork happens under the guest's feet, between any two
 * instructions, so a cached answer would be the parent's. */
static int64_t gk_sys_forkid(struct gk_sys_args *a)
{
	return a->k->boot.has_forkid ? (int64_t)gk_arch_inl(a->k->boot.forkid_port) : 0;
}

static int64_t gk_sys_fork(struct gk_sys_args *a)
{
	return gk_proc_fork(a->k, a->p, a->tf);
}

static int64_t gk_sys_wait(struct gk_sys_args *a)
{
	if (a->a1 && !gk_sys_user(a->p, a->a1, sizeof(int), VMA_WRITE))
		return -UAPI_EFAULT;
	return gk_proc_wait(a->k, a->p, a->tf, (int64_t)a->a0, a->a1);
}

static int64_t gk_sys_getpid(struct gk_sys_args *a)
{
	return a->p->pid;
}

static int64_t gk_sys_yield(struct gk_sys_args *a)
{
	a->tf->rax = 0;
	a->k->sched.yields++;
	gk_sched_yield(a->k, a->tf);
}

static int64_t gk_sys_spawn(struct gk_sys_args *a)
{
	struct gk_proc *c;
	int w, err = 0;

	if (a->a1 > 32 || !gk_sys_user(a->p, a->a0, a->a1, VMA_READ))
		return -UAPI_EFAULT;
	w = gk_bootargs_workload_by_name((const char *)(uintptr_t)a->a0, a->a1);
	if (w < 0 || w == WORKLOAD_TRIPLE)
		return -UAPI_ENOENT;
	c = gk_proc_spawn(a->k, (enum workload)w, a->p, &err);
	return c ? c->pid : err;
}

static int64_t gk_sys_brk(struct gk_sys_args *a)
{
	return gk_mm_brk(a->k, &a->p->mm, a->a0);
}

static int64_t gk_sys_mmap(struct gk_sys_args *a)
{
	return gk_mm_mmap(a->k, &a->p->mm, a->a0, a->a1, a->a2, a->a3, (int64_t)a->a4, a->a5);
}

static int64_t gk_sys_munmap(struct gk_sys_args *a)
{
	return gk_mm_munmap(a->k, &a->p->mm, a->a0, a->a1);
}

static int64_t gk_sys_mprotect(struct gk_sys_args *a)
{
	return gk_mm_mprotect(a->k, &a->p->mm, a->a0, a->a1, a->a2);
}

static int64_t gk_sys_open(struct gk_sys_args *a)
{
	int fd;

	if (a->a1 > CPIO_NAME_MAX || !gk_sys_user(a->p, a->a0, a->a1, VMA_READ) ||
	    (a->a2 && !gk_sys_user(a->p, a->a2, sizeof(uint64_t), VMA_WRITE)))
		return -UAPI_EFAULT;
	fd = gk_cache_open(&a->k->cache, (const char *)(uintptr_t)a->a0, a->a1);
	if (fd < 0)
		return -UAPI_ENOENT;
	if (a->a2)
		*(uint64_t *)(uintptr_t)a->a2 = gk_cache_file(&a->k->cache, fd)->size;
	return fd;
}

static int64_t gk_sys_stat(struct gk_sys_args *a)
{
	struct gk_kernel *k = a->k;
	struct gk_proc *p = a->p;

	if (!gk_sys_user(p, a->a0, sizeof(struct user_stat), VMA_WRITE))
		return -UAPI_EFAULT;
	*(struct user_stat *)(uintptr_t)a->a0 = (struct user_stat){
	    .pid = (uint64_t)p->pid,
	    .ppid = p->parent ? (uint64_t)p->parent->pid : 0,
	    .rss = p->mm.rss,
	    .faults = p->faults,
	    .cow_copies = p->cow_copies,
	    .cow_reuses = p->cow_reuses,
	    .stack_grows = p->stack_grows,
	    .free_pages = k->frames.free,
	    .procs = k->procs.live,
	    .oom_kills = k->procs.oom_kills,
	    .pcid = k->tlb.pcid,
	    .tsc_hz = k->boot.tsc_hz,
	    .ticks = k->sched.ticks,
	};
	return 0;
}

static int64_t gk_sys_oom_adj(struct gk_sys_args *a)
{
	int64_t adj = (int64_t)a->a0;

	if (adj < OOM_ADJ_MIN || adj > OOM_ADJ_MAX)
		return -UAPI_EINVAL;
	a->p->oom_adj = (int)adj;
	return 0;
}

static int64_t (*const gk_syscalls[])(struct gk_sys_args *a) = {
    [SYS_WRITE] = gk_sys_write,	    [SYS_EXIT] = gk_sys_exit,	      [SYS_RESULT] = gk_sys_result,
    [SYS_RELEASE] = gk_sys_release, [SYS_FORKID] = gk_sys_forkid,     [SYS_FORK] = gk_sys_fork,
    [SYS_WAIT] = gk_sys_wait,	    [SYS_GETPID] = gk_sys_getpid,     [SYS_YIELD] = gk_sys_yield,
    [SYS_SPAWN] = gk_sys_spawn,	    [SYS_BRK] = gk_sys_brk,	      [SYS_MMAP] = gk_sys_mmap,
    [SYS_MUNMAP] = gk_sys_munmap,   [SYS_MPROTECT] = gk_sys_mprotect, [SYS_OPEN] = gk_sys_open,
    [SYS_STAT] = gk_sys_stat,	    [SYS_OOM_ADJ] = gk_sys_oom_adj,
};

void gk_syscall_handle(struct gk_kernel *k, struct gk_trap_frame *tf)
{
	struct gk_sys_args a = {k,	 k->current, tf,     tf->rdi, tf->rsi,
				tf->rdx, tf->r10,    tf->r8, tf->r9};

	if (!a.p)
		gk_trap_crash(tf);
	if (tf->rax >= ARRAY_SIZE(gk_syscalls) || !gk_syscalls[tf->rax])
		tf->rax = (uint64_t)-UAPI_ENOSYS;
	else
		tf->rax = (uint64_t)gk_syscalls[tf->rax](&a);
}
