/* reclaim/wss.h: working-set estimation by sampling, as ESX does it.
 *
 * At the start of a period n resident pages, picked at random, have their
 * access tracked afresh (the caller invalidates them: clears the accessed
 * bit or unmaps them); at its end t of them were touched. t/n estimates
 * the fraction of resident pages in the working set; the 95% interval is
 * Wilson's score interval (z = 1.96), which stays inside [0, 1] and is
 * honest at t = 0 and t = n, where the normal approximation collapses to
 * a width of zero. Both are scaled by the resident pages: the estimate
 * rounded to nearest, the interval widened outwards to whole pages.
 *
 * No global state: the random picks draw on a caller-owned splitmix64
 * state, so two VMs (or a test replaying a seed) each have their own.
 */
#ifndef RECLAIM_WSS_H
#define RECLAIM_WSS_H

#include <stdbool.h>
#include <stdint.h>

#define WSS_Z 1.96 /* two-sided 95% */

struct wss_estimate {
	uint64_t pages, lo, hi;	   /* estimate and 95% interval, in pages */
	uint32_t sampled, touched; /* n and t, as used (t capped at n) */
};

/* resident pages, sampled of them tracked this period, touched of those
 * touched: the estimate touched/sampled * resident and its interval.
 * sampled == 0 (nothing to go on): pages = lo = hi = 0. */
void wss_estimate(uint64_t resident, uint32_t sampled, uint32_t touched, struct wss_estimate *out);

/* The next number from a splitmix64 state; any seed, 0 included, will do. */
uint64_t wss_rand(uint64_t *rng_state);

/* n distinct indices picked uniformly from [0, nr) into out[], sorted
 * ascending; n > nr is taken as nr (all of them). */
void wss_pick(uint64_t *rng_state, uint64_t nr, uint32_t n, uint64_t *out);

/* An exponentially weighted moving average, to smooth estimates across
 * periods: value += weight * (x - value), weight in (0, 1] (1: no memory;
 * ESX-like smoothing: 0.25 or so). The first sample sets the value.
 * Zero-initialise: struct wss_ewma avg = {0}. */
struct wss_ewma {
	double value;
	bool primed;
};
double wss_ewma_update(struct wss_ewma *e, double x, double weight); /* the new value */

#endif
