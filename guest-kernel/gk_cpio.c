/* guest-kernel/gk_cpio.c: walk a newc archive (gk_cpio.h). */
#include "gk_cpio.h"
#include "gk_lib.h"

enum { CPIO_MODE = 1, CPIO_FILESIZE = 6, CPIO_NAMESIZE = 11 }; /* field indices */

int gk_cpio_magic(const uint8_t *a, uint64_t len)
{
	return len >= 6 && !memcmp(a, "07070", 5) && (a[5] == '1' || a[5] == '2');
}

/* Field i of the header at h: 8 hex digits; -1 if any is not one. */
static int64_t gk_cpio_field(const uint8_t *h, unsigned i)
{
	const uint8_t *p = h + 6 + 8 * i;
	int64_t v = 0;
	unsigned j, d;

	for (j = 0; j < 8; j++) {
		if (p[j] >= '0' && p[j] <= '9')
			d = p[j] - '0';
		else if ((p[j] | 0x20) >= 'a' && (p[j] | 0x20) <= 'f')
			d = (p[j] | 0x20) - 'a' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

int gk_cpio_next(const uint8_t *a, uint64_t len, uint64_t *off, struct gk_cpio_entry *e,
		 const char **why)
{
	const uint8_t *h = a + *off;
	int64_t mode, size, namesize;
	uint64_t data, end;
	unsigned i;

	if (*off > len || len - *off < CPIO_HEADER) {
		*why = "archive ends without a TRAILER!!! entry";
		return -EINVAL;
	}
	if (!gk_cpio_magic(h, CPIO_HEADER)) {
		*why = "entry header lacks the newc magic 070701";
		return -EINVAL;
	}
	for (i = 0; i < 13; i++)
		if (gk_cpio_field(h, i) < 0) {
			*why = "entry header has a field that is not 8 hex digits";
			return -EINVAL;
		}
	mode = gk_cpio_field(h, CPIO_MODE);
	size = gk_cpio_field(h, CPIO_FILESIZE);
	namesize = gk_cpio_field(h, CPIO_NAMESIZE);
	if (namesize < 1 || namesize > CPIO_NAME_MAX ||
	    (uint64_t)namesize > len - *off - CPIO_HEADER) {
		*why = "entry name runs past the archive (or is empty or too long)";
		return -EINVAL;
	}
	e->name = (const char *)h + CPIO_HEADER;
	if (strnlen(e->name, (size_t)namesize) != (size_t)namesize - 1) {
		*why = "entry name is not one NUL-terminated string of namesize bytes";
		return -EINVAL;
	}
	data = ALIGN_UP(*off + CPIO_HEADER + (uint64_t)namesize, 4);
	if (data > len || (uint64_t)size > len - data) {
		*why = "entry data runs past the archive";
		return -EINVAL;
	}
	e->namesize = (uint32_t)namesize;
	e->mode = (uint32_t)mode;
	e->data = a + data;
	e->size = (uint64_t)size;
	end = ALIGN_UP(data + (uint64_t)size, 4);
	*off = end < len ? end : len;
	return namesize == sizeof("TRAILER!!!") && !memcmp(e->name, "TRAILER!!!", (size_t)namesize)
		   ? 0
		   : 1;
}
