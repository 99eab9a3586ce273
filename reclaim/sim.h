/* reclaim/sim.h: replay a reference string through a replacement policy.
 *
 * Demand paging with capacity frames, starting empty: a reference to a
 * resident page is a hit (the policy's access), any other is a fault; a
 * fault with every frame taken first evicts the policy's victim. So faults
 * count the first reference to every page (cold misses) too, and
 * evictions = faults - min(capacity, distinct pages referenced).
 */
#ifndef RECLAIM_SIM_H
#define RECLAIM_SIM_H

#include <stdint.h>

#include "policy.h"

struct sim_result {
	uint64_t refs, faults, evictions;
};

/* Replay refs[0..n) (page indices < pages) with capacity frames through
 * ops; computes next_use itself (for opt; the others ignore it). -EINVAL
 * for no pages, no frames or a reference >= pages, -ENOMEM, -EUCLEAN if
 * the policy's victim was not resident (a broken policy). */
int sim_run(const struct policy_ops *ops, const uint64_t *refs, uint64_t n, uint64_t pages,
	    uint64_t capacity, struct sim_result *out);

#endif
