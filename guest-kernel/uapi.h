/* guest-kernel/uapi.h: the contract between the kernel and its user tasks.
 *
 * Both the kernel and user_*.c include it. A task starts at user_main with
 * %rdi = the user address of a struct user_args on top of its stack, and
 * talks to the kernel with `int $0x80`: %rax = SYS_*, arguments in %rdi,
 * %rsi, %rdx, result in %rax (>= 0, or -errno).
 *
 * User address space (PML4 slot 1, the kernel's identity map is slot 0):
 *   USER_BASE        code (r-x, the image's pages), then data (rw, copy-on-write)
 *   USER_SCRATCH_BASE  anonymous, demand-zero: one bit per heap page, for
 *                    workloads that must remember which pages they wrote
 *   USER_OOB_BASE    oob workload only: one read-only page mapping the
 *                    guest-physical page just past the end of RAM
 *   USER_HEAP_BASE   anonymous heap, demand-zero, the workload's size
 *   USER_STACK_TOP   stack grows down from here, USER_STACK_SIZE, demand-zero
 */
#ifndef GK_UAPI_H
#define GK_UAPI_H

#include <stdint.h>

#define USER_BASE	  0x8000000000ULL
#define USER_END	  0x10000000000ULL
#define USER_SCRATCH_BASE (USER_BASE + 0x20000000ULL)
#define USER_OOB_BASE	  (USER_BASE + 0x30000000ULL)
#define USER_HEAP_BASE	  (USER_BASE + 0x40000000ULL)
#define USER_STACK_TOP	  (USER_END - 0x1000ULL) /* one unmapped guard page above */
#define USER_STACK_SIZE	  0x10000ULL
#define USER_HEAP_MAX	  (USER_STACK_TOP - USER_STACK_SIZE - 0x40000000ULL - USER_HEAP_BASE)

/* write(buf, len): print one line (no newline needed), len <= SYS_WRITE_MAX */
#define SYS_WRITE 1
/* exit(status): end the task; 0 is success */
#define SYS_EXIT 2
/* result(struct user_result *): report the workload's measurement */
#define SYS_RESULT 3
/* release(addr, len): drop the pages of a heap range; they read zero after */
#define SYS_RELEASE 4
/* forkid(): which VM this is, (generation << 16) | index as VMM_PORT_FORKID
 * reads; 0 (the VM that was booted) where the VMM names no such port */
#define SYS_FORKID 5

#define SYS_WRITE_MAX 200
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
	WORKLOAD_TRIPLE, /* run by the kernel itself, never as a task */
	WORKLOAD_COUNT
};

struct user_args {
	uint64_t workload; /* enum workload */
	uint64_t heap;	   /* USER_HEAP_BASE */
	uint64_t size;	   /* heap bytes, a multiple of 4096 */
	uint64_t seed;
	uint64_t passes;
	uint64_t hot;	   /* percent of pages in the hot set */
	uint64_t scratch;  /* USER_SCRATCH_BASE: size / 4096 bits, zero */
	uint64_t stride;   /* touch: every stride-th page */
	uint64_t oob;	   /* oob: USER_OOB_BASE, else 0 */
	uint64_t oob_gpa;  /* oob: the GPA mapped there */
	uint64_t progress; /* verify: a PASS line every progress-th pass, 0 never */
	uint64_t wset;	   /* verify: bytes each pass after the first covers, 0: all */
};

struct user_result {
	char name[16];	 /* workload name, NUL-terminated */
	uint64_t pages;	 /* distinct pages the workload touched */
	uint64_t cycles; /* rdtsc delta of the workload's body */
	uint64_t ok;	 /* 1: every read matched what was written */
};

#endif
