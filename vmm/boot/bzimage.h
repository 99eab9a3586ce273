/* vmm/boot/bzimage.h: a Linux bzImage, booted through the 64-bit boot
 * protocol (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol").
 *
 * The file is a real-mode setup part of (setup_sects + 1) * 512 bytes,
 * whose setup header (at 0x1f1) says how to load it, followed by the
 * protected-mode kernel. Only that kernel is loaded: at pref_address for a
 * relocatable kernel, else at 1 MiB. It is entered at its 64-bit entry
 * (load address + 0x200) in long mode, with %rsi holding the GPA of the
 * boot_params ("zero page") the VMM fills: the setup header copied from
 * the file, the command line, the initrd, the E820 memory map and the
 * ACPI RSDP (acpi.h).
 *
 * bzimage_check() validates the header before anything else is done (and
 * before /dev/kvm is opened): the boot sector flag, the "HdrS" magic,
 * protocol 2.12 or later with XLF_KERNEL_64 and LOADED_HIGH, the setup and
 * kernel sizes against the file, the payload inside the kernel, the
 * alignment, and the memory the kernel needs (init_size from its load
 * address) against guest RAM. A bad one gets -EINVAL and a message naming
 * the file, the field, its offset and what was expected.
 *
 * Boot data, all in the VMM's area below 1 MiB (the guest's E820 map gives
 * it RAM below 0x9fc00, which Linux reuses once it has read it):
 *   0x0500   GDT: 0x10 flat 64-bit code, 0x18 flat data
 *   0x7000   boot_params
 *   0x9000   identity page tables for [0, 4 GiB): PML4, PDPT, 4 PDs of 2 MiB pages
 *   0x20000  command line (at most the header's cmdline_size bytes)
 *   0xe0000  ACPI tables (acpi.h), in an E820 reserved range up to 1 MiB
 */
#ifndef VMM_BZIMAGE_H
#define VMM_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_ram.h"

#define BZIMAGE_MIN_VERSION	0x020c /* 2.12: xloadflags, init_size, pref_address */
#define BZIMAGE_GDT_GPA		0x500ULL
#define BZIMAGE_BOOT_PARAMS_GPA 0x7000ULL
#define BZIMAGE_PML4_GPA	0x9000ULL
#define BZIMAGE_CMDLINE_GPA	0x20000ULL
#define BZIMAGE_ACPI_GPA	0xe0000ULL
#define BZIMAGE_LOW_RAM_END	0x9fc00ULL /* E820 RAM below 1 MiB ends here */
#define BZIMAGE_ENTRY64		0x200	   /* the 64-bit entry, from the load address */
#define BZIMAGE_CODE_SEL	0x10
#define BZIMAGE_DATA_SEL	0x18

/* What bzimage_check() learnt from a valid header. */
struct bzimage {
	uint16_t version;	 /* protocol, e.g. 0x020f */
	uint32_t setup_bytes;	 /* real-mode part: the kernel starts here in the file */
	uint64_t kernel_bytes;	 /* protected-mode kernel: the rest of the file */
	uint64_t load_gpa;	 /* where it goes */
	uint64_t init_size;	 /* bytes it needs from load_gpa while it boots */
	uint32_t cmdline_size;	 /* longest command line, without its NUL */
	uint64_t initrd_end_max; /* an initrd must end at or below this GPA */
	uint32_t header_end;	 /* the setup header's end in the file */
};

/* Whether buf looks like a bzImage (a boot sector: 0xaa55 at 0x1fe), so
 * that a damaged one is checked as one, not as an ELF. */
bool bzimage_is(const uint8_t *buf, size_t size);
/* Check the header against the file and the RAM layout of m: 0 or -EINVAL. */
int bzimage_check(const char *name, const uint8_t *buf, size_t size, const struct guest_ram *m,
		  struct bzimage *out);
/* Guest pages that loading writes (each a frame of the host memory budget). */
uint64_t bzimage_pages(const struct bzimage *bz);
/* Write the protected-mode kernel to its load address: 0 or -errno. */
int bzimage_load(const char *name, const uint8_t *buf, const struct bzimage *bz,
		 struct guest_ram *m);

struct bzimage_boot {
	const char *cmdline;
	uint64_t initrd_gpa, initrd_size; /* size 0: none */
	uint64_t rsdp_gpa;		  /* 0: no ACPI */
};

/* A command line the kernel takes (cmdline_size): 0 or -EINVAL. */
int bzimage_check_cmdline(const struct bzimage *bz, const char *cmdline);
/* boot_params, the command line, the GDT and the page tables, for a
 * checked image of buf: 0, -EINVAL (a command line past cmdline_size) or
 * -errno. */
int bzimage_setup(struct guest_ram *m, const uint8_t *buf, const struct bzimage *bz,
		  const struct bzimage_boot *b);
/* Pages of boot data bzimage_setup writes for a command line of len bytes
 * (the ACPI tables are acpi.h's). */
uint64_t bzimage_boot_pages(size_t cmdline_len);
/* The 64-bit entry and what it expects in %rsi. */
uint64_t bzimage_entry(const struct bzimage *bz);

#endif
