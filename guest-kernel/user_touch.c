/* guest-kernel/user_touch.c: sequential workloads.
 *
 * touch:  write every stride-th page in order (each must first read
 *         zero), then read them all back `passes` times.
 * verify: `passes` rounds of writing every page with a pass-specific
 *         pattern and reading all back: catches pages that keep old data.
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

struct u_outcome u_verify(const struct user_args *a)
{
	struct u_outcome o = {a->size / U_PAGE, true};
	uint64_t i, pass, p;

	for (pass = 0; pass < a->passes; pass++) {
		for (i = 0; i < o.pages; i++) {
			p = a->heap + i * U_PAGE;
			if (!pass && !u_page_zero(p, "fresh-zero"))
				return (struct u_outcome){o.pages, false};
			u_page_fill(p, u_pattern(p, pass, a->seed));
		}
		for (i = 0; i < o.pages; i++) {
			p = a->heap + i * U_PAGE;
			if (!u_page_check(p, u_pattern(p, pass, a->seed), "verify"))
				return (struct u_outcome){o.pages, false};
		}
		u_pass_line(a, "verify", pass + 1);
	}
	return o;
}
