/* tests/check_bzimage.c: a Linux bzImage is checked against the file and
 * guest RAM before anything is loaded, each bad header refused by the
 * field that is wrong; a good one loads at its address, and its boot data
 * (boot_params, command line, E820 map, page tables, GDT, ACPI tables) is
 * what the 64-bit boot protocol asks for. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "acpi.h"
#include "bzimage.h"
#include "bzimage_fixture.h"
#include "elf_fixture.h"
#include "err.h"
#include "guest_ram.h"
#include "initrd.h"
#include "kernel.h"
#include "testlib.h"
#include "vmm_abi.h"

#define MEM (64ULL << 20)

static struct guest_ram mem;

static void setup(void)
{
	struct guest_ram_params p = {.size = MEM, .manager = GUEST_RAM_MANAGER_KERNEL};

	ck_assert_int_eq(guest_ram_init(&mem, &p), 0);
	err_set_quiet(true);
}

static void teardown(void)
{
	guest_ram_destroy(&mem);
}

static int check(struct bzimage_fixture *f, struct bzimage *bz)
{
	return bzimage_check("fixture.bzImage", f->bytes, f->size, &mem, bz);
}

START_TEST(bzimage_accepts_the_fixture)
{
	struct bzimage_fixture f = bzimage_fixture_valid();
	struct bzimage bz;

	ck_assert(bzimage_is(f.bytes, f.size));
	ck_assert_int_eq(check(&f, &bz), 0);
	ck_assert_uint_eq(bz.version, 0x020f);
	ck_assert_uint_eq(bz.setup_bytes, BZ_FIXTURE_SETUP);
	ck_assert_uint_eq(bz.kernel_bytes, BZ_FIXTURE_KERNEL);
	ck_assert_uint_eq(bz.load_gpa, BZ_FIXTURE_LOAD);
	ck_assert_uint_eq(bz.init_size, BZ_FIXTURE_INIT_SIZE);
	ck_assert_uint_eq(bz.cmdline_size, 2047);
	ck_assert_uint_eq(bz.initrd_end_max, 0x80000000ULL);
	ck_assert_uint_eq(bzimage_entry(&bz), BZ_FIXTURE_LOAD + 0x200);
	ck_assert_uint_eq(bzimage_pages(&bz), BZ_FIXTURE_KERNEL / 4096);
}
END_TEST

START_TEST(bzimage_refuses_each_broken_header_by_its_field)
{
	for (size_t i = 0; i < bzimage_fixture_nr_cases; i++) {
		const struct bzimage_fixture_case *c = &bzimage_fixture_cases[i];
		struct bzimage_fixture f = bzimage_fixture_valid();
		struct kernel k;

		c->breaks(&f);
		/* As vmm run reads it: a damaged bzImage is checked as one. */
		ck_assert_msg(kernel_check("fixture.bzImage", f.bytes, f.size, &mem, &k) == -EINVAL,
			      "%s: accepted", c->name);
		ck_assert_msg(strstr(last_error(), c->words), "%s: \"%s\" lacks \"%s\"", c->name,
			      last_error(), c->words);
		ck_assert_msg(strstr(last_error(), "fixture.bzImage"), "%s: no file name in \"%s\"",
			      c->name, last_error());
	}
}
END_TEST

START_TEST(bzimage_of_a_fixed_kernel_loads_at_1m)
{
	struct bzimage_fixture f = bzimage_fixture_valid();
	struct bzimage bz;

	bzimage_fixture_hdr(&f)->relocatable_kernel = 0;
	ck_assert_int_eq(check(&f, &bz), 0);
	ck_assert_uint_eq(bz.load_gpa, 0x100000);
}
END_TEST

START_TEST(bzimage_rounds_its_preferred_address_up_to_the_alignment)
{
	struct bzimage_fixture f = bzimage_fixture_valid();
	struct bzimage bz;

	bzimage_fixture_hdr(&f)->pref_address = 0x1000001;
	ck_assert_int_eq(check(&f, &bz), 0);
	ck_assert_uint_eq(bz.load_gpa, 0x1200000);
}
END_TEST

START_TEST(bzimage_load_writes_the_kernel_at_its_address)
{
	struct bzimage_fixture f = bzimage_fixture_valid();
	uint8_t got[BZ_FIXTURE_KERNEL];
	struct bzimage bz;

	ck_assert_int_eq(check(&f, &bz), 0);
	ck_assert_int_eq(bzimage_load("fixture.bzImage", f.bytes, &bz, &mem), 0);
	ck_assert_int_eq(guest_ram_read(&mem, BZ_FIXTURE_LOAD, got, sizeof(got)), 0);
	ck_assert_mem_eq(got, f.bytes + BZ_FIXTURE_SETUP, sizeof(got));
}
END_TEST

