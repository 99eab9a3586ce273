/* include/pvh.h: the PVH boot ABI (Xen's hvm_start_info, version 1).
 *
 * The VMM (like QEMU) enters the kernel at the address of its
 * XEN_ELFNOTE_PHYS32_ENTRY note, in 32-bit protected mode with paging off,
 * with %ebx holding the GPA of a struct hvm_start_info.
 */
#ifndef VMM_PVH_H
#define VMM_PVH_H

#include <stdint.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_NOTE_NAME		 "Xen"

#define HVM_START_MAGIC	  0x336ec578u
#define HVM_START_VERSION 1

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr; /* NUL-terminated, 0 if none */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;	 /* version >= 1 */
	uint32_t memmap_entries; /* version >= 1 */
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

#define HVM_MEMMAP_TYPE_RAM	 1
#define HVM_MEMMAP_TYPE_RESERVED 2

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#endif
