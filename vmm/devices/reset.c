/* vmm/devices/reset.c: a guest's reset requests, see reset.h. */
#include "reset.h"

#include "acpi.h"

#define RESET_KBD_PULSE 0xfe
#define RESET_CF9_RST	0x04

void reset_init(struct reset_dev *r, void (*reset)(void *arg, const char *how), void *arg)
{
	r->reset = reset;
	r->arg = arg;
}

/* Both ports: byte accesses, reads 0. */
static bool reset_io(void *dev, const struct ioport_access *a)
{
	struct reset_dev *r = dev;

	if (a->size != 1 || a->count != 1)
		return false;
	if (!a->out)
		a->data[0] = 0;
	else if (a->port == RESET_KBD_PORT && a->data[0] == RESET_KBD_PULSE)
		r->reset(r->arg, "through the keyboard controller (0xfe to port 0x64)");
	else if (a->port == ACPI_RESET_PORT && a->data[0] & RESET_CF9_RST)
		r->reset(r->arg, "through the reset control register (port 0xcf9)");
	return true;
}

int reset_save(const struct reset_dev *r, void *buf, size_t len, size_t *used)
{
	(void)r;
	return devstate_save_empty(RESET_STATE_VERSION, buf, len, used);
}

int reset_restore(struct reset_dev *r, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)r;
	return devstate_restore_empty("reset", RESET_STATE_VERSION, buf, len, err, errlen);
}

DEVSTATE_OPS(reset_state_ops, "reset", struct reset_dev, reset_save, reset_restore);

int reset_register(struct reset_dev *r, struct ioport_bus *bus, struct devstate_table *states)
{
	int ret = ioport_register(bus, RESET_KBD_PORT, 1, "reset-kbd", reset_io, r);

	if (!ret)
		ret = ioport_register(bus, ACPI_RESET_PORT, 1, "reset-cf9", reset_io, r);
	return ret ? ret : devstate_register(states, &reset_state_ops, r);
}
