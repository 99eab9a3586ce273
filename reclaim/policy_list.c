/* reclaim/policy_list.c: the page list the policies share, the ops of
 * the policies that are such a list, and the table of every policy by name
 * (see policy_priv.h, policy.h). */
#include "policy_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int plist_init(struct plist *l, uint64_t pages)
{
	if (!pages || pages > SIZE_MAX / sizeof(uint64_t))
		return -EINVAL;
	l->pages = pages;
	l->head = PLIST_NONE;
	l->prev = malloc(pages * sizeof(uint64_t));
	l->next = malloc(pages * sizeof(uint64_t));
	if (!l->prev || !l->next) {
		plist_fini(l);
		return -ENOMEM;
	}
	memset(l->prev, 0xff, pages * sizeof(uint64_t)); /* PLIST_NONE: not in the list */
	memset(l->next, 0xff, pages * sizeof(uint64_t));
	return 0;
}

void plist_fini(struct plist *l)
{
	free(l->prev);
	free(l->next);
	l->prev = l->next = NULL;
}

bool plist_has(const struct plist *l, uint64_t page)
{
	return page < l->pages && l->prev[page] != PLIST_NONE;
}

void plist_push_tail(struct plist *l, uint64_t page)
{
	uint64_t h = l->head, t;

	if (h == PLIST_NONE) {
		l->head = l->prev[page] = l->next[page] = page;
		return;
	}
	t = l->prev[h];
	l->next[t] = page;
	l->prev[page] = t;
	l->next[page] = h;
	l->prev[h] = page;
}

void plist_unlink(struct plist *l, uint64_t page)
{
	uint64_t p = l->prev[page], n = l->next[page];

	if (n == page) {
		l->head = PLIST_NONE;
	} else {
		l->next[p] = n;
		l->prev[n] = p;
		if (l->head == page)
			l->head = n;
	}
	l->prev[page] = l->next[page] = PLIST_NONE;
}

uint64_t plist_pop_head(struct plist *l)
{
	uint64_t h = l->head;

	if (h != PLIST_NONE)
		plist_unlink(l, h);
	return h;
}

void plist_move_to_tail(struct plist *l, uint64_t page)
{
	/* The list is a ring: the head becomes the tail by moving the head on. */
	if (page == l->head) {
		l->head = l->next[page];
		return;
	}
	plist_unlink(l, page);
	plist_push_tail(l, page);
}

struct plist *list_policy_list(struct policy *p)
{
	return &((struct list_policy *)p)->list;
}

int list_policy_create(struct policy **out, const struct policy_ops *ops, uint64_t pages,
		       size_t size)
{
	struct list_policy *lp = calloc(1, size);
	int ret;

	if (!lp)
		return -ENOMEM;
	ret = plist_init(&lp->list, pages);
	if (ret) {
		free(lp);
		return ret;
	}
	lp->base.ops = ops;
	*out = &lp->base;
	return 0;
}

void list_policy_destroy(struct policy *p)
{
	if (!p)
		return;
	plist_fini(list_policy_list(p));
	free(p);
}

void list_policy_insert(struct policy *p, uint64_t page, uint64_t t)
{
	struct plist *l = list_policy_list(p);

	if (page >= l->pages)
		return;
	if (plist_has(l, page))
		p->ops->access(p, page, t);
	else
		plist_push_tail(l, page);
}

void list_policy_remove(struct policy *p, uint64_t page)
{
	struct plist *l = list_policy_list(p);

	if (plist_has(l, page))
		plist_unlink(l, page);
}

uint64_t list_policy_victim(struct policy *p)
{
	return plist_pop_head(list_policy_list(p));
}
