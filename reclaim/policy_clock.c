/* reclaim/policy_clock.c: Clock, second chance (see policy.h), and the
 * VMM's clock_sweep over an index space it owns.
 *
 * The policy is the page list with a reference bit per page beside it: the
 * head is the hand, a page comes in at the tail (just behind the hand,
 * so the last the hand reaches), referenced: the access that faulted it
 * in sets its bit, as the hardware's accessed bit (and the VMM's view PTE,
 * see ept/vmem_reclaim.c) does. */
#include "policy_priv.h"

#include <errno.h>
#include <stdlib.h>

struct clock_policy {
	struct list_policy lp;
	uint8_t *ref; /* by page */
};

static struct clock_policy *clock_of(struct policy *p)
{
	return (struct clock_policy *)p;
}

static int clock_create(struct policy **out, uint64_t pages, uint64_t capacity,
			const uint64_t *next_use)
{
	int ret = list_policy_create(out, &policy_clock_ops, pages, sizeof(struct clock_policy));

	if (ret)
		return ret;
	clock_of(*out)->ref = calloc(pages, 1);
	if (!clock_of(*out)->ref) {
		list_policy_destroy(*out);
		return -ENOMEM;
	}
	return 0;
}

static void clock_destroy(struct policy *p)
{
	if (!p)
		return;
	free(clock_of(p)->ref);
	list_policy_destroy(p);
}

static void clock_insert(struct policy *p, uint64_t page, uint64_t t)
{
	struct plist *l = list_policy_list(p);

	if (page < l->pages && !plist_has(l, page))
		clock_of(p)->ref[page] = 1;
	list_policy_insert(p, page, t);
}

static void clock_access(struct policy *p, uint64_t page, uint64_t t)
{
	if (plist_has(list_policy_list(p), page))
		clock_of(p)->ref[page] = 1;
}

static uint64_t clock_victim(struct policy *p)
{
	struct plist *l = list_policy_list(p);
	uint8_t *ref = clock_of(p)->ref;
	uint64_t h;

	/* Each pass clears a bit: at most one lap before an unreferenced page. */
	while ((h = l->head) != PLIST_NONE && ref[h]) {
		ref[h] = 0;
		l->head = l->next[h];
	}
	return plist_pop_head(l);
}

const struct policy_ops policy_clock_ops = {
    .name = "clock",
    .create = clock_create,
    .destroy = clock_destroy,
    .insert = clock_insert,
    .access = clock_access,
    .remove = list_policy_remove,
    .victim = clock_victim,
};

uint64_t clock_sweep(uint64_t *hand, uint64_t pages, uint64_t max_scan, uint64_t want,
		     clock_test_fn test, void *arg, uint64_t *victims, uint64_t *scanned)
{
	uint64_t h = *hand < pages ? *hand : 0, found = 0, seen = 0;

	while (pages && found < want && seen < max_scan) {
		/* Back at the first victim: the rest of this lap was seen already. */
		if (found && h == victims[0])
			break;
		if (test(arg, h) == 0)
			victims[found++] = h;
		seen++;
		h = h + 1 == pages ? 0 : h + 1;
	}
	*hand = h;
	if (scanned)
		*scanned = seen;
	return found;
}
