/* tests/check_loader.c: the ELF/PVH loader accepts a valid image and
 * rejects each kind of malformed one with -EINVAL and a message that names
 * the problem, leaving guest RAM untouched. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_fixture.h"
#include "err.h"
#include "guest_ram.h"
#include "initrd.h"
#include "loader.h"
#include "testlib.h"
#include "vmm_abi.h"

static struct guest_ram mem;
static struct load_info li;

static void setup(void)
{
	struct guest_ram_params p = {.size = 16ULL << 20, .manager = GUEST_RAM_MANAGER_KERNEL};

	ck_assert_int_eq(guest_ram_init(&mem, &p), 0);
}

static void teardown(void)
{
	guest_ram_destroy(&mem);
}

static int load(struct elf_fixture *f)
{
	return loader_load_image("fixture.elf", f->bytes, f->size, &mem, &li);
}

static void assert_rejected(struct elf_fixture *f, const char *words)
{
	ck_assert_int_eq(load(f), -EINVAL);
	ck_assert_msg(strstr(last_error(), words), "error \"%s\" lacks \"%s\"", last_error(),
		      words);
	ck_assert_msg(strstr(last_error(), "fixture.elf"), "error \"%s\" lacks the file name",
		      last_error());
	uint8_t byte = 0xff;

	/* Nothing was written: the load address is still zero. */
	ck_assert_int_eq(guest_ram_read(&mem, FIXTURE_LOAD_GPA, &byte, 1), 0);
	ck_assert_int_eq(byte, 0);
}

START_TEST(loader_accepts_valid_image)
{
	struct elf_fixture f = elf_fixture_valid();
	static uint8_t ram[FIXTURE_CODE_SIZE + 4096];

	ck_assert_int_eq(load(&f), 0);
	ck_assert_uint_eq(li.entry, FIXTURE_LOAD_GPA);
	ck_assert_uint_eq(li.load_end, FIXTURE_LOAD_GPA + FIXTURE_CODE_SIZE + 4096);
	ck_assert_uint_eq(li.pages, 1);
	ck_assert_int_eq(guest_ram_read(&mem, FIXTURE_LOAD_GPA, ram, sizeof(ram)), 0);
	ck_assert_mem_eq(ram, f.img.code, FIXTURE_CODE_SIZE);
	ck_assert_int_eq(ram[FIXTURE_CODE_SIZE + 100], 0);
}
END_TEST

/* What --host-mem must hold for the kernel: the pages the load writes. */
START_TEST(loader_image_pages_are_the_pages_the_load_writes)
{
	struct elf_fixture f = elf_fixture_valid();

	ck_assert_uint_eq(loader_image_pages(f.bytes), 1);
	f.img.phdr[0].p_paddr = FIXTURE_LOAD_GPA + 4096 - 8; /* straddles a page boundary */
	f.img.note.entry = f.img.phdr[0].p_paddr;
	ck_assert_uint_eq(loader_image_pages(f.bytes), 2);
	ck_assert_int_eq(load(&f), 0);
	ck_assert_uint_eq(li.pages, 2);
	f.img.phdr[0].p_filesz = 0; /* all bss: nothing written */
	ck_assert_uint_eq(loader_image_pages(f.bytes), 0);
}
END_TEST

START_TEST(loader_rejects_non_elf)
{
	struct elf_fixture f = elf_fixture_valid();

	memcpy(f.bytes, "#!/bin/sh\n", 10);
	assert_rejected(&f, "not an ELF file");
}
END_TEST

START_TEST(loader_rejects_elf32)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.ehdr.e_ident[EI_CLASS] = ELFCLASS32;
	assert_rejected(&f, "not ELF32");
}
END_TEST

START_TEST(loader_rejects_truncated_header)
{
	struct elf_fixture f = elf_fixture_valid();

	f.size = 40;
	assert_rejected(&f, "truncated ELF header");
}
END_TEST

