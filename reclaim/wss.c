/* reclaim/wss.c: working-set estimation maths (see wss.h). */
#include "wss.h"

#include <math.h>
#include <stdlib.h>

void wss_estimate(uint64_t resident, uint32_t sampled, uint32_t touched, struct wss_estimate *out)
{
	double n = sampled, p, z2n, center, half, lo, hi;

	if (touched > sampled)
		touched = sampled;
	*out = (struct wss_estimate){.sampled = sampled, .touched = touched};
	if (!sampled)
		return;
	/* Rounded to nearest in integers: resident * t can pass 2^64. */
	out->pages = (uint64_t)(((unsigned __int128)resident * touched + sampled / 2) / sampled);
	p = touched / n;
	z2n = WSS_Z * WSS_Z / n;
	center = (p + z2n / 2) / (1 + z2n);
	half = WSS_Z / (1 + z2n) * sqrt(p * (1 - p) / n + z2n / (4 * n));
	lo = touched ? floor((center - half) * resident) : 0;
	hi = touched < sampled ? ceil((center + half) * resident) : resident;
	out->lo = lo > 0 ? (uint64_t)lo : 0;
	out->hi = hi < resident ? (uint64_t)hi : resident;
	/* Rounding can leave the estimate a page outside: keep it inside. */
	if (out->lo > out->pages)
		out->lo = out->pages;
	if (out->hi < out->pages)
		out->hi = out->pages;
}

uint64_t wss_rand(uint64_t *rng_state)
{
	uint64_t z = (*rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, bound), bound > 0, unbiased: Lemire's multiply and
 * reject the few products whose low half falls short. */
static uint64_t wss_below(uint64_t *rng_state, uint64_t bound)
{
	unsigned __int128 m = (unsigned __int128)wss_rand(rng_state) * bound;
	uint64_t threshold = -bound % bound;

	while ((uint64_t)m < threshold)
		m = (unsigned __int128)wss_rand(rng_state) * bound;
	return (uint64_t)(m >> 64);
}

static int wss_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sort v[0..n) and squeeze out repeats: the count left. */
static uint32_t wss_sort_unique(uint64_t *v, uint32_t n)
{
	uint32_t k = 0;

	qsort(v, n, sizeof(*v), wss_cmp);
	for (uint32_t i = 0; i < n; i++) {
		if (!k || v[i] != v[k - 1])
			v[k++] = v[i];
	}
	return k;
}

/* Knuth's selection sampling: one pass over [0, nr), each index taken
 * with probability (still wanted) / (still to see). Sorted by
 * construction; O(nr), for n a large part of nr. */
static void wss_pick_scan(uint64_t *rng_state, uint64_t nr, uint32_t n, uint64_t *out)
{
	uint32_t got = 0;

	for (uint64_t i = 0; got < n; i++) {
		if (wss_below(rng_state, nr - i) < n - got)
			out[got++] = i;
	}
}

void wss_pick(uint64_t *rng_state, uint64_t nr, uint32_t n, uint64_t *out)
{
	uint32_t k = 0;

	if (n > nr)
		n = (uint32_t)nr;
	if (n > nr / 2) {
		wss_pick_scan(rng_state, nr, n, out);
		return;
	}
	/* n at most half of nr: draw, drop repeats, draw again for the gap.
	 * Nothing here tells one index from another, so every n-set is as
	 * likely; at most half are taken, so each round fills over half of
	 * what is missing, and a few rounds do. O(n log n), not O(nr). */
	while (k < n) {
		for (uint32_t i = k; i < n; i++)
			out[i] = wss_below(rng_state, nr);
		k = wss_sort_unique(out, n);
	}
}

double wss_ewma_update(struct wss_ewma *e, double x, double weight)
{
	if (!e->primed) {
		e->value = x;
		e->primed = true;
	} else {
		e->value += weight * (x - e->value);
	}
	return e->value;
}
