/* reclaim/policy.c: the replacement policies by name, see policy.h. Apart
 * from the policies themselves, which share policy_list.c's helpers: so
 * that they call the helpers and only this table names them all. */
#include "policy.h"

#include <string.h>

static const struct policy_ops *const policy_table[] = {
    &policy_clock_ops,
    &policy_fifo_ops,
    &policy_lru_ops,
    &policy_opt_ops,
};

const struct policy_ops *policy_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(policy_table) / sizeof(policy_table[0]); i++) {
		if (!strcmp(policy_table[i]->name, name))
			return policy_table[i];
	}
	return NULL;
}
