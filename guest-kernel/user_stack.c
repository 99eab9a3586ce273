/* guest-kernel/user_stack.c: a stack that grows, and one that overflows.
 *
 * The process recurses until its frames cover `stack` bytes, each frame
 * filling a kilobyte with a pattern of its depth and checking it after
 * the deeper calls return: the kernel must grow the stack area on each
 * fault just below it (SYS_STAT counts them). Then a child recurses
 * without end: past stack_max the kernel must kill it (SEGV, status
 * USER_STATUS_SEGV) and nobody else; the parent recurses again and checks.
 */
#include "user.h"

#define U_FRAME_WORDS 128 /* a kilobyte per frame */

/* noinline and the check after the call: no tail call, a real frame each. */
static __attribute__((noinline)) bool u_stack_recurse(uint64_t depth, uint64_t frames,
						      uint64_t seed)
{
	volatile uint64_t frame[U_FRAME_WORDS];
	uint64_t i, p = u_pattern(depth, 0, seed);
	bool ok = true;

	for (i = 0; i < U_FRAME_WORDS; i++)
		frame[i] = p + i;
	if (depth + 1 < frames)
		ok = u_stack_recurse(depth + 1, frames, seed);
	for (i = 0; i < U_FRAME_WORDS; i++)
		if (frame[i] != p + i)
			return false;
	return ok;
}

struct u_outcome u_stack(const struct user_args *a)
{
	static const char *const keys[] = {"bytes", "grows"};
	uint64_t frames = a->stack / (U_FRAME_WORDS * 8), v[2];
	struct user_stat st;
	int64_t pid;
	int status = 0;
	bool ok;

	ok = u_stack_recurse(0, frames, a->seed);
	u_stat(&st);
	v[0] = a->stack;
	v[1] = st.stack_grows;
	u_report("STACK", 2, keys, v);
	if (a->stack > USER_STACK_SIZE && !st.stack_grows)
		ok = false;
	pid = u_fork();
	if (pid == 0) { /* deeper than any limit: must be killed */
		u_stack_recurse(0, UINT64_MAX, a->seed);
		u_exit(0);
	}
	if (pid < 0 || u_wait(pid, &status) != pid || status != USER_STATUS_SEGV) {
		v[0] = (uint64_t)pid;
		v[1] = (uint64_t)status;
		u_report("STACK overflow-child pid status", 2, keys, v);
		ok = false;
	}
	ok = u_stack_recurse(0, frames, a->seed + 1) && ok;
	return (struct u_outcome){a->stack / U_PAGE, ok};
}
