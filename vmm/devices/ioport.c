/* vmm/devices/ioport.c: the port I/O bus, see ioport.h. */
#include "ioport.h"

#include <errno.h>

static bool ioport_overlaps(const struct ioport_range *r, uint16_t base, uint16_t len)
{
	return (uint32_t)base < (uint32_t)r->base + r->len &&
	       (uint32_t)r->base < (uint32_t)base + len;
}

int ioport_register(struct ioport_bus *bus, uint16_t base, uint16_t len, const char *name,
		    ioport_fn fn, void *dev)
{
	if (!len)
		return -EINVAL;
	for (int i = 0; i < bus->nr; i++)
		if (ioport_overlaps(&bus->range[i], base, len))
			return -EEXIST;
	if (bus->nr == IOPORT_MAX_RANGES)
		return -ENOSPC;
	bus->range[bus->nr++] =
	    (struct ioport_range){.base = base, .len = len, .name = name, .fn = fn, .dev = dev};
	return 0;
}

bool ioport_dispatch(struct ioport_bus *bus, const struct ioport_access *a)
{
	for (int i = 0; i < bus->nr; i++) {
		const struct ioport_range *r = &bus->range[i];

		if (a->port >= r->base && a->port - r->base < r->len)
			return r->fn(r->dev, a);
	}
	return false;
}
