/* guest-kernel/gk_cpio.h: the cpio "newc" archive format, as initramfs uses.
 *
 * Each entry is a 110-byte ASCII header, "070701" (or "070702", which adds
 * a checksum the kernel does not check) and 13 fields of 8 hex digits,
 * then the name (namesize bytes with its NUL), padded to 4 bytes from the
 * header's start, then filesize bytes of data, padded to 4. The entry
 * named "TRAILER!!!" ends the archive. Everything is checked against the
 * archive's length before it is read: the archive comes from outside.
 */
#ifndef GK_CPIO_H
#define GK_CPIO_H

#include <stdint.h>

#define CPIO_HEADER   110
#define CPIO_S_IFMT   0170000
#define CPIO_S_IFREG  0100000
#define CPIO_NAME_MAX 4096 /* longer names are refused */

struct gk_cpio_entry {
	const char *name;    /* NUL-terminated, inside the archive */
	uint32_t namesize;   /* with the NUL */
	uint32_t mode;	     /* S_IFREG for a regular file */
	const uint8_t *data; /* inside the archive */
	uint64_t size;
};

/* Whether the len bytes at a start like a newc archive (the magic). */
int gk_cpio_magic(const uint8_t *a, uint64_t len);
/* The entry at *off: 1 with *e filled and *off moved past it, 0 at the
 * trailer, or -EINVAL with *why saying what is wrong at *off. */
int gk_cpio_next(const uint8_t *a, uint64_t len, uint64_t *off, struct gk_cpio_entry *e,
		 const char **why);

#endif
