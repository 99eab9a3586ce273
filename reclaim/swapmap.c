/* reclaim/swapmap.c: the swap map (see swapmap.h).
 *
 * Three arrays indexed by slot: count, owner and a bitmap of slots in use
 * (bit set iff count > 0). The bitmap is what allocation reads: a run is
 * found by looking for the next clear bit, then the next set bit, a word
 * at a time. Bits past nr_slots in the last word stay clear and are never
 * looked at (every search is bounded by nr_slots).
 */
#include "swapmap.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#define SWAP_OWNER_NONE UINT64_MAX /* vm 0xffff, page 2^48 - 1: never a real owner */
#define SWAP_PAGE_BITS	48

struct swap_map {
	uint32_t nr_slots, used;
	uint32_t cursor; /* next-fit: where the next search starts */
	uint64_t allocs, frees, alloc_failures, split_allocs, misuse;
	uint32_t *count;
	uint64_t *owner; /* vm << 48 | page, SWAP_OWNER_NONE if free or not set */
	uint64_t *bits;	 /* in use */
};

static size_t swap_map_words(uint32_t nr_slots)
{
	return ((size_t)nr_slots + 63) / 64;
}

int swap_map_create(struct swap_map **out, uint32_t nr_slots)
{
	struct swap_map *m;

	if (!nr_slots || nr_slots == SWAP_SLOT_NONE)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->nr_slots = nr_slots;
	m->count = calloc(nr_slots, sizeof(*m->count));
	m->owner = malloc((size_t)nr_slots * sizeof(*m->owner));
	m->bits = calloc(swap_map_words(nr_slots), sizeof(*m->bits));
	if (!m->count || !m->owner || !m->bits) {
		swap_map_destroy(m);
		return -ENOMEM;
	}
	for (uint32_t s = 0; s < nr_slots; s++)
		m->owner[s] = SWAP_OWNER_NONE;
	*out = m;
	return 0;
}

void swap_map_destroy(struct swap_map *m)
{
	if (!m)
		return;
	free(m->count);
	free(m->owner);
	free(m->bits);
	free(m);
}

static bool swap_map_bit(const struct swap_map *m, uint32_t s)
{
	return m->bits[s / 64] >> (s % 64) & 1;
}

/* The first slot in [from, limit) that is in use (used) or free (!used),
 * or limit if there is none. */
static uint32_t swap_map_find(const struct swap_map *m, uint32_t from, uint32_t limit, bool used)
{
	uint64_t flip = used ? 0 : ~UINT64_C(0);
	size_t w = from / 64;
	uint64_t word;

	if (from >= limit)
		return limit;
	word = (m->bits[w] ^ flip) & (~UINT64_C(0) << (from % 64));
	for (;;) {
		if (word) {
			uint64_t s = (uint64_t)w * 64 + __builtin_ctzll(word);

			return s < limit ? (uint32_t)s : limit;
		}
		if ((uint64_t)++w * 64 >= limit)
			return limit;
		word = m->bits[w] ^ flip;
	}
}

/* The first free run of at least n slots, next-fit: from the cursor to
 * the end, then from slot 0 (a run found there may reach past the cursor). */
static bool swap_map_find_run(const struct swap_map *m, uint32_t n, uint32_t *start)
{
	uint32_t s = m->cursor, end = m->nr_slots;

	for (int pass = 0; pass < 2; pass++) {
		while ((s = swap_map_find(m, s, end, false)) < end) {
			uint32_t e = swap_map_find(m, s, m->nr_slots, true);

			if (e - s >= n) {
				*start = s;
				return true;
			}
			s = e;
		}
		s = 0;
		end = m->cursor;
	}
	return false;
}

static void swap_map_take(struct swap_map *m, uint32_t s)
{
	m->bits[s / 64] |= UINT64_C(1) << (s % 64);
	m->count[s] = 1;
	m->owner[s] = SWAP_OWNER_NONE;
	m->used++;
	m->allocs++;
}

static void swap_map_advance(struct swap_map *m, uint32_t last)
{
	m->cursor = last + 1 == m->nr_slots ? 0 : last + 1;
}

