/* guest-kernel/user_main.c: a process's entry point; runs one workload,
 * reports it with SYS_RESULT (unless another process spawned it) and
 * exits with its verdict. */
#include "user.h"

/* Written at startup: the first write takes the data area's copy-on-write
 * fault, so every run exercises that path too. */
static char u_task_name[16] = "?";

static const struct {
	const char *name;
	struct u_outcome (*run)(const struct user_args *a);
} u_workloads[] = {
    [WORKLOAD_TOUCH] = {"touch", u_touch},
    [WORKLOAD_RANDOM] = {"random", u_random},
    [WORKLOAD_HOTSET] = {"hotset", u_hotset},
    [WORKLOAD_PHASES] = {"phases", u_phases},
    [WORKLOAD_VERIFY] = {"verify", u_verify},
    [WORKLOAD_SEGV] = {"segv", u_segv},
    [WORKLOAD_CHURN] = {"churn", u_churn},
    [WORKLOAD_OOB] = {"oob", u_oob},
    [WORKLOAD_FORKTREE] = {"forktree", u_forktree},
    [WORKLOAD_MMAPFILE] = {"mmapfile", u_mmapfile},
    [WORKLOAD_SHM] = {"shm", u_shm},
    [WORKLOAD_STACK] = {"stack", u_stack},
    [WORKLOAD_OOM] = {"oom", u_oom},
    [WORKLOAD_TLB] = {"tlb", u_tlb},
    [WORKLOAD_COST] = {"cost", u_cost},
};

void user_main(const struct user_args *a)
{
	struct user_result r = {.pages = 0};
	struct u_outcome o;
	uint64_t t0, i;

	if (a->workload >= sizeof(u_workloads) / sizeof(u_workloads[0]) ||
	    !u_workloads[a->workload].run)
		u_exit(2);
	for (i = 0; u_workloads[a->workload].name[i] && i < sizeof(u_task_name) - 1; i++)
		u_task_name[i] = u_workloads[a->workload].name[i];
	u_task_name[i] = '\0';
	t0 = u_rdtsc();
	o = u_workloads[a->workload].run(a);
	r.cycles = u_rdtsc() - t0;
	if (a->spawner) /* a helper of another process: its status says it all */
		u_exit(o.ok ? 0 : 1);
	for (i = 0; i < sizeof(r.name); i++)
		r.name[i] = u_task_name[i];
	r.pages = o.pages;
	r.ok = o.ok;
	u_syscall(SYS_RESULT, (uint64_t)(uintptr_t)&r, 0, 0);
	u_exit(o.ok ? 0 : 1);
}
