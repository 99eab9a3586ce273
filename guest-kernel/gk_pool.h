/* guest-kernel/gk_pool.h: fixed-size kernel objects carved from pages.
 *
 * VMAs, page-cache entries and cached objects come from pools: a free
 * list of equal objects, refilled a page at a time from a page source (the
 * frame allocator in the kernel, the C library in host tests). Pools only
 * grow; a freed object waits on the free list for the next get.
 */
#ifndef GK_POOL_H
#define GK_POOL_H

#include <stdint.h>

struct gk_pool {
	uint32_t size;		     /* bytes per object, a multiple of 8 */
	void *free;		     /* the free list, linked through each object's first word */
	uint64_t in_use;	     /* objects handed out */
	uint64_t pages;		     /* pages taken from the source */
	uint64_t (*page)(void *ctx); /* a zero page's address, 0 if none */
	void *ctx;
};

void gk_pool_init(struct gk_pool *p, uint32_t size, uint64_t (*page)(void *ctx), void *ctx);
/* A zeroed object, or NULL when the page source is dry. */
void *gk_pool_get(struct gk_pool *p);
void gk_pool_put(struct gk_pool *p, void *obj);
/* 0 once n gets in a row cannot fail, -ENOMEM if the source is dry. */
int gk_pool_reserve(struct gk_pool *p, unsigned n);

#endif
