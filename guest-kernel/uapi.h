/* guest-kernel/uapi.h: the contract between the kernel and its processes.
 *
 * Both the kernel and user_*.c include it. A process starts at user_main
 * with %rdi = the user address of a struct user_args on top of its stack,
 * and talks to the kernel with `int $0x80`: %rax = SYS_*, arguments in
 * %rdi, %rsi, %rdx, %r10, %r8, %r9 (Linux's order), result in %rax (>= 0,
 * or -errno).
 *
 * User address space (PML4 slot 1; the kernel's identity map is slot 0):
 *   USER_BASE          code (r-x, the image's pages), then data (rw, copied on write)
 *   USER_SCRATCH_BASE  anonymous: one bit per heap page, for workloads that
 *                      must remember which pages they wrote
 *   USER_OOB_BASE      oob workload only: one read-only page mapping the
 *                      guest-physical page just past the end of RAM
 *   USER_HEAP_BASE     anonymous heap of the workload's size; the program
 *                      break (SYS_BRK) starts at its end
 *   USER_MMAP_BASE ..  where SYS_MMAP places mappings without an address,
 *   USER_MMAP_TOP      highest first
 *   USER_STACK_TOP     the stack: USER_STACK_SIZE mapped, growing down on
 *                      faults below it to stack_max (a boot argument)
 */
#ifndef GK_UAPI_H
#define GK_UAPI_H

#include <stdint.h>

#define USER_BASE	  0x8000000000ULL
#define USER_END	  0x10000000000ULL
#define USER_SCRATCH_BASE (USER_BASE + 0x20000000ULL)
#define USER_OOB_BASE	  (USER_BASE + 0x30000000ULL)
#define USER_HEAP_BASE	  (USER_BASE + 0x40000000ULL)
#define USER_HEAP_MAX	  0x2000000000ULL /* 128 GiB */
#define USER_MMAP_BASE	  (USER_BASE + 0x4000000000ULL)
#define USER_MMAP_TOP	  (USER_END - 0x1000000000ULL)
#define USER_STACK_TOP	  (USER_END - 0x1000ULL) /* one unmapped guard page above */
#define USER_STACK_SIZE	  0x10000ULL		 /* mapped at start */
#define USER_STACK_LIMIT  0x40000000ULL		 /* the most stack_max may allow */

/* write(buf, len): print one line (no newline needed), len <= SYS_WRITE_MAX */
#define SYS_WRITE 1
/* exit(status): end the process; 0 is success */
#define SYS_EXIT 2
/* result(struct user_result *): report the workload's measurement */
#define SYS_RESULT 3
/* release(addr, len): drop the pages of an anonymous range; they read zero after */
#define SYS_RELEASE 4
/* forkid(): which VM this is, (generation << 16) | index as VMM_PORT_FORKID
 * reads; 0 (the VM that was booted) where the VMM names no such port */
#define SYS_FORKID 5
/* fork(): a copy of this process, its memory shared copy-on-write; 0 in
 * the child, the child's pid in the parent */
#define SYS_FORK 6
/* wait(pid, int *status): wait for child pid (-1: any) to end; its pid,
 * -ECHILD if there is none. status: the exit status, or USER_STATUS_* */
#define SYS_WAIT   7
#define SYS_GETPID 8
/* yield(): let the other runnable processes run first */
#define SYS_YIELD 9
/* spawn(name, len): a new process (a fresh address space) running the
 * workload called name, with the boot arguments; its pid */
#define SYS_SPAWN 10
/* brk(addr): set the program break (0: just ask); the break after */
#define SYS_BRK 11
/* mmap(addr, len, prot, flags, fd, offset): the mapping's address */
#define SYS_MMAP 12
/* munmap(addr, len), mprotect(addr, len, prot) */
#define SYS_MUNMAP   13
#define SYS_MPROTECT 14
/* open(name, len, uint64_t *size): a file of the boot archive, for
 * SYS_MMAP; its size in *size. Files are read-only and never need closing. */
#define SYS_OPEN 15
/* stat(struct user_stat *): this process's and the kernel's counters */
#define SYS_STAT 16
/* oom_adj(adj): this process's badness adjustment, -1000 (never chosen)
 * to 1000, as Linux's oom_score_adj */
