/* vmm/devices/acpi_pm.c: the ACPI PM1 registers, see acpi_pm.h. */
#include "acpi_pm.h"

#include <string.h>

#include "acpi.h"

#define PM1_STS_MASK 0x8f31 /* TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK */
#define PM1_EN_MASK  0x0521 /* TMR, GBL, PWRBTN, SLPBTN, RTC */
#define PM1_SCI_EN   0x0001
#define PM1_SLP_EN   0x2000
#define PM1_SLP_TYP  0x1c00

void acpi_pm_init(struct acpi_pm *pm, void (*off)(void *arg), void *arg)
{
	memset(pm, 0, sizeof(*pm));
	pm->cnt = PM1_SCI_EN;
	pm->off = off;
	pm->arg = arg;
}

static void acpi_pm_write_cnt(struct acpi_pm *pm, uint16_t v)
{
	pm->cnt = (v & ~PM1_SLP_EN) | PM1_SCI_EN;
	if ((v & PM1_SLP_EN) && ((v & PM1_SLP_TYP) >> 10) == ACPI_S5_TYP && pm->off)
		pm->off(pm->arg);
}

/* A 16-bit register at byte off of the two blocks: 0 status, 2 enable, 4 control. */
static uint16_t *acpi_pm_reg(struct acpi_pm *pm, unsigned off)
{
	return off < 2 ? &pm->sts : off < 4 ? &pm->en : &pm->cnt;
}

static void acpi_pm_out(struct acpi_pm *pm, unsigned off, uint32_t v, unsigned size)
{
	/* Byte and word accesses to one register, or a dword to the event
	 * block's two: split into 16-bit halves. */
	for (unsigned done = 0; done < size; done += 2, off += 2, v >>= 16) {
		unsigned reg = off & ~1u, shift = (off & 1) * 8;
		uint16_t mask = (uint16_t)(size == 1 ? 0xff << shift : 0xffff);
		uint16_t val = (uint16_t)((v << shift) & mask);

		if (reg == 0)
			pm->sts &= ~val; /* write 1 to clear */
		else if (reg == 2)
			pm->en = (pm->en & ~mask) | (val & PM1_EN_MASK);
		else
			acpi_pm_write_cnt(pm, (pm->cnt & ~mask) | val);
	}
}

static uint32_t acpi_pm_in(struct acpi_pm *pm, unsigned off, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++, off++)
		v |= (uint32_t)(*acpi_pm_reg(pm, off & ~1u) >> ((off & 1) * 8) & 0xff) << (8 * i);
	return v;
}

static bool acpi_pm_io(void *dev, const struct ioport_access *a, unsigned base)
{
	unsigned off = base + a->port - (base ? ACPI_PM1A_CNT_PORT : ACPI_PM1A_EVT_PORT);
	uint32_t v = 0;

	if (a->count != 1 || (a->size != 1 && a->size != 2 && a->size != 4) ||
	    off + a->size > (base ? 6u : 4u))
		return false;
	if (a->out) {
		memcpy(&v, a->data, a->size);
		acpi_pm_out(dev, off, v, a->size);
	} else {
		v = acpi_pm_in(dev, off, a->size);
		memcpy(a->data, &v, a->size);
	}
	return true;
}

static bool acpi_pm_evt_io(void *dev, const struct ioport_access *a)
{
	return acpi_pm_io(dev, a, 0);
}

static bool acpi_pm_cnt_io(void *dev, const struct ioport_access *a)
{
	return acpi_pm_io(dev, a, 4);
}

int acpi_pm_save(const struct acpi_pm *pm, void *buf, size_t len, size_t *used)
{
	struct devstate_writer w;

	devstate_begin(&w, buf, len, ACPI_PM_STATE_VERSION);
	devstate_put_u32(&w, pm->sts);
	devstate_put_u32(&w, pm->en);
	devstate_put_u32(&w, pm->cnt);
	return devstate_end(&w, used);
}

int acpi_pm_restore(struct acpi_pm *pm, const void *buf, size_t len, char *err, size_t errlen)
{
	struct devstate_reader r;
	uint32_t sts, en, cnt;

	devstate_open(&r, "acpi-pm", ACPI_PM_STATE_VERSION, buf, len, err, errlen);
	sts = devstate_get_u32(&r, "status");
	en = devstate_get_u32(&r, "enable");
	cnt = devstate_get_u32(&r, "control");
	if (sts & ~PM1_STS_MASK || en & ~PM1_EN_MASK)
		devstate_fail(&r, "status %#x, enable %#x: expected bits of %#x and %#x only", sts,
			      en, PM1_STS_MASK, PM1_EN_MASK);
	if (cnt > 0xffff || cnt & PM1_SLP_EN || !(cnt & PM1_SCI_EN))
		devstate_fail(&r, "control %#x: expected 16 bits with SCI_EN set and SLP_EN clear",
			      cnt);
	if (devstate_close(&r))
		return r.ret;
	pm->sts = (uint16_t)sts;
	pm->en = (uint16_t)en;
	pm->cnt = (uint16_t)cnt;
	return 0;
}

DEVSTATE_OPS(acpi_pm_state_ops, "acpi-pm", struct acpi_pm, acpi_pm_save, acpi_pm_restore);

int acpi_pm_register(struct acpi_pm *pm, struct ioport_bus *bus, struct devstate_table *states)
{
	int ret = ioport_register(bus, ACPI_PM1A_EVT_PORT, 4, "acpi-pm1-evt", acpi_pm_evt_io, pm);

	if (!ret)
		ret =
		    ioport_register(bus, ACPI_PM1A_CNT_PORT, 2, "acpi-pm1-cnt", acpi_pm_cnt_io, pm);
	return ret ? ret : devstate_register(states, &acpi_pm_state_ops, pm);
}
