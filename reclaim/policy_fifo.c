/* reclaim/policy_fifo.c: first in, first out (see policy.h): the page list
 * in the order pages came in; a hit changes nothing. */
#include "policy_priv.h"

static int fifo_create(struct policy **out, uint64_t pages, uint64_t capacity,
		       const uint64_t *next_use)
{
	return list_policy_create(out, &policy_fifo_ops, pages, sizeof(struct list_policy));
}

static void fifo_access(struct policy *p, uint64_t page, uint64_t t)
{
}

const struct policy_ops policy_fifo_ops = {
    .name = "fifo",
    .create = fifo_create,
    .destroy = list_policy_destroy,
    .insert = list_policy_insert,
    .access = fifo_access,
    .remove = list_policy_remove,
    .victim = list_policy_victim,
};