static void setup_fixture(struct bzimage *bz, struct boot_params *bp, const char *cmdline)
{
	struct bzimage_fixture f = bzimage_fixture_valid();
	struct bzimage_boot b = {.cmdline = cmdline,
				 .initrd_gpa = 0x3000000,
				 .initrd_size = 12345,
				 .rsdp_gpa = BZIMAGE_ACPI_GPA};

	ck_assert_int_eq(check(&f, bz), 0);
	ck_assert_int_eq(bzimage_setup(&mem, f.bytes, bz, &b), 0);
	ck_assert_int_eq(guest_ram_read(&mem, BZIMAGE_BOOT_PARAMS_GPA, bp, sizeof(*bp)), 0);
}

START_TEST(bzimage_boot_params_carry_the_header_and_what_the_loader_fills)
{
	struct boot_params bp;
	struct bzimage bz;
	char cmdline[32];

	setup_fixture(&bz, &bp, "console=ttyS0 -- sh");
	ck_assert_uint_eq(bp.hdr.header, 0x53726448);
	ck_assert_uint_eq(bp.hdr.version, 0x020f);
	ck_assert_uint_eq(bp.hdr.init_size, BZ_FIXTURE_INIT_SIZE);
	ck_assert_uint_eq(bp.hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp.hdr.cmd_line_ptr, BZIMAGE_CMDLINE_GPA);
	ck_assert_uint_eq(bp.hdr.ramdisk_image, 0x3000000);
	ck_assert_uint_eq(bp.hdr.ramdisk_size, 12345);
	ck_assert_uint_eq(bp.acpi_rsdp_addr, BZIMAGE_ACPI_GPA);
	ck_assert_int_eq(guest_ram_read(&mem, BZIMAGE_CMDLINE_GPA, cmdline, 20), 0);
	ck_assert_str_eq(cmdline, "console=ttyS0 -- sh");
}
END_TEST

START_TEST(bzimage_e820_gives_ram_and_reserves_the_bios_areas)
{
	static const struct boot_e820_entry want[] = {
	    {0, 0x9fc00, 1},
	    {0x9fc00, 0x400, 2},
	    {0xe0000, 0x20000, 2},
	    {0x100000, MEM - 0x100000, 1},
	};
	struct boot_params bp;
	struct bzimage bz;

	setup_fixture(&bz, &bp, "");
	ck_assert_uint_eq(bp.e820_entries, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(bp.e820_table[i].addr, want[i].addr);
		ck_assert_uint_eq(bp.e820_table[i].size, want[i].size);
		ck_assert_uint_eq(bp.e820_table[i].type, want[i].type);
	}
}
END_TEST

