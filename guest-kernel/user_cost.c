/* guest-kernel/user_cost.c: what each kind of fault costs, seen from user mode.
 *
 * passes samples of each, timed with rdtsc around the one access (or
 * call) that takes it, and one line per kind with the median:
 *   COST op=NAME n=N p50_cycles=C p50_ns=T
 * The kinds: a system call (getpid); an anonymous fault (a fresh
 * one-page mapping, so fault-around maps just that page); a COW copy (a
 * page a child still maps); a COW take-back (the child gone); a stack
 * growth (a page just below the stack); a file fault, miss and hit (the
 * pages of the largest file its manifest lists, new and then cached); a switch (a
 * yield to another process and back, halved); fork + exit + wait of a
 * child with the heap mapped; and what a timer interrupt takes from the
 * process it interrupts (sched=timer): the gaps in a loop that reads the
 * TSC, beside the kernel's count of ticks (with sched=trap, the same
 * loop's gaps are the host's doing: the floor). The guest's first level only: a page
 * the VMM has not provided yet costs a second-level fault too, which the
 * VMM's own statistics count (docs/guest-kernel.md has both).
 */
#include "user.h"

#define U_COST_MAX 512

struct u_cost {
	uint64_t n, c[U_COST_MAX];
};

static void u_cost_add(struct u_cost *s, uint64_t cycles)
{
	if (s->n < U_COST_MAX)
		s->c[s->n++] = cycles;
}

static void u_cost_report(const char *op, struct u_cost *s, uint64_t tsc_hz)
{
	uint64_t i, j, t, p50;
	struct u_line l;

	for (i = 1; i < s->n; i++) /* insertion sort: a few hundred samples */
		for (j = i; j && s->c[j - 1] > s->c[j]; j--) {
			t = s->c[j];
			s->c[j] = s->c[j - 1];
			s->c[j - 1] = t;
		}
	p50 = s->n ? s->c[s->n / 2] : 0;
	l.len = 0;
	u_line_str(&l, "COST op=");
	u_line_str(&l, op);
	u_line_str(&l, " n=");
	u_line_dec(&l, s->n);
	u_line_str(&l, " p50_cycles=");
	u_line_dec(&l, p50);
	if (tsc_hz) {
		u_line_str(&l, " p50_ns=");
		u_line_dec(&l, p50 * 1000 / (tsc_hz / 1000000));
	}
	u_line_send(&l);
	s->n = 0;
}

static uint64_t u_cost_touch(uint64_t addr)
{
	uint64_t t0 = u_rdtsc();

	*(volatile uint64_t *)(uintptr_t)addr = t0;
	return u_rdtsc() - t0;
}

static uint64_t u_cost_read(uint64_t addr)
{
	uint64_t t0 = u_rdtsc();

	(void)*(volatile uint64_t *)(uintptr_t)addr;
	return u_rdtsc() - t0;
}

static uint64_t u_cost_map(uint64_t pages, uint64_t flags, int64_t fd)
{
	return u_mmap(0, pages * U_PAGE, PROT_READ | PROT_WRITE, flags, fd, 0);
}

/* A child that waits, yielding, until *done: it holds its pages meanwhile. */
static int64_t u_cost_child(volatile uint64_t *done)
{
	int64_t pid;

	*done = 0;
	pid = u_fork();
	if (pid == 0) {
		while (!*done)
			u_yield();
		u_exit(0);
	}
	return pid;
}

static void u_cost_cow(volatile uint64_t *done, struct u_cost *s, uint64_t hz, uint64_t n)
{
	uint64_t base = u_cost_map(n, MAP_PRIVATE | MAP_ANONYMOUS, -1), i;
	int64_t pid;
	int status;

	if (u_failed(base))
		return;
	for (i = 0; i < n; i++)
		u_cost_touch(base + i * U_PAGE);
	pid = u_cost_child(done);
	for (i = 0; i < n; i++)
		u_cost_add(s, u_cost_touch(base + i * U_PAGE));
	u_cost_report("cow_copy", s, hz);
	*done = 1;
	u_wait(pid, &status);
	pid = u_cost_child(done);
	*done = 1;
	u_wait(pid, &status); /* every page shared again, then not */
	for (i = 0; i < n; i++)
		u_cost_add(s, u_cost_touch(base + i * U_PAGE));
	u_cost_report("cow_reuse", s, hz);
	u_munmap(base, n * U_PAGE);
}

/* The largest file the archive's manifest lists: its descriptor and size. */
static int64_t u_cost_largest_file(uint64_t *size)
{
	static const char manifest[] = "manifest";
	struct u_file f, big = {"", 0, 0, 0};
	uint64_t msize = 0, base;
	const char *p, *end;
	int64_t fd = u_open(manifest, sizeof(manifest) - 1, &msize);

	if (fd < 0 || !msize)
		return -1;
	base = u_mmap(0, msize, PROT_READ, MAP_PRIVATE, fd, 0);
	if (u_failed(base))
		return -1;
	end = (const char *)(uintptr_t)(base + msize);
	for (p = (const char *)(uintptr_t)base; p < end && u_manifest_next(&p, end, &f);)
		if (f.size > big.size)
			big = f;
	u_munmap(base, msize);
	return big.len ? u_open(big.name, big.len, size) : -1;
}

