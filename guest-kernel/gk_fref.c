/* guest-kernel/gk_fref.c: frame reference counts (see gk_fref.h). */
#include "gk_fref.h"
#include "gk_lib.h"

void gk_fref_init(struct gk_fref *r, uint16_t *table, uint64_t base, uint64_t top)
{
	r->extra = table;
	r->base = base;
	r->top = top;
}

static uint16_t *gk_fref_slot(const struct gk_fref *r, uint64_t pa)
{
	return &r->extra[(pa - r->base) / PAGE_SIZE];
}

uint32_t gk_fref_count(const struct gk_fref *r, uint64_t pa)
{
	return *gk_fref_slot(r, pa) + 1u;
}

int gk_fref_get(struct gk_fref *r, uint64_t pa)
{
	uint16_t *e = gk_fref_slot(r, pa);

	if (*e == FREF_MAX - 1)
		return -EOVERFLOW;
	(*e)++;
	return 0;
}

bool gk_fref_put(struct gk_fref *r, uint64_t pa)
{
	uint16_t *e = gk_fref_slot(r, pa);

	if (!*e)
		return true;
	(*e)--;
	return false;
}
