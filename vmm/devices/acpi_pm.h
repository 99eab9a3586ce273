/* vmm/devices/acpi_pm.h: the ACPI PM1 registers of a Linux machine, what
 * the FADT names (boot/acpi.h): the event block at ACPI_PM1A_EVT_PORT
 * (PM1 status, write 1 to clear, then enable, 16 bits each) and the
 * control block at ACPI_PM1A_CNT_PORT.
 *
 * The machine is always in ACPI mode: SCI_EN reads as set. A write to the
 * control register with SLP_EN (bit 13) and SLP_TYP (bits 10-12) of the
 * soft-off state (ACPI_S5_TYP, the DSDT's _S5_) powers the machine off:
 * the device calls off(arg), which ends the VM (exit 0, "guest powered
 * off"). Another sleep state is refused the same way a real machine
 * without it would ignore it: the write is kept, nothing sleeps. No event
 * is ever raised (no power button, no GPE), so the SCI stays low.
 *
 * State "acpi-pm", version ACPI_PM_STATE_VERSION: u32 status, u32 enable,
 * u32 control, 16 bits each; restore refuses status or enable bits no PM1 block has
 * (TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK: 0x8f31 for status, 0x0521 for
 * enable) and a control value with SLP_EN set (that write never stays).
 */
#ifndef VMM_ACPI_PM_H
#define VMM_ACPI_PM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devstate.h"
#include "ioport.h"

#define ACPI_PM_STATE_VERSION 1

struct acpi_pm {
	uint16_t sts, en, cnt;
	void (*off)(void *arg);
	void *arg;
};

void acpi_pm_init(struct acpi_pm *pm, void (*off)(void *arg), void *arg);
/* Claim its ports, and its row in the VM's states. */
int acpi_pm_register(struct acpi_pm *pm, struct ioport_bus *bus, struct devstate_table *states);

int acpi_pm_save(const struct acpi_pm *pm, void *buf, size_t len, size_t *used);
int acpi_pm_restore(struct acpi_pm *pm, const void *buf, size_t len, char *err, size_t errlen);

#endif
