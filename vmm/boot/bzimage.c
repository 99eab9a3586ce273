/* vmm/boot/bzimage.c: the 64-bit Linux boot protocol, see bzimage.h. */
#include "bzimage.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "vmm_abi.h"

#define BZ_OFF(field)	 (offsetof(struct boot_params, hdr) + offsetof(struct setup_header, field))
#define BZ_HDR_START	 0x1f1
#define BZ_HDR_MIN_END	 (BZ_OFF(init_size) + 4) /* what protocol 2.12 has, at least */
#define BZ_HDR_MAX_END	 (BZ_HDR_START + sizeof(struct setup_header))
#define BZ_BOOT_FLAG	 0xaa55
#define BZ_MAGIC	 0x53726448 /* "HdrS" */
#define BZ_DEFAULT_SECTS 4	    /* setup_sects 0 means 4 */
#define BZ_HIGH_LOAD	 0x100000ULL
#define BZ_PAGE		 EPT_PAGE_SIZE
#define BZ_E820_RAM	 1
#define BZ_E820_RESERVED 2
#define BZ_PT_PAGES	 6 /* PML4, PDPT, 4 PDs: [0, 4 GiB) in 2 MiB pages */

bool bzimage_is(const uint8_t *buf, size_t size)
{
	uint16_t flag;

	if (size < BZ_OFF(boot_flag) + sizeof(flag))
		return false;
	memcpy(&flag, buf + BZ_OFF(boot_flag), sizeof(flag));
	return flag == BZ_BOOT_FLAG;
}

/* The setup header as far as the file has it; the rest zero. */
static void bzimage_header(const uint8_t *buf, size_t size, struct setup_header *h)
{
	size_t n = size > BZ_HDR_MAX_END ? BZ_HDR_MAX_END : size;

	memset(h, 0, sizeof(*h));
	if (n > BZ_HDR_START)
		memcpy(h, buf + BZ_HDR_START, n - BZ_HDR_START);
}

/* The boot sector, the magic, the protocol and the header's own length. */
static int bzimage_check_magic(const char *name, const uint8_t *buf, size_t size,
			       const struct setup_header *h, uint32_t *hdr_end)
{
	if (!bzimage_is(buf, size))
		return err_input(name, "offset %#zx: boot flag %#x: expected %#x (not a bzImage)",
				 BZ_OFF(boot_flag), h->boot_flag, BZ_BOOT_FLAG);
	if (size < BZ_OFF(version) + 2)
		return err_input(name, "truncated: %zu bytes end inside the setup header", size);
	if (h->header != BZ_MAGIC)
		return err_input(name,
				 "offset %#zx: header magic %#x: expected %#x (\"HdrS\", a Linux "
				 "boot header)",
				 BZ_OFF(header), h->header, BZ_MAGIC);
	if (h->version < BZIMAGE_MIN_VERSION)
		return err_input(name,
				 "offset %#zx: boot protocol version %u.%02u: expected 2.12 or "
				 "later (the 64-bit entry)",
				 BZ_OFF(version), h->version >> 8, h->version & 0xff);
	/* The jump at 0x200 (a short jmp over the header) says where it ends. */
	*hdr_end = 0x202 + buf[0x201];
	if (*hdr_end < BZ_HDR_MIN_END || *hdr_end > size)
		return err_input(name,
				 "offset 0x201: the setup header ends at %#x: expected %#zx to the "
				 "end of file (%zu bytes) for protocol %u.%02u",
				 *hdr_end, BZ_HDR_MIN_END, size, h->version >> 8,
				 h->version & 0xff);
	return 0;
}

/* The two parts of the file, and what the protected-mode kernel holds. */
static int bzimage_check_sizes(const char *name, size_t size, const struct setup_header *h,
			       struct bzimage *bz)
{
	unsigned sects = h->setup_sects ? h->setup_sects : BZ_DEFAULT_SECTS;
	uint64_t sys = (uint64_t)h->syssize * 16;

	bz->setup_bytes = (sects + 1) * 512;
	if (bz->setup_bytes < bz->header_end || bz->setup_bytes >= size)
		return err_input(name,
				 "offset %#zx: setup_sects %u: %u bytes of setup, expected them "
				 "to hold the header (%u bytes) and end before the end of file "
				 "(%zu bytes)",
				 BZ_OFF(setup_sects), h->setup_sects, bz->setup_bytes,
				 bz->header_end, size);
	bz->kernel_bytes = size - bz->setup_bytes;
	if (!sys || sys > bz->kernel_bytes)
		return err_input(name,
				 "offset %#zx: syssize %#x (%llu bytes of kernel) runs past end of "
				 "file: %llu bytes follow the setup",
				 BZ_OFF(syssize), h->syssize, (unsigned long long)sys,
				 (unsigned long long)bz->kernel_bytes);
	if ((uint64_t)h->payload_offset + h->payload_length > sys)
		return err_input(name,
				 "offset %#zx: payload at %#x (%#x bytes) runs past the kernel's "
				 "%llu bytes (syssize)",
				 BZ_OFF(payload_offset), h->payload_offset, h->payload_length,
				 (unsigned long long)sys);
	if (h->init_size < bz->kernel_bytes)
		return err_input(name,
				 "offset %#zx: init_size %#x: expected at least the %llu bytes of "
				 "kernel in the file",
				 BZ_OFF(init_size), h->init_size,
				 (unsigned long long)bz->kernel_bytes);
	return 0;
}

