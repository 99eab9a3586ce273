/* guest-kernel/user_oom.c: more memory asked for than the guest has.
 *
 * procs children each map and write a share of the free memory, a chunk
 * at a time, yielding between chunks so that they grow together. The
 * shares add up to 120% of what was free: 40% each for the first ones, so
 * that all but the last fit, and the last, which sets its oom_adj to 1000
 * (first choice), makes up the rest. The OOM killer must kill that one
 * (USER_STATUS_OOM) and only it; the others finish, check every page
 * they wrote and exit 0. The parent (oom_adj -1000, never chosen) checks
 * the statuses and that the kernel counted one kill.
 */
#include "user.h"

#define U_OOM_CHUNK 64 /* pages between yields */

static void u_oom_child(const struct user_args *a, uint64_t pages, uint64_t who)
{
	uint64_t base = u_mmap(0, pages * U_PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		 i, p;

	if (u_failed(base))
		u_exit(2);
	for (i = 0; i < pages; i++) {
		p = base + i * U_PAGE;
		u_page_fill(p, u_pattern(p, who, a->seed));
		if (i % U_OOM_CHUNK == U_OOM_CHUNK - 1)
			u_yield();
	}
	for (i = 0; i < pages; i++) {
		p = base + i * U_PAGE;
		if (!u_page_check(p, u_pattern(p, who, a->seed), "oom"))
			u_exit(1);
	}
	u_exit(0);
}

struct u_outcome u_oom(const struct user_args *a)
{
	static const char *const keys[] = {"pid", "status", "want"};
	uint64_t procs = a->procs < 2 ? 2 : a->procs, share, last, c, v[3];
	int64_t pids[32], victim = 0, pid;
	struct user_stat st;
	bool ok = true;
	int status;

	u_syscall(SYS_OOM_ADJ, (uint64_t)-1000, 0, 0);
	u_stat(&st);
	share = st.free_pages * 40 / 100;
	last = st.free_pages * 120 / 100 - share * (procs - 1);
	for (c = 0; c < procs; c++) {
		pid = u_fork();
		if (pid == 0) {
			if (c == procs - 1)
				u_syscall(SYS_OOM_ADJ, 1000, 0, 0);
			u_oom_child(a, c == procs - 1 ? last : share, c);
		}
		if (pid < 0)
			return (struct u_outcome){0, false};
		pids[c] = pid;
	}
	victim = pids[procs - 1];
	while ((pid = u_wait(-1, &status)) > 0) {
		int want = pid == victim ? USER_STATUS_OOM : 0;

		if (status != want) {
			v[0] = (uint64_t)pid;
			v[1] = (uint64_t)status;
			v[2] = (uint64_t)want;
			u_report("OOMCHILD", 3, keys, v);
			ok = false;
		}
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