START_TEST(loader_rejects_truncated_program_headers)
{
	struct elf_fixture f = elf_fixture_valid();

	f.size = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 8;
	assert_rejected(&f, "program headers");
}
END_TEST

START_TEST(loader_accepts_image_without_section_table)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.ehdr.e_shoff = 0;
	f.img.ehdr.e_shnum = 0;
	f.img.ehdr.e_shstrndx = SHN_UNDEF;
	ck_assert_int_eq(load(&f), 0);
}
END_TEST

/* A truncated file whose segments survived must not load. */
START_TEST(loader_rejects_section_table_past_eof)
{
	struct elf_fixture f = elf_fixture_valid();
	char where[64];

	f.size -= sizeof(Elf64_Shdr) / 2;
	snprintf(where, sizeof(where), "section header table at offset %#lx",
		 (unsigned long)f.img.ehdr.e_shoff);
	assert_rejected(&f, where);
	ck_assert_ptr_nonnull(strstr(last_error(), "runs past end of file"));
}
END_TEST

START_TEST(loader_rejects_section_table_starting_past_eof)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.ehdr.e_shoff = f.size + 4096;
	assert_rejected(&f, "section header table at offset");
}
END_TEST

START_TEST(loader_rejects_section_count_past_eof)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.ehdr.e_shnum = 60000;
	assert_rejected(&f, "(60000 entries) runs past end of file");
}
END_TEST

START_TEST(loader_rejects_extended_section_count_past_eof)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.ehdr.e_shnum = 0;
	f.img.shdr[0].sh_size = UINT64_MAX / 2;
	assert_rejected(&f, "section header table at offset");
}
END_TEST

START_TEST(loader_rejects_bad_section_header_size)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.ehdr.e_shentsize = 40;
	assert_rejected(&f, "section header size 40: expected 64");
}
END_TEST

START_TEST(loader_rejects_section_counts_without_table)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.ehdr.e_shoff = 0;
	assert_rejected(&f, "no section header table (e_shoff 0) but e_shnum 2");
}
END_TEST

START_TEST(loader_rejects_section_name_index_out_of_range)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.ehdr.e_shstrndx = 2;
	assert_rejected(&f, "section name table index 2: expected below 2");
	f.img.ehdr.e_shstrndx = SHN_XINDEX;
	f.img.shdr[0].sh_link = 7;
	assert_rejected(&f, "section name table index 7");
}
END_TEST

START_TEST(loader_rejects_section_name_table_past_eof)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.shdr[1].sh_size = f.size;
	assert_rejected(&f, "section name table (section 1) at offset");
}
END_TEST

START_TEST(loader_rejects_segment_past_eof)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.phdr[0].p_filesz = f.size + 4096;
	f.img.phdr[0].p_memsz = f.size + 8192;
	assert_rejected(&f, "runs past end of file");
}
END_TEST

START_TEST(loader_rejects_filesz_above_memsz)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.phdr[0].p_memsz = FIXTURE_CODE_SIZE - 1;
	assert_rejected(&f, "exceeds p_memsz");
}
END_TEST

/* Found by fuzz_loader: an empty segment must not vouch for the entry. */
START_TEST(loader_rejects_file_bytes_in_an_empty_segment)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.phdr[0].p_memsz = 0;
	assert_rejected(&f, "exceeds p_memsz");
}
END_TEST

START_TEST(loader_rejects_segment_outside_ram)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.phdr[0].p_paddr = (16ULL << 20) - 64;
	assert_rejected(&f, "outside guest RAM");
}
END_TEST

START_TEST(loader_rejects_segment_overflowing_address)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.phdr[0].p_paddr = UINT64_MAX - 100;
	assert_rejected(&f, "outside guest RAM");
}
END_TEST

START_TEST(loader_rejects_segment_in_vmm_area)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.phdr[0].p_paddr = 0x8000;
	f.img.note.entry = 0x8000;
	assert_rejected(&f, "overlaps the VMM's area");
}
END_TEST

