/* vmm/boot/boot.h: what the guest finds at entry (PVH boot information).
 *
 * Everything lives in the VMM's area [0, VMM_RESERVED_END):
 *   0x1000   struct hvm_start_info, then the memory map and module list
 *   0x2000   command line (NUL-terminated, at most BOOT_CMDLINE_MAX bytes)
 *   0x3000   the guest-counters page, written by the guest (guest_counters.h)
 *   0x10000  device tree (module 0), at most BOOT_FDT_MAX bytes
 * An initrd, if any, is module 1 wherever initrd.h placed it.
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_ram.h"

#define BOOT_START_INFO_GPA 0x1000ULL
#define BOOT_CMDLINE_GPA    0x2000ULL
#define BOOT_CMDLINE_MAX    4095
#define BOOT_COUNTERS_GPA   0x3000ULL
#define BOOT_FDT_GPA	    0x10000ULL
#define BOOT_FDT_MAX	    0x10000ULL

struct boot_params {
	const char *cmdline;
	uint64_t tsc_hz;
	bool hcall_services;
	uint64_t initrd_gpa, initrd_size; /* size 0: none */
};

/* Write start info, memory map, command line and device tree into RAM.
 * Returns 0 or -errno; the start info's GPA is BOOT_START_INFO_GPA. */
int boot_setup(struct guest_ram *m, const struct boot_params *bp);

#endif
