/* vmm/boot/acpi.h: the ACPI tables of a Linux machine (ACPI 6.x).
 *
 * Only what a guest needs to power itself off and reset, on a PC with the
 * legacy PIC (no MADT yet: one vCPU, interrupts through the 8259s in
 * virtual-wire mode; SMP needs a MADT, see docs/linux-guest.md):
 *   RSDP  revision 2, at the start of the tables (Linux finds it through
 *         boot_params.acpi_rsdp_addr, or by scanning 0xe0000-0xfffff)
 *   XSDT  one entry: the FADT
 *   FADT  revision 6: PM1a event block at ACPI_PM1A_EVT_PORT (4 bytes),
 *         control block at ACPI_PM1A_CNT_PORT (2 bytes), SCI on IRQ 9,
 *         no SMI command port (always in ACPI mode), no PM timer and no
 *         GPE blocks; the reset register is port ACPI_RESET_PORT (write
 *         ACPI_RESET_VALUE); IAPC boot flags: no VGA, no 8042, no CMOS RTC
 *   FACS  64 bytes, no global lock holder
 *   DSDT  Name (_S5_, Package () { ACPI_S5_TYP, ACPI_S5_TYP, 0, 0 })
 * The devices behind the ports are devices/acpi_pm.c (PM1, power off) and
 * devices/reset.c (the reset register).
 */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_PM1A_EVT_PORT 0x600
#define ACPI_PM1A_CNT_PORT 0x604
#define ACPI_RESET_PORT	   0xcf9
#define ACPI_RESET_VALUE   0x06 /* reset the CPU, hard: what a PIIX takes */
#define ACPI_SCI_IRQ	   9
#define ACPI_S5_TYP	   5 /* SLP_TYP of the soft-off state */
#define ACPI_TABLES_MAX	   1024

/* Build the tables for a guest that finds them at GPA base into buf (at
 * least ACPI_TABLES_MAX bytes): their length. The RSDP is at base. */
size_t acpi_build(uint8_t *buf, uint64_t base);

#endif
