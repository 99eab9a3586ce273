/* ept/histo.c: log-linear histogram, see histo.h. */
#include "histo.h"

#include <time.h>

static unsigned histo_index(uint64_t v)
{
	unsigned lg, idx;

	if (v < 4)
		return v;
	lg = 63 - __builtin_clzll(v);
	idx = lg * 4 + ((v >> (lg - 2)) & 3);
	return idx < HISTO_BUCKETS ? idx : HISTO_BUCKETS - 1;
}

static uint64_t histo_upper(unsigned idx)
{
	unsigned lg = idx / 4, sub = idx % 4;

	if (idx < 4)
		return idx;
	if (lg >= 63)
		return UINT64_MAX;
	return ((4ULL + sub + 1) << (lg - 2)) - 1;
}

void histo_add(struct histo *h, uint64_t value)
{
	h->count++;
	h->sum += value;
	if (value > h->max)
		h->max = value;
	h->bucket[histo_index(value)]++;
}

uint64_t histo_quantile(const struct histo *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return 0;
	want = (uint64_t)(q * h->count + 0.5);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HISTO_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want)
			return histo_upper(i) < h->max ? histo_upper(i) : h->max;
	}
	return h->max;
}

uint64_t histo_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