START_TEST(bzimage_page_tables_map_the_first_4g_and_the_gdt_is_flat)
{
	uint64_t pml4, pdpt[4], pd_last, gdt[4];
	struct boot_params bp;
	struct bzimage bz;

	setup_fixture(&bz, &bp, "");
	ck_assert_int_eq(guest_ram_read(&mem, BZIMAGE_PML4_GPA, &pml4, 8), 0);
	ck_assert_uint_eq(pml4, (BZIMAGE_PML4_GPA + 0x1000) | 3);
	ck_assert_int_eq(guest_ram_read(&mem, BZIMAGE_PML4_GPA + 0x1000, pdpt, sizeof(pdpt)), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(pdpt[i], (BZIMAGE_PML4_GPA + 0x2000 + i * 0x1000) | 3);
	ck_assert_int_eq(guest_ram_read(&mem, BZIMAGE_PML4_GPA + 0x5ff8, &pd_last, 8), 0);
	ck_assert_uint_eq(pd_last, 0xffe00000ULL | 0x83); /* the last 2 MiB below 4 GiB */
	ck_assert_int_eq(guest_ram_read(&mem, BZIMAGE_GDT_GPA, gdt, sizeof(gdt)), 0);
	ck_assert_uint_eq(gdt[BZIMAGE_CODE_SEL / 8], 0x00af9b000000ffffULL);
	ck_assert_uint_eq(gdt[BZIMAGE_DATA_SEL / 8], 0x00cf93000000ffffULL);
}
END_TEST

START_TEST(bzimage_refuses_a_command_line_longer_than_the_kernel_takes)
{
	struct bzimage_fixture f = bzimage_fixture_valid();
	struct bzimage_boot b = {.cmdline = "0123456789abcdef"};
	struct bzimage bz;

	bzimage_fixture_hdr(&f)->cmdline_size = 15;
	ck_assert_int_eq(check(&f, &bz), 0);
	ck_assert_int_eq(bzimage_check_cmdline(&bz, b.cmdline), -EINVAL);
	ck_assert_ptr_nonnull(strstr(last_error(), "16 bytes: this kernel takes at most 15"));
	ck_assert_int_eq(bzimage_setup(&mem, f.bytes, &bz, &b), -EINVAL);
}
END_TEST

START_TEST(kernel_tells_a_bzimage_from_an_elf)
{
	struct bzimage_fixture bf = bzimage_fixture_valid();
	struct elf_fixture ef = elf_fixture_valid();
	struct kernel k;
	uint64_t floor, ceiling;

	ck_assert_int_eq(kernel_check("b", bf.bytes, bf.size, &mem, &k), 0);
	ck_assert_int_eq(k.format, KERNEL_BZIMAGE);
	ck_assert_int_eq(kernel_machine(&k), MACHINE_LINUX);
	kernel_initrd_bounds(&k, &floor, &ceiling);
	ck_assert_uint_eq(floor, BZ_FIXTURE_LOAD + BZ_FIXTURE_INIT_SIZE);
	ck_assert_uint_eq(ceiling, 0x80000000ULL);
	ck_assert_int_eq(kernel_check("e", ef.bytes, ef.size, &mem, &k), 0);
	ck_assert_int_eq(k.format, KERNEL_PVH);
	ck_assert_int_eq(kernel_machine(&k), MACHINE_VMM);
	ck_assert_int_eq(kernel_check("x", (const uint8_t *)"garbage!", 8, &mem, &k), -EINVAL);
	ck_assert_ptr_nonnull(strstr(last_error(), "neither an ELF"));
}
END_TEST

START_TEST(initrd_stays_below_the_kernels_ceiling)
{
	uint64_t gpa;

	ck_assert_int_eq(initrd_place("rd", 0x1000, &mem, 0x2000000, 0x3000000, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x3000000 - 0x1000);
	ck_assert_int_eq(initrd_place("rd", 0x1000, &mem, 0x2000000, 0x2000800, &gpa), -EINVAL);
}
END_TEST

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

START_TEST(acpi_tables_sum_to_zero_and_name_the_pm_ports)
{
	static uint8_t t[ACPI_TABLES_MAX];
	const uint64_t base = BZIMAGE_ACPI_GPA;
	size_t len = acpi_build(t, base);
	uint64_t xsdt, fadt, dsdt;

	ck_assert_uint_le(len, ACPI_TABLES_MAX);
	ck_assert_mem_eq(t, "RSD PTR ", 8);
	ck_assert_uint_eq(sum(t, 20), 0);
	ck_assert_uint_eq(sum(t, 36), 0);
	xsdt = le64(t + 24) - base;
	ck_assert_mem_eq(t + xsdt, "XSDT", 4);
	ck_assert_uint_eq(sum(t + xsdt, le32(t + xsdt + 4)), 0);
	fadt = le64(t + xsdt + 36) - base;
	ck_assert_mem_eq(t + fadt, "FACP", 4);
	ck_assert_uint_eq(sum(t + fadt, le32(t + fadt + 4)), 0);
	ck_assert_uint_eq(le32(t + fadt + 56), ACPI_PM1A_EVT_PORT);
	ck_assert_uint_eq(le32(t + fadt + 64), ACPI_PM1A_CNT_PORT);
	ck_assert_uint_eq(le64(t + fadt + 116 + 4), ACPI_RESET_PORT);
	ck_assert_uint_eq(t[fadt + 128], ACPI_RESET_VALUE);
	dsdt = le64(t + fadt + 140) - base;
	ck_assert_mem_eq(t + dsdt, "DSDT", 4);
	ck_assert_uint_eq(sum(t + dsdt, le32(t + dsdt + 4)), 0);
	ck_assert_ptr_nonnull(memmem(t + dsdt, le32(t + dsdt + 4), "_S5_", 4));
	ck_assert_mem_eq(t + le64(t + fadt + 132) - base, "FACS", 4);
}
END_TEST

static Suite *bzimage_suite(void)
{
	Suite *s = suite_create("bzimage");
	TCase *tc = tcase_create("bzimage");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bzimage_accepts_the_fixture);
	tcase_add_test(tc, bzimage_refuses_each_broken_header_by_its_field);
	tcase_add_test(tc, bzimage_of_a_fixed_kernel_loads_at_1m);
	tcase_add_test(tc, bzimage_rounds_its_preferred_address_up_to_the_alignment);
	tcase_add_test(tc, bzimage_load_writes_the_kernel_at_its_address);
	tcase_add_test(tc, bzimage_boot_params_carry_the_header_and_what_the_loader_fills);
	tcase_add_test(tc, bzimage_e820_gives_ram_and_reserves_the_bios_areas);
	tcase_add_test(tc, bzimage_page_tables_map_the_first_4g_and_the_gdt_is_flat);
	tcase_add_test(tc, bzimage_refuses_a_command_line_longer_than_the_kernel_takes);
	tcase_add_test(tc, kernel_tells_a_bzimage_from_an_elf);
	tcase_add_test(tc, initrd_stays_below_the_kernels_ceiling);
	tcase_add_test(tc, acpi_tables_sum_to_zero_and_name_the_pm_ports);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(bzimage_suite());
}
