/* guest-kernel/user_oom.c: more memory asked for than the guest has.
 *
 * procs children each map (mmap, or brk for every other one) and write a
 * share of the free memory, a chunk at a time, yielding between chunks so that they grow together.
 * The shares add up to 120% of what was free: 80% between all but the last, so that they fit, and
 * 40% for the last, which sets its oom_adj to 1000 (first choice). Those that fit hold their memory
 * until the last is gone (a flag in shared memory, set by the parent once it has waited for that
 * one), so that all of it is asked for at once whatever the order they run in. The OOM killer must
 * kill the last (USER_STATUS_OOM) and only it; the others then check every page they wrote and exit
 * 0. The parent (oom_adj -1000, never chosen) checks the statuses and that the kernel counted one
 * kill.
 */
#include "user.h"

#define U_OOM_CHUNK 64 /* pages between yields */

/* Where the pages come from: even children move the program break
 * (brk), odd ones map an area (mmap). */
static uint64_t u_oom_memory(uint64_t pages, uint64_t who)
{
	uint64_t base = (uint64_t)u_syscall(SYS_BRK, 0, 0, 0), len = pages * U_PAGE;

	if (who % 2)
		return u_mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	base = (base + U_PAGE - 1) & ~(U_PAGE - 1);
	return (uint64_t)u_syscall(SYS_BRK, base + len, 0, 0) == base + len
		   ? base
		   : (uint64_t)-UAPI_ENOMEM;
}

static void u_oom_child(const struct user_args *a, uint64_t pages, uint64_t who,
			volatile uint64_t *victim_gone)
{
	uint64_t base = u_oom_memory(pages, who), i, p;

	if (u_failed(base))
		u_exit(2);
	for (i = 0; i < pages; i++) {
		p = base + i * U_PAGE;
		u_page_fill(p, u_pattern(p, who, a->seed));
		if (i % U_OOM_CHUNK == U_OOM_CHUNK - 1)
			u_yield();
	}
	while (!*victim_gone)
		u_yield();
	for (i = 0; i < pages; i++) {
		p = base + i * U_PAGE;
		if (!u_page_check(p, u_pattern(p, who, a->seed), "oom"))
			u_exit(1);
	}
	u_exit(0);
}

struct u_outcome u_oom(const struct user_args *a)
{
	uint64_t procs = a->procs < 2 ? 2 : a->procs, share, last, c, v[2];
	volatile uint64_t *victim_gone;
	int64_t victim = 0, pid;
	struct user_stat st;
	int status = 0;
	bool ok;

	u_syscall(SYS_OOM_ADJ, (uint64_t)-1000, 0, 0);
	victim_gone = (volatile uint64_t *)(uintptr_t)u_mmap(0, U_PAGE, PROT_READ | PROT_WRITE,
							     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (u_failed((uint64_t)(uintptr_t)victim_gone))
		return (struct u_outcome){0, false};
	u_stat(&st);
	share = st.free_pages * 80 / 100 / (procs - 1);
	last = st.free_pages * 40 / 100;
	for (c = 0; c < procs; c++) {
		pid = u_fork();
		if (pid == 0) {
			if (c == procs - 1)
				u_syscall(SYS_OOM_ADJ, 1000, 0, 0);
			u_oom_child(a, c == procs - 1 ? last : share, c, victim_gone);
		}
		if (pid < 0)
			return (struct u_outcome){0, false};
		victim = pid; /* the last */
	}
	ok = u_wait(victim, &status) == victim && status == USER_STATUS_OOM;
	*victim_gone = 1;
	ok = u_wait_all(0, 0, 0) && ok;
	if (status != USER_STATUS_OOM) {
		static const char *const keys[] = {"pid", "status", "want"};
		uint64_t w[] = {(uint64_t)victim, (uint64_t)status, USER_STATUS_OOM};

		u_report("CHILD", 3, keys, w);
	}
	u_stat(&st);
	if (st.oom_kills != 1) {
		static const char *const kills[] = {"kills", "want"};

		v[0] = st.oom_kills;
		v[1] = 1;
		u_report("OOMKILLS", 2, kills, v);
		ok = false;
	}
	return (struct u_outcome){share * (procs - 1) + last, ok};
}
