/* guest-kernel/gk_pool.c: a free list refilled a page at a time. */
#include "gk_pool.h"
#include "gk_lib.h"

void gk_pool_init(struct gk_pool *p, uint32_t size, uint64_t (*page)(void *ctx), void *ctx)
{
	p->size = (uint32_t)ALIGN_UP(size, 8);
	p->free = NULL;
	p->in_use = p->pages = 0;
	p->page = page;
	p->ctx = ctx;
}

static int gk_pool_grow(struct gk_pool *p)
{
	uint64_t page = p->page(p->ctx), off;

	if (!page)
		return -ENOMEM;
	p->pages++;
	for (off = 0; off + p->size <= PAGE_SIZE; off += p->size) {
		void **obj = (void **)(uintptr_t)(page + off);

		*obj = p->free;
		p->free = obj;
	}
	return 0;
}

int gk_pool_reserve(struct gk_pool *p, unsigned n)
{
	unsigned have = 0;
	void **obj;

	for (obj = p->free; obj && have < n; obj = *obj)
		have++;
	for (; have < n; have += PAGE_SIZE / p->size)
		if (gk_pool_grow(p) < 0)
			return -ENOMEM;
	return 0;
}

void *gk_pool_get(struct gk_pool *p)
{
	void **obj;

	if (!p->free && gk_pool_grow(p) < 0)
		return NULL;
	obj = p->free;
	p->free = *obj;
	memset(obj, 0, p->size);
	p->in_use++;
	return obj;
}

void gk_pool_put(struct gk_pool *p, void *obj)
{
	*(void **)obj = p->free;
	p->free = obj;
	p->in_use--;
}
