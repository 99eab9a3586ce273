/* reclaim/policy_priv.h: what the policies share, not for their users.
 *
 * struct policy begins every policy's own instance, so that its ops cast
 * the pointer they are given back to it.
 *
 * struct plist: a circular doubly linked list over page indices, two
 * arrays indexed by page, O(1) at both ends and in the middle. FIFO and LRU
 * evict at its head; Clock's hand is its head. A page is in the list iff
 * its prev is not PLIST_NONE.
 *
 * struct list_policy: a policy that is a plist (FIFO, LRU, and Clock with
 * its reference bits beside): the ops they have in common.
 */
#ifndef RECLAIM_POLICY_PRIV_H
#define RECLAIM_POLICY_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define PLIST_NONE UINT64_MAX

struct policy {
	const struct policy_ops *ops;
};

struct plist {
	uint64_t pages;
	uint64_t head; /* PLIST_NONE if empty */
	uint64_t *prev, *next;
};

int plist_init(struct plist *l, uint64_t pages); /* -EINVAL for 0 pages, -ENOMEM */
void plist_fini(struct plist *l);
bool plist_has(const struct plist *l, uint64_t page);	 /* false if out of range */
void plist_push_tail(struct plist *l, uint64_t page);	 /* just behind the head */
void plist_unlink(struct plist *l, uint64_t page);	 /* the head moves on if it is page */
uint64_t plist_pop_head(struct plist *l);		 /* PLIST_NONE if empty */
void plist_move_to_tail(struct plist *l, uint64_t page); /* page must be in the list */

struct list_policy {
	struct policy base;
	struct plist list;
};

/* size bytes (at least a struct list_policy, for one that extends it), zeroed. */
int list_policy_create(struct policy **out, const struct policy_ops *ops, uint64_t pages,
		       size_t size);
void list_policy_destroy(struct policy *p);
void list_policy_insert(struct policy *p, uint64_t page, uint64_t t); /* at the tail */
void list_policy_remove(struct policy *p, uint64_t page);
uint64_t list_policy_victim(struct policy *p); /* the head */
struct plist *list_policy_list(struct policy *p);

#endif