#define SYS_OOM_ADJ 17

#define PROT_READ     1
#define PROT_WRITE    2
#define PROT_EXEC     4
#define MAP_SHARED    0x01
#define MAP_PRIVATE   0x02
#define MAP_FIXED     0x10
#define MAP_ANONYMOUS 0x20

/* A process's status when it was killed, as a shell shows a signal. */
#define USER_STATUS_OOM	 137 /* 128 + SIGKILL: chosen by the OOM killer */
#define USER_STATUS_SEGV 139 /* 128 + SIGSEGV: a bad access */

#define SYS_WRITE_MAX 200
#define UAPI_ENOENT   2
#define UAPI_ESRCH    3
#define UAPI_ECHILD   10
#define UAPI_EAGAIN   11
#define UAPI_ENOMEM   12
#define UAPI_EACCES   13
#define UAPI_EFAULT   14
#define UAPI_EINVAL   22
#define UAPI_ENOSYS   38

enum workload {
	WORKLOAD_TOUCH,
	WORKLOAD_RANDOM,
	WORKLOAD_HOTSET,
	WORKLOAD_PHASES,
	WORKLOAD_VERIFY,
	WORKLOAD_SEGV,
	WORKLOAD_CHURN,
	WORKLOAD_OOB,
	WORKLOAD_FORKTREE,
	WORKLOAD_MMAPFILE,
	WORKLOAD_SHM,
	WORKLOAD_STACK,
	WORKLOAD_OOM,
	WORKLOAD_TLB,
	WORKLOAD_COST,
	WORKLOAD_TRIPLE, /* run by the kernel itself, never as a process */
	WORKLOAD_COUNT
};

struct user_args {
	uint64_t workload; /* enum workload */
	uint64_t heap;	   /* USER_HEAP_BASE */
	uint64_t size;	   /* heap bytes, a multiple of 4096 */
	uint64_t seed;
	uint64_t passes;
	uint64_t hot;	    /* percent of pages in the hot set */
	uint64_t scratch;   /* USER_SCRATCH_BASE: size / 4096 bits, zero */
	uint64_t stride;    /* touch: every stride-th page */
	uint64_t oob;	    /* oob: USER_OOB_BASE, else 0 */
	uint64_t oob_gpa;   /* oob: the GPA mapped there */
	uint64_t progress;  /* a PASS line every progress-th pass, 0 never */
	uint64_t wset;	    /* verify: bytes each pass after the first covers, 0: all */
	uint64_t depth;	    /* forktree: levels of children below the root */
	uint64_t fanout;    /* forktree: children per process */
	uint64_t write;	    /* forktree: percent of the heap each child writes */
	uint64_t procs;	    /* shm, oom: child processes */
	uint64_t stack;	    /* stack: bytes of stack the recursion uses */
	uint64_t stack_max; /* the kernel's limit on stack growth */
	uint64_t spawner;   /* the pid that spawned this process, 0 for init */
};

struct user_result {
	char name[16];	 /* workload name, NUL-terminated */
	uint64_t pages;	 /* distinct pages the workload touched */
	uint64_t cycles; /* rdtsc delta of the workload's body */
	uint64_t ok;	 /* 1: every read matched what was written */
};

struct user_stat {
	/* this process */
	uint64_t pid, ppid;
	uint64_t rss;	      /* pages mapped */
	uint64_t faults;      /* page faults taken */
	uint64_t cow_copies;  /* write faults that copied a shared page */
	uint64_t cow_reuses;  /* write faults that took a page back uncopied */
	uint64_t stack_grows; /* faults that grew the stack */
	/* the kernel */
	uint64_t free_pages; /* frames the allocator can still hand out */
	uint64_t procs;	     /* live processes */
	uint64_t oom_kills;
	uint64_t pcid;	 /* 1: address spaces have PCIDs */
	uint64_t tsc_hz; /* 0: unknown */
	uint64_t ticks;	 /* LAPIC timer interrupts so far (0: no timer, sched=trap) */
};

#endif
