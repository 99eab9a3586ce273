/* guest-kernel/user_tlb.c: no stale translation may survive a change.
 *
 * Each case runs in a child that first reads the page it is about to
 * change, so that the TLB holds a translation for it, then changes the
 * mapping and touches the page again:
 *   munmap    the page unmapped: the touch must kill it (SEGV)
 *   remap     unmapped and mapped anew: it must read zero, not the old data
 *   mprotect  made read-only: a write must kill it
 *   protnone  made PROT_NONE: a read must kill it
 *   brk       the program break moved up a page and back: a read must kill it
 *   cow       parent and child share a page; the parent's write copies it,
 *             then the child's takes the old frame back and writes it: the
 *             parent must keep reading its copy, the child its own data
 *   reuse     a process maps the page and exits; a process spawned into
 *             its slot (so with its PCID) must read its own fresh page
 * A child that gets through a touch it should not exits U_TLB_STALE.
 * With PCIDs (boot argument pcid=1 where the CPU has them) entries of
 * every address space survive switches, so each case tests that the
 * kernel invalidated exactly what it changed; tlb_skip=1 makes a kernel
 * that does not, which this workload must catch.
 */
#include "user.h"

#define U_TLB_ADDR  (USER_MMAP_BASE + 0x100000000ULL) /* mapped by nothing else */
#define U_TLB_STALE 42

static uint64_t u_tlb_read(uint64_t addr)
{
	return *(volatile uint64_t *)(uintptr_t)addr;
}

static void u_tlb_write(uint64_t addr, uint64_t v)
{
	*(volatile uint64_t *)(uintptr_t)addr = v;
}

/* A fresh private page at U_TLB_ADDR holding v, read back (TLB warm). */
static void u_tlb_map(uint64_t v)
{
	if (u_failed(u_mmap(U_TLB_ADDR, U_PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)))
		u_exit(2);
	u_tlb_write(U_TLB_ADDR, v);
	if (u_tlb_read(U_TLB_ADDR) != v)
		u_exit(3);
}

static void u_tlb_munmap(uint64_t v)
{
	u_tlb_map(v);
	u_munmap(U_TLB_ADDR, U_PAGE);
	u_tlb_read(U_TLB_ADDR);
	u_exit(U_TLB_STALE);
}

static void u_tlb_remap(uint64_t v)
{
	u_tlb_map(v);
	u_munmap(U_TLB_ADDR, U_PAGE);
	if (u_failed(u_mmap(U_TLB_ADDR, U_PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)))
		u_exit(2);
	u_exit(u_tlb_read(U_TLB_ADDR) ? U_TLB_STALE : 0);
}

static void u_tlb_mprotect(uint64_t v)
{
	u_tlb_map(v);
	u_mprotect(U_TLB_ADDR, U_PAGE, PROT_READ);
	u_tlb_write(U_TLB_ADDR, v + 1);
	u_exit(U_TLB_STALE);
}

static void u_tlb_protnone(uint64_t v)
{
	u_tlb_map(v);
	u_mprotect(U_TLB_ADDR, U_PAGE, 0);
	u_tlb_read(U_TLB_ADDR);
	u_exit(U_TLB_STALE);
}

static void u_tlb_brk(uint64_t v)
{
	uint64_t page = ((uint64_t)u_syscall(SYS_BRK, 0, 0, 0) + U_PAGE - 1) & ~(U_PAGE - 1);

	if ((uint64_t)u_syscall(SYS_BRK, page + U_PAGE, 0, 0) != page + U_PAGE)
		u_exit(2);
	u_tlb_write(page, v);
	if (u_tlb_read(page) != v || (uint64_t)u_syscall(SYS_BRK, page, 0, 0) != page)
		u_exit(3);
	u_tlb_read(page);
	u_exit(U_TLB_STALE);
}

/* ctl[0]: the step the child has reached, ctl[1]: the parent's. */
static void u_tlb_wait(volatile uint64_t *ctl, unsigned who, uint64_t step)
{
	while (ctl[who] < step)
		u_yield();
}