static void swap_map_reverse(uint32_t *v, uint32_t n)
{
	for (uint32_t i = 0; i < n / 2; i++) {
		uint32_t t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

/* Up to n free slots, from the cursor on, wrapping; returned in increasing
 * order (the wrapped part, all below the cursor, rotated to the front). */
static uint32_t swap_map_alloc_split(struct swap_map *m, uint32_t n, uint32_t *slots)
{
	uint32_t got = 0, before_wrap = 0, s = m->cursor, end = m->nr_slots;

	for (int pass = 0; pass < 2 && got < n; pass++) {
		while (got < n && (s = swap_map_find(m, s, end, false)) < end) {
			swap_map_take(m, s);
			slots[got++] = s++;
		}
		if (!pass)
			before_wrap = got;
		s = 0;
		end = m->cursor;
	}
	if (got)
		swap_map_advance(m, slots[got - 1]);
	swap_map_reverse(slots, before_wrap);
	swap_map_reverse(slots + before_wrap, got - before_wrap);
	swap_map_reverse(slots, got);
	return got;
}

static bool swap_map_is_one_run(const uint32_t *slots, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		if (slots[i] != slots[i - 1] + 1)
			return false;
	}
	return true;
}

uint32_t swap_map_alloc(struct swap_map *m, uint32_t n, uint32_t *slots)
{
	uint32_t start, got;

	if (!n)
		return 0;
	/* A full-length run is only worth looking for if enough slots are free. */
	if (n <= m->nr_slots - m->used && swap_map_find_run(m, n, &start)) {
		for (uint32_t i = 0; i < n; i++) {
			swap_map_take(m, start + i);
			slots[i] = start + i;
		}
		swap_map_advance(m, start + n - 1);
		return n;
	}
	got = swap_map_alloc_split(m, n, slots);
	m->split_allocs += !swap_map_is_one_run(slots, got);
	m->alloc_failures += got < n;
	return got;
}

static bool swap_map_in_use(const struct swap_map *m, uint32_t slot)
{
	return slot < m->nr_slots && m->count[slot];
}

int swap_map_get(struct swap_map *m, uint32_t slot)
{
	if (!swap_map_in_use(m, slot)) {
		m->misuse++;
		return -EINVAL;
	}
	if (m->count[slot] >= INT_MAX)
		return -EOVERFLOW;
	return (int)++m->count[slot];
}

int swap_map_put(struct swap_map *m, uint32_t slot)
{
	if (!swap_map_in_use(m, slot)) {
		m->misuse++;
		return -EINVAL;
	}
	if (--m->count[slot])
		return (int)m->count[slot];
	m->bits[slot / 64] &= ~(UINT64_C(1) << (slot % 64));
	m->owner[slot] = SWAP_OWNER_NONE;
	m->used--;
	m->frees++;
	return 0;
}

uint32_t swap_map_count(const struct swap_map *m, uint32_t slot)
{
	return slot < m->nr_slots ? m->count[slot] : 0;
}

void swap_map_set_owner(struct swap_map *m, uint32_t slot, uint16_t vm, uint64_t page)
{
	if (!swap_map_in_use(m, slot) || page > SWAP_OWNER_MAXPAGE) {
		m->misuse++;
		return;
	}
	m->owner[slot] = (uint64_t)vm << SWAP_PAGE_BITS | page;
}

bool swap_map_owner(const struct swap_map *m, uint32_t slot, uint16_t *vm, uint64_t *page)
{
	uint64_t o;

	if (!swap_map_in_use(m, slot) || m->owner[slot] == SWAP_OWNER_NONE)
		return false;
	o = m->owner[slot];
	*vm = (uint16_t)(o >> SWAP_PAGE_BITS);
	*page = o & ((UINT64_C(1) << SWAP_PAGE_BITS) - 1);
	return true;
}

void swap_map_stats(const struct swap_map *m, struct swap_map_stats *out)
{
	out->nr_slots = m->nr_slots;
	out->used = m->used;
	out->allocs = m->allocs;
	out->frees = m->frees;
	out->alloc_failures = m->alloc_failures;
	out->split_allocs = m->split_allocs;
	out->misuse = m->misuse;
	out->metadata_bytes = sizeof(*m) +
			      (size_t)m->nr_slots * (sizeof(*m->count) + sizeof(*m->owner)) +
			      swap_map_words(m->nr_slots) * sizeof(*m->bits);
}

static int swap_map_check_slot(const struct swap_map *m, uint32_t s, char *why, size_t len)
{
	if (swap_map_bit(m, s) != !!m->count[s]) {
		snprintf(why, len, "slot %u: count %u but in-use bit %d", s, m->count[s],
			 swap_map_bit(m, s));
		return -EUCLEAN;
	}
	if (!m->count[s] && m->owner[s] != SWAP_OWNER_NONE) {
		snprintf(why, len, "slot %u: free but owner %#lx is set", s, m->owner[s]);
		return -EUCLEAN;
	}
	return 0;
}

int swap_map_check(const struct swap_map *m, char *why, size_t len)
{
	size_t last = swap_map_words(m->nr_slots) - 1;
	uint32_t used = 0;
	int ret;

	if (m->cursor >= m->nr_slots) {
		snprintf(why, len, "cursor %u past the last slot (%u slots)", m->cursor,
			 m->nr_slots);
		return -EUCLEAN;
	}
	for (uint32_t s = 0; s < m->nr_slots; s++) {
		ret = swap_map_check_slot(m, s, why, len);
		if (ret)
			return ret;
		used += !!m->count[s];
	}
	if (m->nr_slots % 64 && m->bits[last] >> (m->nr_slots % 64)) {
		snprintf(why, len, "in-use bits set past slot %u", m->nr_slots - 1);
		return -EUCLEAN;
	}
	if (used != m->used || m->used != m->allocs - m->frees) {
		snprintf(why, len, "counted %u slots in use; map says %u, allocs %lu - frees %lu",
			 used, m->used, m->allocs, m->frees);
		return -EUCLEAN;
	}
	return 0;
}
