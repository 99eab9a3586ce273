/* reclaim/policy_lru.c: least recently used, exactly (see policy.h): the
 * page list in order of last reference, a hit moves the page to the tail. */
#include "policy_priv.h"

static int lru_create(struct policy **out, uint64_t pages, uint64_t capacity,
		      const uint64_t *next_use)
{
	return list_policy_create(out, &policy_lru_ops, pages, sizeof(struct list_policy));
}

static void lru_access(struct policy *p, uint64_t page, uint64_t t)
{
	struct plist *l = list_policy_list(p);

	if (plist_has(l, page))
		plist_move_to_tail(l, page);
}

const struct policy_ops policy_lru_ops = {
    .name = "lru",
    .create = lru_create,
    .destroy = list_policy_destroy,
    .insert = list_policy_insert,
    .access = lru_access,
    .remove = list_policy_remove,
    .victim = list_policy_victim,
};
