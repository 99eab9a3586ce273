/* reclaim/policy.h: page replacement policies, behind one table of ops.
 *
 * A policy tracks which pages are resident and picks the one to evict when
 * a fault needs a frame. The caller (the simulator, sim.h) decides when:
 * on a fault with every frame taken it calls victim(), then insert() for
 * the page that faulted; on a hit, access(). Time t is the index of the
 * reference in the string being replayed.
 *
 *   clock  second chance: a reference bit per page, a hand over the pages
 *          in the order they came in; a referenced page loses its bit and
 *          is passed over once. A new page comes in unreferenced.
 *   fifo   the page resident longest.
 *   lru    the page referenced longest ago (exact: a doubly linked list).
 *   opt    Belady's: the page whose next reference is furthest away (a
 *          max-heap keyed by next use, O(log n) a step). Needs the future:
 *          next_use[t] is the index of the next reference to the same page
 *          after time t, or UINT64_MAX if there is none.
 *
 * Every instance holds O(pages) of memory: arrays indexed by page. A page
 * outside [0, pages), an insert of a resident page (taken as an access)
 * or a remove of one that is not resident changes nothing else.
 */
#ifndef RECLAIM_POLICY_H
#define RECLAIM_POLICY_H

#include <stdint.h>

#define POLICY_NONE UINT64_MAX /* victim() with nothing resident */

struct policy;

struct policy_ops {
	const char *name; /* "clock", "fifo", "lru", "opt" */
	/* -EINVAL (no pages; opt without next_use), -ENOMEM. capacity is the
	 * number of frames; the caller keeps no more pages resident. */
	int (*create)(struct policy **out, uint64_t pages, uint64_t capacity,
		      const uint64_t *next_use);
	void (*destroy)(struct policy *p);
	void (*insert)(struct policy *p, uint64_t page, uint64_t t); /* resident after a fault */
	void (*access)(struct policy *p, uint64_t page, uint64_t t); /* a resident page was hit */
	void (*remove)(struct policy *p, uint64_t page); /* left for another reason (discarded) */
	uint64_t (*victim)(struct policy *p);		 /* choose and remove one: POLICY_NONE */
};

extern const struct policy_ops policy_clock_ops, policy_fifo_ops, policy_lru_ops, policy_opt_ops;

/* The ops named name ("clock", "fifo", "lru", "opt"), or NULL. */
const struct policy_ops *policy_by_name(const char *name);

/* The VMM's own clock, over an index space where the caller decides
 * residency and reference (the table's accessed bits, say). test returns
 * <0: not resident, 0: resident and unreferenced (a victim), 1: referenced,
 * which the caller clears in test, giving the page its second chance. */
typedef int (*clock_test_fn)(void *arg, uint64_t page);

/* Sweep from *hand (wrapping at pages) until want victims are found or
 * max_scan pages examined; writes the victims in hand order, leaves *hand
 * on the page after the last examined and the count examined in *scanned
 * (if not NULL). A sweep may lap once, so that the pages it found
 * referenced come round again unreferenced, but stops at its first victim
 * rather than report it twice. Returns the number of victims. */
uint64_t clock_sweep(uint64_t *hand, uint64_t pages, uint64_t max_scan, uint64_t want,
		     clock_test_fn test, void *arg, uint64_t *victims, uint64_t *scanned);

#endif
