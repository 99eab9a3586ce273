/* vmm/boot/boot.c: PVH boot information, see boot.h. */
#include "boot.h"

#include <errno.h>
#include <libfdt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "devtree.h"
#include "err.h"
#include "pvh.h"
#include "vmm_abi.h"

struct boot_page {
	struct hvm_start_info info;
	struct hvm_memmap_table_entry memmap[1 + GUEST_RAM_MAX_REGIONS];
	struct hvm_modlist_entry module[2]; /* the device tree, the initrd */
};

static uint32_t boot_memmap(const struct guest_ram *m, struct hvm_memmap_table_entry *e)
{
	uint32_t n = 0;

	e[n++] = (struct hvm_memmap_table_entry){0, VMM_RESERVED_END, HVM_MEMMAP_TYPE_RESERVED, 0};
	for (int i = 0; i < m->nr_regions; i++) {
		uint64_t start = m->region[i].gpa, end = start + m->region[i].size;

		if (start < VMM_RESERVED_END)
			start = VMM_RESERVED_END;
		if (end > start)
			e[n++] = (struct hvm_memmap_table_entry){start, end - start,
								 HVM_MEMMAP_TYPE_RAM, 0};
	}
	return n;
}

int boot_setup(struct guest_ram *m, const struct boot_params *bp)
{
	struct boot_page page;
	char *fdt;
	size_t len = strlen(bp->cmdline);
	struct devtree_params dp = {
	    .regions = m->region,
	    .nr_regions = m->nr_regions,
	    .bootargs = bp->cmdline,
	    .tsc_hz = bp->tsc_hz,
	    .hcall_services = bp->hcall_services,
	    .counters_gpa = bp->hcall_services ? BOOT_COUNTERS_GPA : 0,
	    .initrd_start = bp->initrd_gpa,
	    .initrd_end = bp->initrd_gpa + bp->initrd_size,
	};
	int ret;

	if (len > BOOT_CMDLINE_MAX)
		return err_input("--cmdline", "%zu bytes: at most %u", len, BOOT_CMDLINE_MAX);
	fdt = malloc(BOOT_FDT_MAX);
	if (!fdt)
		return -ENOMEM;
	ret = devtree_build(fdt, BOOT_FDT_MAX, &dp);
	if (ret) {
		ret = err_errno(-ret, "device tree", "cannot build it in %llu bytes", BOOT_FDT_MAX);
		goto out;
	}
	memset(&page, 0, sizeof(page));
	page.module[0] = (struct hvm_modlist_entry){BOOT_FDT_GPA, fdt_totalsize(fdt), 0, 0};
	page.module[1] = (struct hvm_modlist_entry){bp->initrd_gpa, bp->initrd_size, 0, 0};
	page.info = (struct hvm_start_info){
	    .magic = HVM_START_MAGIC,
	    .version = HVM_START_VERSION,
	    .nr_modules = bp->initrd_size ? 2 : 1,
	    .modlist_paddr = BOOT_START_INFO_GPA + offsetof(struct boot_page, module),
	    .cmdline_paddr = BOOT_CMDLINE_GPA,
	    .memmap_paddr = BOOT_START_INFO_GPA + offsetof(struct boot_page, memmap),
	    .memmap_entries = boot_memmap(m, page.memmap),
	};
	ret = guest_ram_write(m, BOOT_START_INFO_GPA, &page, sizeof(page));
	if (!ret)
		ret = guest_ram_write(m, BOOT_CMDLINE_GPA, bp->cmdline, len + 1);
	if (!ret)
		ret = guest_ram_write(m, BOOT_FDT_GPA, fdt, fdt_totalsize(fdt));
	if (ret)
		ret = err_errno(-ret, "guest memory", "cannot write the boot information: %s",
				strerror(-ret));
out:
	free(fdt);
	return ret;
}
