/* vmm/boot/initrd.h: the initial RAM disk (run's --initrd FILE).
 *
 * The file is read and placed before /dev/kvm is opened, so that a bad
 * one is a usage error on any host: a regular file of 1 byte to
 * LOADER_MAX_IMAGE, put page-aligned at the top of low RAM (below
 * VMM_LOW_RAM_END, where every boot protocol can reach it), above the
 * kernel's last byte, and below the ceiling the kernel sets (a bzImage's
 * initrd_addr_max). What the guest learns of it depends on the kernel:
 * a PVH kernel of this tree finds it as start-info module 1 and in the
 * device tree's /chosen (linux,initrd-start, linux,initrd-end); a bzImage
 * in boot_params (ramdisk_image, ramdisk_size).
 */
#ifndef VMM_INITRD_H
#define VMM_INITRD_H

#include <stdint.h>

#include "guest_ram.h"
#include "loader.h"

struct initrd {
	struct loader_file file; /* its bytes; path NULL: no initrd */
	uint64_t gpa;		 /* where it goes, page-aligned */
};

/* Read path and place it in the RAM layout m above kernel_end (the
 * highest GPA the kernel occupies + 1), ending at or below ceiling (0:
 * none): 0 or -errno, the message naming the file and why it does not fit. */
int initrd_read(const char *path, const struct guest_ram *m, uint64_t kernel_end, uint64_t ceiling,
		struct initrd *rd);
/* Where a file of size bytes goes in m, above kernel_end and at or below
 * ceiling (0: none): 0 or -EINVAL. */
int initrd_place(const char *path, uint64_t size, const struct guest_ram *m, uint64_t kernel_end,
		 uint64_t ceiling, uint64_t *gpa);
/* Write it into guest RAM at rd->gpa: 0 or -errno (-ENOMEM over budget). */
int initrd_load(const struct initrd *rd, struct guest_ram *m);
/* Guest pages it fills (each a frame of the host memory budget). */
uint64_t initrd_pages(uint64_t size);
void initrd_free(struct initrd *rd);

#endif
