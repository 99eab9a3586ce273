/* guest-kernel/user_random.c: random-access workloads.
 *
 * random: pages * passes accesses in xorshift order (seeded); the first
 *         access to a page writes it, later ones check it.
 * hotset: the same, but 90% of accesses go to the first hot% of pages.
 * Both end with a sweep: written pages hold their pattern, all others
 * read zero.
 */
#include "user.h"

static uint64_t u_seed_state(uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;

	return s ? s : 1; /* xorshift's state must not be zero */
}

static struct u_outcome u_random_run(const struct user_args *a, uint64_t hot_pages)
{
	uint64_t pages = a->size / U_PAGE, s = u_seed_state(a->seed), written = 0, n, i, r, p;

	for (n = 0; n < pages * a->passes; n++) {
		r = u_xorshift(&s);
		/* r's low bits choose hot or not, the high bits the page. */
		i = hot_pages && r % 100 < 90 ? (r >> 8) % hot_pages : (r >> 8) % pages;
		p = a->heap + i * U_PAGE;
		if (!u_page_touch(a, i, u_pattern(p, 0, a->seed), &written))
			return (struct u_outcome){written, false};
	}
	for (i = 0; i < pages; i++)
		if (!u_page_sweep(a, i, u_pattern(a->heap + i * U_PAGE, 0, a->seed)))
			return (struct u_outcome){written, false};
	return (struct u_outcome){written, true};
}

struct u_outcome u_random(const struct user_args *a)
{
	return u_random_run(a, 0);
}

struct u_outcome u_hotset(const struct user_args *a)
{
	uint64_t hot = a->size / U_PAGE * a->hot / 100;

	return u_random_run(a, hot ? hot : 1);
}