/* The 64-bit entry, and a kernel that loads high. */
static int bzimage_check_flags(const char *name, const struct setup_header *h)
{
	if (!(h->xloadflags & XLF_KERNEL_64))
		return err_input(name,
				 "offset %#zx: xloadflags %#x: XLF_KERNEL_64 (bit 0) unset: the "
				 "kernel has no 64-bit entry",
				 BZ_OFF(xloadflags), h->xloadflags);
	if (!(h->loadflags & LOADED_HIGH))
		return err_input(name,
				 "offset %#zx: loadflags %#x: LOADED_HIGH (bit 0) unset: a zImage, "
				 "expected a bzImage",
				 BZ_OFF(loadflags), h->loadflags);
	if (h->relocatable_kernel &&
	    (h->kernel_alignment < BZ_PAGE || (h->kernel_alignment & (h->kernel_alignment - 1))))
		return err_input(name,
				 "offset %#zx: kernel_alignment %#x: expected a power of two, at "
				 "least 4K",
				 BZ_OFF(kernel_alignment), h->kernel_alignment);
	return 0;
}

/* Where the kernel goes, and what it needs there against RAM below 4 GiB. */
static int bzimage_check_ram(const char *name, const struct setup_header *h,
			     const struct guest_ram *m, struct bzimage *bz)
{
	uint64_t top = m->region[0].size, load = BZ_HIGH_LOAD;

	if (h->relocatable_kernel) {
		if (h->pref_address > load)
			load = h->pref_address;
		load = (load + h->kernel_alignment - 1) & ~(uint64_t)(h->kernel_alignment - 1);
	}
	bz->load_gpa = load;
	bz->init_size = h->init_size;
	if (load > top || bz->init_size > top - load)
		return err_input(name,
				 "offset %#zx: init_size %#x: the kernel needs RAM from GPA %#llx "
				 "to %#llx, but RAM below 3 GiB ends at %#llx (give a larger "
				 "--mem)",
				 BZ_OFF(init_size), h->init_size, (unsigned long long)load,
				 (unsigned long long)(load + bz->init_size),
				 (unsigned long long)top);
	bz->cmdline_size = h->cmdline_size ? h->cmdline_size : 255;
	bz->initrd_end_max = (uint64_t)h->initrd_addr_max + 1;
	return 0;
}

int bzimage_check(const char *name, const uint8_t *buf, size_t size, const struct guest_ram *m,
		  struct bzimage *out)
{
	struct setup_header h;
	struct bzimage bz = {0};
	int ret;

	bzimage_header(buf, size, &h);
	ret = bzimage_check_magic(name, buf, size, &h, &bz.header_end);
	if (!ret)
		ret = bzimage_check_flags(name, &h);
	if (!ret)
		ret = bzimage_check_sizes(name, size, &h, &bz);
	if (!ret)
		ret = bzimage_check_ram(name, &h, m, &bz);
	if (ret)
		return ret;
	bz.version = h.version;
	*out = bz;
	return 0;
}

uint64_t bzimage_pages(const struct bzimage *bz)
{
	return (bz->kernel_bytes + BZ_PAGE - 1) / BZ_PAGE;
}

int bzimage_load(const char *name, const uint8_t *buf, const struct bzimage *bz,
		 struct guest_ram *m)
{
	int ret = guest_ram_write(m, bz->load_gpa, buf + bz->setup_bytes, bz->kernel_bytes);

	if (ret)
		return err_errno(-ret, name, "cannot write the kernel to GPA %#llx: %s",
				 (unsigned long long)bz->load_gpa, strerror(-ret));
	return 0;
}

uint64_t bzimage_entry(const struct bzimage *bz)
{
	return bz->load_gpa + BZIMAGE_ENTRY64;
}

static void bzimage_e820_add(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size && bp->e820_entries < E820_MAX_ENTRIES_ZEROPAGE)
		bp->e820_table[bp->e820_entries++] =
		    (struct boot_e820_entry){.addr = addr, .size = size, .type = type};
}

/* RAM as guest_ram lays it out, less what looks like a PC's BIOS areas:
 * the EBDA's last KiB below 640K, and the BIOS area from 0xe0000 (the ACPI
 * tables). The VGA hole is RAM to KVM but not in the map. */
