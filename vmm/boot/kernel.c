/* vmm/boot/kernel.c: a guest kernel image, see kernel.h. */
#include "kernel.h"

#include <elf.h>
#include <string.h>

#include "err.h"

/* Neither format's mark: say what was found for each. */
static int kernel_unknown(const char *name, const uint8_t *buf, size_t size)
{
	uint16_t flag;

	if (size < 0x200)
		return err_input(name,
				 "neither an ELF (no \\177ELF magic at offset 0) nor a bzImage: "
				 "%zu bytes end before the boot flag at 0x1fe",
				 size);
	memcpy(&flag, buf + 0x1fe, sizeof(flag));
	return err_input(name,
			 "neither an ELF (no \\177ELF magic at offset 0) nor a bzImage: offset "
			 "0x1fe: boot flag %#x, expected 0xaa55",
			 flag);
}

int kernel_check(const char *name, const uint8_t *buf, size_t size, const struct guest_ram *m,
		 struct kernel *k)
{
	if (bzimage_is(buf, size)) {
		k->format = KERNEL_BZIMAGE;
		return bzimage_check(name, buf, size, m, &k->bz);
	}
	k->format = KERNEL_PVH;
	if (size < SELFMAG || memcmp(buf, ELFMAG, SELFMAG))
		return kernel_unknown(name, buf, size);
	return loader_check_image(name, buf, size, m);
}

int kernel_read(const char *path, const struct guest_ram *m, struct kernel *k)
{
	int ret;

	memset(k, 0, sizeof(*k));
	ret = loader_read_file(path, &k->file);
	if (!ret)
		ret = kernel_check(path, k->file.buf, k->file.size, m, k);
	if (ret)
		kernel_free(k);
	return ret;
}

void kernel_free(struct kernel *k)
{
	loader_file_free(&k->file);
}

enum machine_id kernel_machine(const struct kernel *k)
{
	return k->format == KERNEL_BZIMAGE ? MACHINE_LINUX : MACHINE_VMM;
}

void kernel_initrd_bounds(const struct kernel *k, uint64_t *floor, uint64_t *ceiling)
{
	if (k->format == KERNEL_BZIMAGE) {
		*floor = k->bz.load_gpa + k->bz.init_size;
		*ceiling = k->bz.initrd_end_max;
	} else {
		*floor = loader_image_end(k->file.buf);
		*ceiling = 0;
	}
}

uint64_t kernel_pages(const struct kernel *k)
{
	return k->format == KERNEL_BZIMAGE ? bzimage_pages(&k->bz)
					   : loader_image_pages(k->file.buf);
}