static void u_tlb_cow(uint64_t v)
{
	volatile uint64_t *ctl = (volatile uint64_t *)(uintptr_t)u_mmap(
	    0, U_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int64_t pid;
	int status;

	if (u_failed((uint64_t)(uintptr_t)ctl))
		u_exit(2);
	u_tlb_map(v);
	pid = u_fork();
	if (pid == 0) {
		if (u_tlb_read(U_TLB_ADDR) != v)
			u_exit(4);
		ctl[0] = 1;
		u_tlb_wait(ctl, 1, 1);
		if (u_tlb_read(U_TLB_ADDR) != v) /* the parent's copy is not ours */
			u_exit(U_TLB_STALE);
		u_tlb_write(U_TLB_ADDR, v + 2); /* the old frame is ours alone now */
		ctl[0] = 2;
		u_exit(u_tlb_read(U_TLB_ADDR) == v + 2 ? 0 : U_TLB_STALE);
	}
	u_tlb_wait(ctl, 0, 1);
	u_tlb_write(U_TLB_ADDR, v + 1); /* a copy */
	if (u_tlb_read(U_TLB_ADDR) != v + 1)
		u_exit(U_TLB_STALE);
	ctl[1] = 1;
	u_tlb_wait(ctl, 0, 2);
	if (u_tlb_read(U_TLB_ADDR) != v + 1) /* the child wrote the old frame */
		u_exit(U_TLB_STALE);
	u_exit(u_wait(pid, &status) == pid && status == 0 ? 0 : U_TLB_STALE);
}

static void u_tlb_reuse(uint64_t v)
{
	int64_t pid = u_fork();
	int status;

	if (pid == 0) {
		u_tlb_map(v);
		u_exit(0);
	}
	if (u_wait(pid, &status) != pid || status)
		u_exit(2);
	/* The slot is free again: the spawned process gets it, and its PCID. */
	pid = u_spawn("tlb");
	u_exit(pid > 0 && u_wait(pid, &status) == pid ? status : 2);
}

static const struct {
	const char *name;
	void (*run)(uint64_t v);
	int want;
} u_tlb_cases[] = {
    {"munmap", u_tlb_munmap, USER_STATUS_SEGV},
    {"remap", u_tlb_remap, 0},
    {"mprotect", u_tlb_mprotect, USER_STATUS_SEGV},
    {"protnone", u_tlb_protnone, USER_STATUS_SEGV},
    {"brk", u_tlb_brk, USER_STATUS_SEGV},
    {"cow", u_tlb_cow, 0},
    {"reuse", u_tlb_reuse, 0},
};

struct u_outcome u_tlb(const struct user_args *a)
{
	uint64_t pass, i, v, n = sizeof(u_tlb_cases) / sizeof(u_tlb_cases[0]);
	struct u_outcome o = {0, true};
	struct u_line l;
	int64_t pid;
	int status;

	if (a->spawner) { /* the reuse case's second process: a fresh page reads zero */
		if (u_failed(u_mmap(U_TLB_ADDR, U_PAGE, PROT_READ,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)))
			return (struct u_outcome){0, false};
		return (struct u_outcome){1, u_tlb_read(U_TLB_ADDR) == 0};
	}
	for (pass = 0; pass < a->passes; pass++) {
		for (i = 0; i < n; i++) {
			v = u_pattern(U_TLB_ADDR, pass * 16 + i, a->seed);
			pid = u_fork();
			if (pid == 0) {
				u_tlb_cases[i].run(v);
				u_exit(2); /* not reached */
			}
			status = -1;
			if (pid > 0 && u_wait(pid, &status) == pid && status == u_tlb_cases[i].want)
				continue;
			l.len = 0;
			u_line_str(&l, "TLB case=");
			u_line_str(&l, u_tlb_cases[i].name);
			u_line_str(&l, status < 0 ? " status=none" : " status=");
			if (status >= 0)
				u_line_dec(&l, (uint64_t)status);
			u_line_str(&l, " want=");
			u_line_dec(&l, (uint64_t)u_tlb_cases[i].want);
			u_line_str(&l, status == U_TLB_STALE ? " error=\"stale translation\"" : "");
			u_line_send(&l);
			o.ok = false;
		}
		o.pages += n;
		u_pass_line(a, "tlb", pass + 1);
	}
	return o;
}