static void bzimage_e820(struct boot_params *bp, const struct guest_ram *m)
{
	bzimage_e820_add(bp, 0, BZIMAGE_LOW_RAM_END, BZ_E820_RAM);
	bzimage_e820_add(bp, BZIMAGE_LOW_RAM_END, 0xa0000 - BZIMAGE_LOW_RAM_END, BZ_E820_RESERVED);
	bzimage_e820_add(bp, BZIMAGE_ACPI_GPA, VMM_RESERVED_END - BZIMAGE_ACPI_GPA,
			 BZ_E820_RESERVED);
	bzimage_e820_add(bp, VMM_RESERVED_END, m->region[0].size - VMM_RESERVED_END, BZ_E820_RAM);
	for (int i = 1; i < m->nr_regions; i++)
		bzimage_e820_add(bp, m->region[i].gpa, m->region[i].size, BZ_E820_RAM);
}

static int bzimage_write_params(struct guest_ram *m, const uint8_t *buf, const struct bzimage *bz,
				const struct bzimage_boot *b)
{
	struct boot_params *bp = calloc(1, sizeof(*bp));
	size_t hdr_end = bz->header_end < BZ_HDR_MAX_END ? bz->header_end : BZ_HDR_MAX_END;
	int ret;

	if (!bp)
		return -ENOMEM;
	/* The header as the file has it; then what a boot loader fills in. */
	memcpy((uint8_t *)bp + BZ_HDR_START, buf + BZ_HDR_START, hdr_end - BZ_HDR_START);
	bp->hdr.type_of_loader = 0xff; /* no registered loader id */
	bp->hdr.cmd_line_ptr = BZIMAGE_CMDLINE_GPA;
	bp->hdr.ramdisk_image = (uint32_t)b->initrd_gpa;
	bp->hdr.ramdisk_size = (uint32_t)b->initrd_size;
	bp->hdr.code32_start = (uint32_t)bz->load_gpa;
	bp->acpi_rsdp_addr = b->rsdp_gpa;
	bzimage_e820(bp, m);
	ret = guest_ram_write(m, BZIMAGE_BOOT_PARAMS_GPA, bp, sizeof(*bp));
	free(bp);
	return ret;
}

/* Long mode needs paging: [0, 4 GiB) identity-mapped, which holds the
 * kernel, boot_params, the command line and the initrd (all below 3 GiB). */
static int bzimage_write_page_tables(struct guest_ram *m)
{
	uint64_t *pt = calloc(BZ_PT_PAGES, BZ_PAGE);
	uint64_t pdpt = BZIMAGE_PML4_GPA + BZ_PAGE, pd = pdpt + BZ_PAGE;
	int ret;

	if (!pt)
		return -ENOMEM;
	pt[0] = pdpt | 0x3; /* present, writable */
	for (int i = 0; i < 4; i++)
		pt[512 + i] = (pd + i * BZ_PAGE) | 0x3;
	for (int i = 0; i < 4 * 512; i++)
		pt[1024 + i] = ((uint64_t)i << 21) | 0x83; /* and a 2 MiB page */
	ret = guest_ram_write(m, BZIMAGE_PML4_GPA, pt, BZ_PT_PAGES * BZ_PAGE);
	free(pt);
	return ret;
}

/* The selectors the protocol names: __BOOT_CS 0x10, __BOOT_DS 0x18. */
static int bzimage_write_gdt(struct guest_ram *m)
{
	static const uint64_t gdt[] = {
	    0, 0, 0x00af9b000000ffffULL, /* 0x10: code, 64-bit, present, DPL 0 */
	    0x00cf93000000ffffULL,	 /* 0x18: data, 4 GiB, writable */
	};

	return guest_ram_write(m, BZIMAGE_GDT_GPA, gdt, sizeof(gdt));
}

int bzimage_check_cmdline(const struct bzimage *bz, const char *cmdline)
{
	size_t len = strlen(cmdline);

	if (len > bz->cmdline_size)
		return err_input("--cmdline",
				 "%zu bytes: this kernel takes at most %u (its header's "
				 "cmdline_size)",
				 len, bz->cmdline_size);
	return 0;
}

int bzimage_setup(struct guest_ram *m, const uint8_t *buf, const struct bzimage *bz,
		  const struct bzimage_boot *b)
{
	int ret = bzimage_check_cmdline(bz, b->cmdline);

	if (ret)
		return ret;
	ret = bzimage_write_params(m, buf, bz, b);
	if (!ret)
		ret = guest_ram_write(m, BZIMAGE_CMDLINE_GPA, b->cmdline, strlen(b->cmdline) + 1);
	if (!ret)
		ret = bzimage_write_gdt(m);
	if (!ret)
		ret = bzimage_write_page_tables(m);
	if (ret && ret != -EINVAL)
		ret = err_errno(-ret, "guest memory", "cannot write the boot information: %s",
				strerror(-ret));
	return ret;
}

uint64_t bzimage_boot_pages(size_t cmdline_len)
{
	/* The GDT's page, boot_params, the page tables, the command line. */
	return 2 + BZ_PT_PAGES + (cmdline_len + 1 + BZ_PAGE - 1) / BZ_PAGE;
}
