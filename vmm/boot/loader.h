/* vmm/boot/loader.h: the ELF64 / PVH kernel loader.
 *
 * Accepts an ELF64 x86-64 executable whose PT_NOTE segments carry a Xen
 * XEN_ELFNOTE_PHYS32_ENTRY note. PT_LOAD segments are placed at their
 * p_paddr in guest RAM, above the VMM's own area [0, VMM_RESERVED_END).
 * Every field is checked against the file size and guest RAM, and every
 * table the ELF header points to (program headers, section headers and
 * their name table) must lie inside the file; a bad image gets -EINVAL and
 * a message naming the file, the segment or table and the offset.
 */
#ifndef VMM_LOADER_H
#define VMM_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "guest_ram.h"

#define LOADER_MAX_IMAGE (256u << 20)
#define LOADER_MAX_PHDRS 64

struct load_info {
	uint64_t entry;	   /* 32-bit PVH entry (GPA) */
	uint64_t load_end; /* highest GPA loaded + 1 */
	uint64_t pages;	   /* guest pages written by the loader (p_filesz) */
};

/* A kernel image read into memory, so that it is checked before anything
 * else (KVM included) is set up, and loaded later without a second read. */
struct loader_file {
	const char *path;
	uint8_t *buf;
	size_t size;
};

/* Read a regular file of at most LOADER_MAX_IMAGE bytes: 0 or -errno. */
int loader_read_file(const char *path, struct loader_file *f);
void loader_file_free(struct loader_file *f);
/* Check the image against the RAM layout of m without writing it: 0 or -EINVAL. */
int loader_check_image(const char *name, const uint8_t *buf, size_t size,
		       const struct guest_ram *m);

/* Guest pages that loading a checked image writes (each costs a frame of
 * the host memory budget): the pages of every segment's file bytes, a page
 * two segments share at a seam counted once (segments that overlap, which
 * no linker makes, count twice). */
uint64_t loader_image_pages(const uint8_t *buf);

/* The highest GPA a checked image occupies + 1 (bss included). */
uint64_t loader_image_end(const uint8_t *buf);

/* Load the image in buf (name is for messages): 0 or -EINVAL. */
int loader_load_image(const char *name, const uint8_t *buf, size_t size, struct guest_ram *m,
		      struct load_info *out);
/* Read path and load it: 0, -EINVAL for a bad image, -errno for I/O. */
int loader_load_file(const char *path, struct guest_ram *m, struct load_info *out);

#endif