static void u_cost_file(struct u_cost *s, uint64_t hz)
{
	uint64_t size = 0, base, i, n;
	int64_t fd = u_cost_largest_file(&size);

	if (fd < 0 || !size)
		return;
	n = (size + U_PAGE - 1) / U_PAGE;
	base = u_mmap(0, n * U_PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	if (u_failed(base))
		return;
	for (i = 0; i < n; i++)
		u_cost_add(s, u_cost_read(base + i * U_PAGE));
	u_cost_report("file_miss", s, hz);
	u_munmap(base, n * U_PAGE);
	base = u_mmap(0, n * U_PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	for (i = 0; i < n; i++)
		u_cost_add(s, u_cost_read(base + i * U_PAGE));
	u_cost_report("file_hit", s, hz);
	u_munmap(base, n * U_PAGE);
}

/* The gaps in a tight rdtsc loop over 2^32 cycles, longer than
 * U_COST_GAP (the loop's own turn takes tens of cycles): with the timer,
 * mostly its ticks; without, what the host takes (the floor to compare). */
#define U_COST_GAP 20000

static void u_cost_gaps(struct u_cost *s, uint64_t hz)
{
	struct user_stat st;
	uint64_t t, last, start, ticks;
	struct u_line l;

	u_stat(&st);
	ticks = st.ticks;
	last = start = u_rdtsc();
	while (last - start < (1ULL << 32)) {
		t = u_rdtsc();
		if (t - last > U_COST_GAP)
			u_cost_add(s, t - last);
		last = t;
	}
	u_stat(&st);
	l.len = 0;
	u_line_str(&l, "COST ticks=");
	u_line_dec(&l, st.ticks - ticks);
	u_line_str(&l, " gaps=");
	u_line_dec(&l, s->n);
	u_line_send(&l);
	u_cost_report(st.ticks ? "timer_tick" : "no_tick_gap", s, hz);
}

struct u_outcome u_cost(const struct user_args *a)
{
	static struct u_cost s; /* 4 KiB: not on the stack */
	uint64_t n = a->passes < U_COST_MAX ? a->passes : U_COST_MAX, i, t0, p, sp;
	volatile uint64_t *done;
	struct user_stat st;
	int64_t pid;
	int status;

	u_stat(&st);
	for (i = 0; i < n; i++) {
		t0 = u_rdtsc();
		u_syscall(SYS_GETPID, 0, 0, 0);
		u_cost_add(&s, u_rdtsc() - t0);
	}
	u_cost_report("syscall", &s, st.tsc_hz);
	/* Before anything grows the process: a small one (code, data, stack). */
	for (i = 0; i < n / 8 + 1; i++) {
		t0 = u_rdtsc();
		pid = u_fork();
		if (pid == 0)
			u_exit(0);
		u_wait(pid, &status);
		u_cost_add(&s, u_rdtsc() - t0);
	}
	u_cost_report("fork_exit_wait", &s, st.tsc_hz);
	for (i = 0; i < n; i++) {
		p = u_cost_map(1, MAP_PRIVATE | MAP_ANONYMOUS, -1);
		if (u_failed(p))
			return (struct u_outcome){0, false};
		u_cost_add(&s, u_cost_touch(p));
		u_munmap(p, U_PAGE);
	}
	u_cost_report("anon", &s, st.tsc_hz);
	done = (volatile uint64_t *)(uintptr_t)u_cost_map(1, MAP_SHARED | MAP_ANONYMOUS, -1);
	if (u_failed((uint64_t)(uintptr_t)done))
		return (struct u_outcome){0, false};
	u_cost_cow(done, &s, st.tsc_hz, n);
	/* Pages below the stack, well under what it has used so far. */
	sp = ((uint64_t)(uintptr_t)&st & ~(U_PAGE - 1)) - 16 * U_PAGE;
	for (i = 0; i < n && (i + 17) * U_PAGE < a->stack_max; i++)
		u_cost_add(&s, u_cost_touch(sp - i * U_PAGE));
	u_cost_report("stack", &s, st.tsc_hz);
	u_cost_file(&s, st.tsc_hz);
	pid = u_cost_child(done);
	for (i = 0; i < n; i++) {
		t0 = u_rdtsc();
		u_yield();
		u_cost_add(&s, (u_rdtsc() - t0) / 2);
	}
	u_cost_report("switch", &s, st.tsc_hz);
	*done = 1;
	u_wait(pid, &status);

	u_cost_gaps(&s, st.tsc_hz);
	return (struct u_outcome){n, true};
}
