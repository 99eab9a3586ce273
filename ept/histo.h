/* ept/histo.h: a latency histogram with log-linear buckets.
 *
 * Four buckets per power of two (at most 19% apart), so p50 and p99 of
 * fault service times come out to within a bucket without keeping samples.
 */
#ifndef EPT_HISTO_H
#define EPT_HISTO_H

#include <stdint.h>

#define HISTO_BUCKETS 256

struct histo {
	uint64_t count;
	uint64_t sum;
	uint64_t max;
	uint64_t bucket[HISTO_BUCKETS];
};

void histo_add(struct histo *h, uint64_t value);
/* The upper bound of the bucket holding the q-th quantile (0 < q <= 1). */
uint64_t histo_quantile(const struct histo *h, double q);
/* CLOCK_MONOTONIC in ns: the clock every latency that goes in one is read with. */
uint64_t histo_now_ns(void);

#endif
