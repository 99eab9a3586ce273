/* guest-kernel/gk_oom.c: badness and the choice of a victim (gk_oom.h). */
#include "gk_oom.h"

int64_t gk_oom_badness(const struct gk_oom_candidate *c, uint64_t total_pages)
{
	int64_t points;

	if (c->adj <= OOM_ADJ_MIN)
		return -1;
	points = (int64_t)(c->rss + c->pt_pages) + (int64_t)c->adj * (int64_t)total_pages / 1000;
	return points > 0 ? points : 1;
}

int gk_oom_choose(const struct gk_oom_candidate *c, unsigned n, uint64_t total_pages)
{
	int64_t best = -1, b;
	int pick = -1;
	unsigned i;

	for (i = 0; i < n; i++) {
		b = gk_oom_badness(&c[i], total_pages);
		if (b > best || (b == best && b >= 0 && c[i].pid < c[pick].pid)) {
			best = b;
			pick = (int)i;
		}
	}
	return pick;
}
