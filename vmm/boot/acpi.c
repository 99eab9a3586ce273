/* vmm/boot/acpi.c: the ACPI tables of a Linux machine, see acpi.h. */
#include "acpi.h"

#include <string.h>

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* of the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum; /* of all 36 */
	uint8_t reserved[3];
} __attribute__((packed));

/* A generic address: where a register is. */
struct acpi_gas {
	uint8_t space; /* 1: system I/O */
	uint8_t bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t facs, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr, gpe0, gpe1;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_len, gpe1_len, gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_facs, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt, x_pm2_cnt, x_pm_tmr;
	struct acpi_gas x_gpe0, x_gpe1, sleep_control, sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT reset register at 116");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_evt) == 148, "FADT X_PM1a_EVT_BLK at 148");

#define ACPI_FADT_WBINVD	(1u << 0)
#define ACPI_FADT_PWR_BUTTON	(1u << 4) /* no fixed power button */
#define ACPI_FADT_SLP_BUTTON	(1u << 5) /* no fixed sleep button */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_BOOT_NO_VGA	(1u << 2)
#define ACPI_BOOT_NO_CMOS_RTC	(1u << 5)
#define ACPI_FACS_LEN		64

/* Name (_S5_, Package (4) { 5, 5, 0, 0 }) in AML. */
static const uint8_t acpi_dsdt_aml[] = {
    0x08, '_',	       'S',  '5',	  '_', /* NameOp "_S5_" */
    0x12, 0x08,	       0x04,		       /* PackageOp, PkgLength 8, 4 elements */
    0x0a, ACPI_S5_TYP, 0x0a, ACPI_S5_TYP,      /* BytePrefix 5, BytePrefix 5 */
    0x00, 0x00,				       /* ZeroOp, ZeroOp */
};

static uint8_t acpi_sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

static void acpi_header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, "VMM   ", 6);
	memcpy(h->oem_table_id, "VMMLINUX", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "VMM ", 4);
	h->creator_revision = 1;
}

/* The table at p is whole: its checksum makes its bytes sum to zero. */
static void acpi_seal(void *p)
{
	struct acpi_header *h = p;

	h->checksum = 0;
	h->checksum = (uint8_t)-acpi_sum(p, h->length);
}

static struct acpi_gas acpi_port(uint16_t port, uint8_t bits)
{
	return (struct acpi_gas){.space = 1,
				 .bit_width = bits,
				 .access_size = bits >= 32 ? 3 : bits / 8,
				 .address = port};
}

static void acpi_fadt(struct acpi_fadt *f, uint64_t facs, uint64_t dsdt)
{
	memset(f, 0, sizeof(*f));
	acpi_header(&f->h, "FACP", sizeof(*f), 6);
	f->facs = (uint32_t)facs;
	f->dsdt = (uint32_t)dsdt;
	f->x_facs = facs;
	f->x_dsdt = dsdt;
	f->sci_int = ACPI_SCI_IRQ;
	f->pm1a_evt = ACPI_PM1A_EVT_PORT;
	f->pm1a_cnt = ACPI_PM1A_CNT_PORT;
	f->pm1_evt_len = 4;
	f->pm1_cnt_len = 2;
	f->x_pm1a_evt = acpi_port(ACPI_PM1A_EVT_PORT, 32);
	f->x_pm1a_cnt = acpi_port(ACPI_PM1A_CNT_PORT, 16);
	f->p_lvl2_lat = 101;					      /* > 100: no C2 */
	f->p_lvl3_lat = 1001;					      /* > 1000: no C3 */
	f->iapc_boot_arch = ACPI_BOOT_NO_VGA | ACPI_BOOT_NO_CMOS_RTC; /* and no 8042 (bit 1) */
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON |
		   ACPI_FADT_RESET_REG_SUP;
	f->reset_reg = acpi_port(ACPI_RESET_PORT, 8);
	f->reset_value = ACPI_RESET_VALUE;
	f->minor_version = 0;
	acpi_seal(f);
}

size_t acpi_build(uint8_t *buf, uint64_t base)
{
	/* RSDP at 0 (16-byte aligned for a scan), XSDT, FADT, FACS (64-byte
	 * aligned), DSDT. */
	size_t xsdt = 64, fadt = xsdt + sizeof(struct acpi_header) + 8,
	       facs = (fadt + sizeof(struct acpi_fadt) + 63) & ~(size_t)63,
	       dsdt = facs + ACPI_FACS_LEN,
	       end = dsdt + sizeof(struct acpi_header) + sizeof(acpi_dsdt_aml);
	struct acpi_rsdp *rsdp = (struct acpi_rsdp *)buf;
	uint64_t fadt_gpa = base + fadt;

	memset(buf, 0, end);
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, "VMM   ", 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt = base + xsdt;
	rsdp->checksum = (uint8_t)-acpi_sum(rsdp, 20);
	rsdp->ext_checksum = (uint8_t)-acpi_sum(rsdp, sizeof(*rsdp));

	acpi_header((struct acpi_header *)(buf + xsdt), "XSDT", sizeof(struct acpi_header) + 8, 1);
	memcpy(buf + xsdt + sizeof(struct acpi_header), &fadt_gpa, 8);
	acpi_seal(buf + xsdt);

	acpi_fadt((struct acpi_fadt *)(buf + fadt), base + facs, base + dsdt);

	memcpy(buf + facs, "FACS", 4);
	buf[facs + 4] = ACPI_FACS_LEN;
	buf[facs + 32] = 2; /* version */

	acpi_header((struct acpi_header *)(buf + dsdt), "DSDT", end - dsdt, 2);
	memcpy(buf + dsdt + sizeof(struct acpi_header), acpi_dsdt_aml, sizeof(acpi_dsdt_aml));
	acpi_seal(buf + dsdt);
	return end;
}
