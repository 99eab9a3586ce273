/* guest-kernel/user_touch.c: sequential workloads.
 *
 * touch:  write every stride-th page in order (each must first read
 *         zero), then read them all back `passes` times.
 * verify: `passes` rounds of writing every page with a pass-specific
 *         pattern and reading all back: catches pages that keep old data.
 *         The pattern is also the fork child's (SYS_FORKID): a child that
 *         reads its parent's or a sibling's writes fails the check.
 */
#include "user.h"

struct u_outcome u_touch(const struct user_args *a)
{
	uint64_t n = a->size / U_PAGE, step = a->stride ? a->stride : 1;
	struct u_outcome o = {(n + step - 1) / step, true};
	uint64_t i, pass, p;

	for (i = 0; i < n; i += step) {
		p = a->heap + i * U_PAGE;
		if (!u_page_zero(p, "fresh-zero"))
			return (struct u_outcome){i / step, false};
		u_page_fill(p, u_pattern(p, 0, a->seed));
	}
	for (pass = 0; pass < a->passes; pass++)
		for (i = 0; i < n; i += step) {
			p = a->heap + i * U_PAGE;
			if (!u_page_check(p, u_pattern(p, 0, a->seed), "touch"))
				return (struct u_outcome){o.pages, false};
		}
	return o;
}

/* The seed of fork identity id: id 0, the booted VM, keeps the seed as
 * given, so its pattern is what it was before forks existed. Odd, so that
 * distinct ids give distinct seeds. */
static uint64_t u_verify_seed(const struct user_args *a, uint64_t id)
{
	return a->seed ^ id * 0xd6e8feb86659fd93ULL;
}

/* Pages pass covers: the whole heap first, then the first wset bytes. */
static uint64_t u_verify_pages(const struct user_args *a, uint64_t pass)
{
	uint64_t bytes = pass && a->wset && a->wset < a->size ? a->wset : a->size;

	return bytes / U_PAGE;
}

/* Fill pass's pages for pass and seed; fresh: each must read zero first. */
static bool u_verify_fill(const struct user_args *a, uint64_t pass, uint64_t seed, bool fresh)
{
	uint64_t i, p;

	for (i = 0; i < u_verify_pages(a, pass); i++) {
		p = a->heap + i * U_PAGE;
		if (fresh && !u_page_zero(p, "fresh-zero"))
			return false;
		u_page_fill(p, u_pattern(p, pass, seed));
	}
	return true;
}

struct u_outcome u_verify(const struct user_args *a)
{
	struct u_outcome o = {a->size / U_PAGE, true};
	uint64_t i, pass, p, id = 0, now;

	for (pass = 0; pass < a->passes; pass++) {
		now = u_forkid();
		if (now != id) /* forked since the last pass's check */
			u_fork_line(now);
		id = now;
		if (!u_verify_fill(a, pass, u_verify_seed(a, id), !pass))
			return (struct u_outcome){o.pages, false};
		/* Forked during the fill: the pages hold the parent's pattern, or
		 * part of it. Fill them again as this child's; they are not fresh. */
		while ((now = u_forkid()) != id) {
			u_fork_line(now);
			id = now;
			u_verify_fill(a, pass, u_verify_seed(a, id), false);
		}
		for (i = 0; i < u_verify_pages(a, pass); i++) {
			p = a->heap + i * U_PAGE;
			if (!u_page_check(p, u_pattern(p, pass, u_verify_seed(a, id)), "verify"))
				return (struct u_outcome){o.pages, false};
		}
		u_pass_line(a, "verify", pass + 1);
	}
	return o;
}
