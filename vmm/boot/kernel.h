/* vmm/boot/kernel.h: a guest kernel image, whichever protocol boots it.
 *
 *   KERNEL_PVH      an ELF64 with a PVH entry note (loader.h): the
 *                   project's own kernel, or a Linux vmlinux
 *   KERNEL_BZIMAGE  a Linux bzImage: the 64-bit boot protocol (bzimage.h)
 *
 * A file that starts as a boot sector (0xaa55 at 0x1fe) is checked as a
 * bzImage, any other as an ELF, so that a damaged image gets the message
 * of its own format. The image is read and checked against the RAM layout
 * before /dev/kvm is opened, and loaded later without a second read.
 */
#ifndef VMM_KERNEL_H
#define VMM_KERNEL_H

#include <stdint.h>

#include "bzimage.h"
#include "guest_ram.h"
#include "loader.h"
#include "machine.h"

enum kernel_format { KERNEL_PVH, KERNEL_BZIMAGE };

struct kernel {
	struct loader_file file;
	enum kernel_format format;
	struct bzimage bz; /* KERNEL_BZIMAGE: its checked header */
};

/* Read path and check it against the RAM layout m: 0, -EINVAL for a bad
 * image (the message names the file and the field), -errno. */
int kernel_read(const char *path, const struct guest_ram *m, struct kernel *k);
/* Check an image in memory the same way (for tests and fuzzing). */
int kernel_check(const char *name, const uint8_t *buf, size_t size, const struct guest_ram *m,
		 struct kernel *k);
void kernel_free(struct kernel *k);
/* The machine its format boots by default (machine.h). */
enum machine_id kernel_machine(const struct kernel *k);
/* Where an initrd may go: above *floor, ending at or below *ceiling (0: the top of low RAM). */
void kernel_initrd_bounds(const struct kernel *k, uint64_t *floor, uint64_t *ceiling);
/* Guest pages loading it writes (each a frame of the host memory budget). */
uint64_t kernel_pages(const struct kernel *k);

#endif
