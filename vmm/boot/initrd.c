/* vmm/boot/initrd.c: the initial RAM disk, see initrd.h. */
#include "initrd.h"

#include <errno.h>
#include <string.h>

#include "err.h"
#include "vmm_abi.h"

uint64_t initrd_pages(uint64_t size)
{
	return (size + EPT_PAGE_SIZE - 1) / EPT_PAGE_SIZE;
}

int initrd_place(const char *path, uint64_t size, const struct guest_ram *m, uint64_t kernel_end,
		 uint64_t ceiling, uint64_t *gpa)
{
	/* Region 0 starts at GPA 0 and ends at or below VMM_LOW_RAM_END. */
	uint64_t top = ceiling && ceiling < m->region[0].size ? ceiling : m->region[0].size;
	uint64_t floor = kernel_end > VMM_RESERVED_END ? kernel_end : VMM_RESERVED_END;

	floor = (floor + EPT_PAGE_SIZE - 1) & ~(EPT_PAGE_SIZE - 1);
	if (!size)
		return err_input("--initrd", "%s: empty file: expected an archive", path);
	if (size > top || ((top - size) & ~(EPT_PAGE_SIZE - 1)) < floor)
		return err_input("--initrd",
				 "%s: %llu bytes do not fit in low RAM between the kernel's end "
				 "(GPA %#llx) and GPA %#llx: give a larger --mem",
				 path, (unsigned long long)size, (unsigned long long)floor,
				 (unsigned long long)top);
	*gpa = (top - size) & ~(EPT_PAGE_SIZE - 1);
	return 0;
}

int initrd_read(const char *path, const struct guest_ram *m, uint64_t kernel_end, uint64_t ceiling,
		struct initrd *rd)
{
	int ret;

	memset(rd, 0, sizeof(*rd));
	ret = loader_read_file(path, &rd->file);
	if (ret)
		return ret;
	ret = initrd_place(path, rd->file.size, m, kernel_end, ceiling, &rd->gpa);
	if (ret)
		initrd_free(rd);
	return ret;
}

int initrd_load(const struct initrd *rd, struct guest_ram *m)
{
	int ret = guest_ram_write(m, rd->gpa, rd->file.buf, rd->file.size);

	if (ret)
		return err_errno(-ret, rd->file.path, "cannot write the initrd to GPA %#llx: %s",
				 (unsigned long long)rd->gpa, strerror(-ret));
	return 0;
}

void initrd_free(struct initrd *rd)
{
	loader_file_free(&rd->file);
	rd->file.path = NULL;
}
