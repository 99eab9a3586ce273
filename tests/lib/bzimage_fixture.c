/* tests/lib/bzimage_fixture.c: see bzimage_fixture.h. */
#include "bzimage_fixture.h"

#include <string.h>

struct setup_header *bzimage_fixture_hdr(struct bzimage_fixture *f)
{
	return (struct setup_header *)(f->bytes + 0x1f1);
}

struct bzimage_fixture bzimage_fixture_valid(void)
{
	struct bzimage_fixture f;
	struct setup_header *h = bzimage_fixture_hdr(&f);

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f.bytes);
	h->setup_sects = BZ_FIXTURE_SETUP_SECTS;
	h->syssize = BZ_FIXTURE_KERNEL / 16;
	h->boot_flag = 0xaa55;
	h->jump = 0xeb | (uint16_t)(0x26c - 0x202) << 8; /* jmp over the header */
	h->header = 0x53726448;				 /* "HdrS" */
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->code32_start = 0x100000;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->min_alignment = 21;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = 2047;
	h->payload_offset = 0x100;
	h->payload_length = 0x1000;
	h->pref_address = BZ_FIXTURE_LOAD;
	h->init_size = BZ_FIXTURE_INIT_SIZE;
	for (size_t i = 0; i < BZ_FIXTURE_KERNEL; i++)
		f.bytes[BZ_FIXTURE_SETUP + i] = (uint8_t)(i * 7 + 1);
	return f;
}

static void break_truncated(struct bzimage_fixture *f)
{
	f->size = 0x180; /* not even a boot sector */
}

static void break_truncated_setup(struct bzimage_fixture *f)
{
	f->size = BZ_FIXTURE_SETUP - 512; /* the header, but not all of the setup */
}

static void break_boot_flag(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->boot_flag = 0x55aa;
}

static void break_magic(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->header = 0x58726448; /* "HdrX" */
}

static void break_version(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->version = 0x0204;
}

static void break_xloadflags(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->xloadflags = 0;
}

static void break_loadflags(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->loadflags = 0;
}

static void break_setup_sects(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->setup_sects = 200;
}

static void break_syssize(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->syssize = BZ_FIXTURE_KERNEL / 16 + 1;
}

static void break_payload(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->payload_length = BZ_FIXTURE_KERNEL;
}

static void break_init_size(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->init_size = BZ_FIXTURE_KERNEL - 1;
}

static void break_alignment(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->kernel_alignment = 0x300000;
}

static void break_header_end(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->jump = 0xeb | 0x40 << 8; /* ends at 0x242: before init_size */
}

static void break_ram(struct bzimage_fixture *f)
{
	bzimage_fixture_hdr(f)->init_size = 0xf0000000u; /* more than RAM below 3 GiB */
}

const struct bzimage_fixture_case bzimage_fixture_cases[] = {
    {"truncated", "boot flag", break_truncated},
    {"truncated-setup", "setup_sects", break_truncated_setup},
    {"boot-flag", "offset 0x1fe: boot flag 0x55aa, expected 0xaa55", break_boot_flag},
    {"magic", "offset 0x202: header magic", break_magic},
    {"old-protocol", "boot protocol version 2.04", break_version},
    {"no-64-bit-entry", "XLF_KERNEL_64", break_xloadflags},
    {"zimage", "LOADED_HIGH", break_loadflags},
    {"setup-past-file", "offset 0x1f1: setup_sects 200", break_setup_sects},
    {"syssize-past-file", "offset 0x1f4: syssize", break_syssize},
    {"payload-past-kernel", "offset 0x248: payload", break_payload},
    {"init-size-small", "offset 0x260: init_size", break_init_size},
    {"alignment", "kernel_alignment 0x300000", break_alignment},
    {"short-header", "setup header ends at 0x242", break_header_end},
    {"past-ram", "RAM below 3 GiB ends", break_ram},
};

const size_t bzimage_fixture_nr_cases =
    sizeof(bzimage_fixture_cases) / sizeof(bzimage_fixture_cases[0]);
