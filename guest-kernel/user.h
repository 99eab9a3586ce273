/* guest-kernel/user.h: the user-mode side of the workloads.
 *
 * user_*.c run at CPL3, linked at USER_BASE and built with -fpie: they may
 * call each other but nothing in the kernel (kernel.ld would fail the link
 * with a truncated relocation). System calls follow uapi.h.
 */
#ifndef GK_USER_H
#define GK_USER_H

#include <stdbool.h>
#include <stdint.h>
#include "uapi.h"

#define U_PAGE	     4096ULL
#define U_PAGE_WORDS (U_PAGE / 8)

/* What a workload returns to user_main, which reports it. */
struct u_outcome {
	uint64_t pages;
	bool ok;
};

void user_main(const struct user_args *a) __attribute__((noreturn));

int64_t u_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2);
int64_t u_syscall6(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		   uint64_t a5);
void u_exit(int64_t status) __attribute__((noreturn));
int64_t u_fork(void);
/* The pid of the child that ended (pid -1: any), its status in *status. */
int64_t u_wait(int64_t pid, int *status);
void u_yield(void);
int64_t u_spawn(const char *name);
uint64_t u_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, int64_t fd,
		uint64_t off); /* > -4096 as signed: -errno */
int64_t u_munmap(uint64_t addr, uint64_t len);
int64_t u_mprotect(uint64_t addr, uint64_t len, uint64_t prot);
void u_stat(struct user_stat *st);
/* Whether v, as a system call returned it, is an error. */
static inline bool u_failed(uint64_t v)
{
	return (int64_t)v < 0 && (int64_t)v > -4096;
}
uint64_t u_rdtsc(void);
uint64_t u_xorshift(uint64_t *state);

/* A line of text built in pieces, sent with u_line_send. Start one by
 * setting len = 0, not with an initializer: clang clears the whole struct
 * with a call to memset, which code at USER_BASE cannot reach. */
struct u_line {
	char buf[SYS_WRITE_MAX];
	unsigned len;
};
void u_line_str(struct u_line *l, const char *s);
void u_line_hex(struct u_line *l, uint64_t v);
void u_line_dec(struct u_line *l, uint64_t v);
void u_line_send(struct u_line *l);

/* Page contents: word i of a page holds pattern + i, where the pattern
 * derives from (address, pass, seed) and is never 0, so word 0 == 0 means
 * "never written" (demand-zero pages must read all zero). */
uint64_t u_pattern(uint64_t page, uint64_t pass, uint64_t seed);
void u_page_fill(uint64_t page, uint64_t pattern);
/* true if the page holds pattern; else reports the first bad word. */
bool u_page_check(uint64_t page, uint64_t pattern, const char *what);
bool u_page_zero(uint64_t page, const char *what);
/* Random access to heap page index: fill it if the scratch bitmap says it
 * was never written (checking it reads zero first), else check it. */
bool u_page_touch(const struct user_args *a, uint64_t index, uint64_t pattern, uint64_t *written);
/* Final pass: written pages hold their pattern, the others read zero. */
bool u_page_sweep(const struct user_args *a, uint64_t index, uint64_t pattern);
/* `PASS workload=NAME pass=P` when progress asks for pass P (counted from 1). */
void u_pass_line(const struct user_args *a, const char *name, uint64_t pass);
/* Which VM this is (SYS_FORKID): (generation << 16) | index, 0 if booted. */
uint64_t u_forkid(void);
/* `FORK generation=G index=I` of the identity id. */
void u_fork_line(uint64_t id);
/* A file of the boot archive as its "manifest" lists it (user_mmapfile.c):
 * one line each, "<FNV-1a 64 in hex> <size> <name>". */
#define U_NAME_MAX 64
struct u_file {
	char name[U_NAME_MAX];
	uint64_t len, size, sum;
};
/* The manifest line at *p (below end) into f, *p moved past it; false at
 * the end or if the line is malformed. */
bool u_manifest_next(const char **p, const char *end, struct u_file *f);
/* SYS_OPEN: the descriptor of the file called name, its size in *size. */
int64_t u_open(const char *name, uint64_t len, uint64_t *size);

/* A line `WHAT` then " key=value" pairs, n of them, values in decimal. */
void u_report(const char *what, unsigned n, const char *const *keys, const uint64_t *values);
/* Wait for every child of this process; false (after a line naming the
 * child and its status) if one did not exit with want, or, the child
 * odd, with odd_want. */
bool u_wait_all(int want, int64_t odd, int odd_want);

struct u_outcome u_touch(const struct user_args *a);
struct u_outcome u_random(const struct user_args *a);
struct u_outcome u_hotset(const struct user_args *a);
struct u_outcome u_phases(const struct user_args *a);
struct u_outcome u_verify(const struct user_args *a);
struct u_outcome u_segv(const struct user_args *a);
struct u_outcome u_churn(const struct user_args *a);
struct u_outcome u_oob(const struct user_args *a);
struct u_outcome u_forktree(const struct user_args *a);
struct u_outcome u_mmapfile(const struct user_args *a);
struct u_outcome u_shm(const struct user_args *a);
struct u_outcome u_stack(const struct user_args *a);
struct u_outcome u_oom(const struct user_args *a);
struct u_outcome u_tlb(const struct user_args *a);
struct u_outcome u_cost(const struct user_args *a);

#endif