START_TEST(loader_rejects_missing_pvh_note)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.note.nh.n_type = 1;
	assert_rejected(&f, "no PVH entry note");
}
END_TEST

START_TEST(loader_rejects_note_past_segment)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.note.nh.n_descsz = 64;
	assert_rejected(&f, "runs past its PT_NOTE segment");
}
END_TEST

START_TEST(loader_rejects_entry_outside_segments)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.note.entry = 0x400000;
	assert_rejected(&f, "outside every loaded segment");
}
END_TEST

START_TEST(loader_rejects_wrong_machine)
{
	struct elf_fixture f = elf_fixture_valid();

	f.img.ehdr.e_machine = EM_AARCH64;
	assert_rejected(&f, "expected x86-64");
}
END_TEST

START_TEST(loader_rejects_missing_file)
{
	ck_assert_int_eq(loader_load_file("/nonexistent/kernel.elf", &mem, &li), -ENOENT);
	ck_assert_ptr_nonnull(strstr(last_error(), "/nonexistent/kernel.elf"));
}
END_TEST

/* Random single-byte corruption of a valid image must never crash the
 * loader: it either loads or says why not. Seed from LOADER_FUZZ_SEED. */
START_TEST(loader_survives_random_corruption)
{
	const char *env = getenv("LOADER_FUZZ_SEED");
	unsigned seed = env ? strtoul(env, NULL, 0) : 12345;

	fprintf(stderr, "loader_survives_random_corruption: seed %u (LOADER_FUZZ_SEED)\n", seed);
	srandom(seed);
	for (int i = 0; i < 20000; i++) {
		struct elf_fixture f = elf_fixture_valid();
		int r;

		for (int k = 0; k < 1 + random() % 4; k++)
			f.bytes[random() % f.size] = random();
		r = load(&f);
		ck_assert_msg(r == 0 || r == -EINVAL, "iteration %d: returned %d", i, r);
	}
}
END_TEST

/* The highest GPA the image occupies: where an initrd may begin. */
START_TEST(loader_image_end_counts_bss)
{
	struct elf_fixture f = elf_fixture_valid();

	ck_assert_uint_eq(loader_image_end(f.bytes), FIXTURE_LOAD_GPA + FIXTURE_CODE_SIZE + 4096);
}
END_TEST

/* A FIFO is refused at once rather than waited on for a writer. */
START_TEST(loader_refuses_a_fifo_without_blocking)
{
	char path[64] = "/tmp/check_loader.XXXXXX";
	struct loader_file lf;

	ck_assert_ptr_nonnull(mkdtemp(path));
	strcat(path, "/fifo"); /* room for it: path is 64 bytes */
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(loader_read_file(path, &lf), -EINVAL);
	ck_assert_ptr_nonnull(strstr(last_error(), "expected a regular file"));
	unlink(path);
	*strrchr(path, '/') = 0;
	rmdir(path);
}
END_TEST

/* At the top of low RAM, page-aligned, whatever its size. */
START_TEST(initrd_goes_at_the_top_of_low_ram)
{
	uint64_t gpa;

	ck_assert_int_eq(initrd_place("rd", 0x10123, &mem, 0x200000, 0, &gpa), 0);
	ck_assert_uint_eq(gpa, (16ULL << 20) - 0x11000);
	ck_assert_uint_eq(gpa % 4096, 0);
	ck_assert_uint_eq(initrd_pages(0x10123), 0x11);
}
END_TEST

