/* guest-kernel/gk_bootinfo.h: what the loader told us, from the device tree
 * (a PVH module, written by our VMM) or else the PVH start info itself.
 *
 * PVH modules: the device tree (FDT magic 0xd00dfeed) and the file
 * archive (cpio newc, "070701"), told apart by their first bytes: vmm
 * passes the tree as module 0 and the archive (--initrd) as module 1;
 * QEMU's -initrd gives one module, either of them.
 *
 * Device tree (vmm_abi.h): /memory@* reg, /chosen/bootargs,
 * /cpus tsc-frequency, /vmm ports, features and the guest-counters page.
 * Without it (QEMU): the PVH memory map (type 1 = RAM), the PVH command
 * line, the 16550, no hypercalls, no fork identity port, no counters page.
 */
#ifndef GK_BOOTINFO_H
#define GK_BOOTINFO_H

#include <stdbool.h>
#include <stdint.h>

#define BOOT_RAM_MAX	  16
#define BOOT_RESERVED_MAX 8
#define BOOT_MODULES_MAX  4

struct gk_paging;

struct gk_mem_range {
	uint64_t start, end; /* [start, end) */
};

struct gk_bootinfo {
	struct gk_mem_range ram[BOOT_RAM_MAX];
	unsigned nr_ram;
	uint64_t ram_top; /* page-aligned end of the highest RAM, before any clipping */
	/* Boot data inside RAM that the frame allocator must not hand out. */
	struct gk_mem_range reserved[BOOT_RESERVED_MAX];
	unsigned nr_reserved;
	const char *cmdline; /* never NULL; points into boot data */
	const char *error;   /* set when gk_bootinfo_parse fails */
	uint64_t tsc_hz;     /* 0: unknown */
	bool fdt;
	bool has_hcall, line_console, page_discard, page_copy;
	bool has_forkid; /* the tree names the fork identity port */
	uint16_t serial_port, exit_port, hcall_port, forkid_port;
	const uint8_t *archive; /* the cpio archive module, NULL if none */
	uint64_t archive_len;
	uint64_t counters_gpa; /* the guest-counters page, 0 if none */
};

/* Fills bi from the hvm_start_info at GPA start_info, mapping what it reads
 * through pg. Returns 0, or -EINVAL with bi->error saying what was wrong. */
int gk_bootinfo_parse(struct gk_bootinfo *bi, struct gk_paging *pg, uint64_t start_info);

#endif
