/* reclaim/sim.c: the reference-string simulator (see sim.h). */
#include "sim.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* next_use[t]: the index of the next reference to refs[t] after t, or
 * UINT64_MAX; one backward pass, remembering each page's latest index. */
static int sim_next_use(const uint64_t *refs, uint64_t n, uint64_t pages, uint64_t **out)
{
	uint64_t *next = malloc((n ? n : 1) * sizeof(uint64_t));
	uint64_t *seen = malloc(pages * sizeof(uint64_t));

	if (!next || !seen) {
		free(next);
		free(seen);
		return -ENOMEM;
	}
	memset(seen, 0xff, pages * sizeof(uint64_t));
	for (uint64_t t = n; t-- > 0;) {
		next[t] = seen[refs[t]];
		seen[refs[t]] = t;
	}
	free(seen);
	*out = next;
	return 0;
}

static bool sim_refs_valid(const uint64_t *refs, uint64_t n, uint64_t pages)
{
	for (uint64_t t = 0; t < n; t++) {
		if (refs[t] >= pages)
			return false;
	}
	return true;
}

/* A fault with every frame taken: evict the policy's victim, which must be resident. */
static int sim_evict(const struct policy_ops *ops, struct policy *p, uint64_t pages, bool *resident)
{
	uint64_t v = ops->victim(p);

	if (v >= pages || !resident[v])
		return -EUCLEAN;
	resident[v] = false;
	return 0;
}

int sim_run(const struct policy_ops *ops, const uint64_t *refs, uint64_t n, uint64_t pages,
	    uint64_t capacity, struct sim_result *out)
{
	struct sim_result r = {.refs = n};
	struct policy *p = NULL;
	uint64_t *next_use = NULL, nres = 0;
	bool *resident = NULL;
	int ret;

	if (!pages || !capacity || pages > SIZE_MAX / sizeof(uint64_t) ||
	    !sim_refs_valid(refs, n, pages))
		return -EINVAL;
	ret = sim_next_use(refs, n, pages, &next_use);
	if (ret)
		return ret;
	resident = calloc(pages, sizeof(*resident));
	if (!resident) {
		ret = -ENOMEM;
		goto out;
	}
	ret = ops->create(&p, pages, capacity, next_use);
	if (ret)
		goto out;
	for (uint64_t t = 0; t < n; t++) {
		uint64_t page = refs[t];

		if (resident[page]) {
			ops->access(p, page, t);
			continue;
		}
		r.faults++;
		if (nres == capacity) {
			ret = sim_evict(ops, p, pages, resident);
			if (ret)
				goto out;
			r.evictions++;
			nres--;
		}
		ops->insert(p, page, t);
		resident[page] = true;
		nres++;
	}
	*out = r;
out:
	if (p)
		ops->destroy(p);
	free(resident);
	free(next_use);
	return ret;
}
