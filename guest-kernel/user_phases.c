/* guest-kernel/user_phases.c: a working set that moves.
 *
 * The heap is cut into U_PHASES windows. Each phase writes its window,
 * re-reads it `passes` - 1 more times, then releases it (SYS_RELEASE), so
 * the next phase runs on recycled frames, which must read zero. At the
 * end every released window must read zero again.
 */
#include "user.h"

#define U_PHASES 4

static bool u_phase(const struct user_args *a, uint64_t base, uint64_t w, uint64_t phase)
{
	uint64_t round, i, p;

	for (round = 0; round < a->passes; round++)
		for (i = 0; i < w; i++) {
			p = base + i * U_PAGE;
			if (round) {
				if (!u_page_check(p, u_pattern(p, phase, a->seed), "phase"))
					return false;
			} else {
				if (!u_page_zero(p, "recycled-zero"))
					return false;
				u_page_fill(p, u_pattern(p, phase, a->seed));
			}
		}
	return u_syscall(SYS_RELEASE, base, w * U_PAGE, 0) >= 0;
}

struct u_outcome u_phases(const struct user_args *a)
{
	uint64_t pages = a->size / U_PAGE, phases = pages < U_PHASES ? pages : U_PHASES;
	uint64_t w = pages / phases, ph;

	for (ph = 0; ph < phases; ph++)
		if (!u_phase(a, a->heap + ph * w * U_PAGE, w, ph))
			return (struct u_outcome){ph * w, false};
	for (ph = 0; ph < phases; ph++)
		if (!u_page_zero(a->heap + ph * w * U_PAGE, "released-zero"))
			return (struct u_outcome){phases * w, false};
	return (struct u_outcome){phases * w, true};
}