START_TEST(initrd_that_would_cover_the_kernel_is_refused)
{
	uint64_t gpa = 0;

	ck_assert_int_eq(initrd_place("rd", (16ULL << 20) - 0x200000, &mem, 0x200000, 0, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x200000);
	ck_assert_int_eq(initrd_place("rd", (16ULL << 20) - 0x200000 + 1, &mem, 0x200000, 0, &gpa),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(last_error(), "rd: "));
	ck_assert_ptr_nonnull(strstr(last_error(), "kernel's end (GPA 0x200000)"));
	ck_assert_int_eq(initrd_place("rd", 32ULL << 20, &mem, 0x200000, 0, &gpa), -EINVAL);
}
END_TEST

/* Its bytes land where it was placed. */
START_TEST(initrd_load_writes_its_bytes_at_its_gpa)
{
	static uint8_t bytes[5000], back[5000];
	struct initrd rd = {.file = {.path = "rd", .buf = bytes, .size = sizeof(bytes)}};

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = i * 7 + 1;
	ck_assert_int_eq(initrd_place("rd", sizeof(bytes), &mem, 0x200000, 0, &rd.gpa), 0);
	ck_assert_int_eq(initrd_load(&rd, &mem), 0);
	ck_assert_int_eq(guest_ram_read(&mem, rd.gpa, back, sizeof(back)), 0);
	ck_assert_mem_eq(back, bytes, sizeof(bytes));
}
END_TEST

START_TEST(initrd_empty_is_refused)
{
	uint64_t gpa;

	ck_assert_int_eq(initrd_place("rd", 0, &mem, 0x200000, 0, &gpa), -EINVAL);
	ck_assert_ptr_nonnull(strstr(last_error(), "empty file"));
}
END_TEST

static Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("elf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, loader_accepts_valid_image);
	tcase_add_test(tc, loader_image_pages_are_the_pages_the_load_writes);
	tcase_add_test(tc, loader_rejects_non_elf);
	tcase_add_test(tc, loader_rejects_elf32);
	tcase_add_test(tc, loader_rejects_truncated_header);
	tcase_add_test(tc, loader_rejects_truncated_program_headers);
	tcase_add_test(tc, loader_accepts_image_without_section_table);
	tcase_add_test(tc, loader_rejects_section_table_past_eof);
	tcase_add_test(tc, loader_rejects_section_table_starting_past_eof);
	tcase_add_test(tc, loader_rejects_section_count_past_eof);
	tcase_add_test(tc, loader_rejects_extended_section_count_past_eof);
	tcase_add_test(tc, loader_rejects_bad_section_header_size);
	tcase_add_test(tc, loader_rejects_section_counts_without_table);
	tcase_add_test(tc, loader_rejects_section_name_index_out_of_range);
	tcase_add_test(tc, loader_rejects_section_name_table_past_eof);
	tcase_add_test(tc, loader_rejects_segment_past_eof);
	tcase_add_test(tc, loader_rejects_filesz_above_memsz);
	tcase_add_test(tc, loader_rejects_file_bytes_in_an_empty_segment);
	tcase_add_test(tc, loader_rejects_segment_outside_ram);
	tcase_add_test(tc, loader_rejects_segment_overflowing_address);
	tcase_add_test(tc, loader_rejects_segment_in_vmm_area);
	tcase_add_test(tc, loader_rejects_missing_pvh_note);
	tcase_add_test(tc, loader_rejects_note_past_segment);
	tcase_add_test(tc, loader_rejects_entry_outside_segments);
	tcase_add_test(tc, loader_rejects_wrong_machine);
	tcase_add_test(tc, loader_rejects_missing_file);
	tcase_add_test(tc, loader_survives_random_corruption);
	tcase_add_test(tc, loader_image_end_counts_bss);
	tcase_add_test(tc, loader_refuses_a_fifo_without_blocking);
	tcase_add_test(tc, initrd_goes_at_the_top_of_low_ram);
	tcase_add_test(tc, initrd_that_would_cover_the_kernel_is_refused);
	tcase_add_test(tc, initrd_empty_is_refused);
	tcase_add_test(tc, initrd_load_writes_its_bytes_at_its_gpa);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(loader_suite());
}
