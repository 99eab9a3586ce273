/* vmm/boot/devtree.c: device tree builder, see devtree.h. */
#include "devtree.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>

#include "vmm_abi.h"

/* Stops at the first libfdt error and passes it up unchanged, so that a
 * sequence of calls reads plainly; only devtree_build() turns it into an
 * errno, once (translating in each helper turned -ENOSPC into -EINVAL). */
#define FDT_TRY(call)                                                                              \
	do {                                                                                       \
		int _r = (call);                                                                   \
		if (_r < 0)                                                                        \
			return _r;                                                                 \
	} while (0)

static int devtree_memory(void *fdt, const struct devtree_params *p)
{
	fdt64_t reg[2 * GUEST_RAM_MAX_REGIONS];
	char name[40];

	for (int i = 0; i < p->nr_regions; i++) {
		reg[2 * i] = cpu_to_fdt64(p->regions[i].gpa);
		reg[2 * i + 1] = cpu_to_fdt64(p->regions[i].size);
	}
	snprintf(name, sizeof(name), "memory@%lx", (unsigned long)p->regions[0].gpa);
	FDT_TRY(fdt_begin_node(fdt, name));
	FDT_TRY(fdt_property_string(fdt, "device_type", "memory"));
	FDT_TRY(fdt_property(fdt, "reg", reg, sizeof(reg[0]) * 2 * p->nr_regions));
	return fdt_end_node(fdt);
}

static int devtree_cpus(void *fdt, const struct devtree_params *p)
{
	FDT_TRY(fdt_begin_node(fdt, "cpus"));
	FDT_TRY(fdt_property_u32(fdt, "#address-cells", 1));
	FDT_TRY(fdt_property_u32(fdt, "#size-cells", 0));
	if (p->tsc_hz)
		FDT_TRY(fdt_property_u64(fdt, VMM_DT_TSC_FREQ, p->tsc_hz));
	for (unsigned i = 0; i < (p->nr_cpus ? p->nr_cpus : 1); i++) {
		char name[16];

		snprintf(name, sizeof(name), "cpu@%u", i);
		FDT_TRY(fdt_begin_node(fdt, name));
		FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
		FDT_TRY(fdt_property_u32(fdt, "reg", i));
		FDT_TRY(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

static int devtree_vmm(void *fdt, const struct devtree_params *p)
{
	/* A string list is NUL-separated strings in one property. */
	static const char features[] =
	    VMM_FEAT_LINE_CONSOLE "\0" VMM_FEAT_PAGE_DISCARD "\0" VMM_FEAT_PAGE_COPY;

	FDT_TRY(fdt_begin_node(fdt, &VMM_DT_NODE[1])); /* the name, without the '/' */
	FDT_TRY(fdt_property_string(fdt, "compatible", VMM_DT_COMPATIBLE));
	FDT_TRY(fdt_property_u32(fdt, VMM_DT_SERIAL_PORT, VMM_PORT_SERIAL));
	FDT_TRY(fdt_property_u32(fdt, VMM_DT_EXIT_PORT, VMM_PORT_EXIT));
	if (p->hcall_services) {
		FDT_TRY(fdt_property_u32(fdt, VMM_DT_HCALL_PORT, VMM_PORT_HCALL));
		FDT_TRY(fdt_property_u32(fdt, VMM_DT_FORKID_PORT, VMM_PORT_FORKID));
		FDT_TRY(fdt_property(fdt, VMM_DT_FEATURES, features, sizeof(features)));
	}
	if (p->counters_gpa)
		FDT_TRY(fdt_property_u64(fdt, VMM_DT_GUEST_COUNTERS, p->counters_gpa));
	return fdt_end_node(fdt);
}

static int devtree_chosen(void *fdt, const struct devtree_params *p)
{
	FDT_TRY(fdt_begin_node(fdt, "chosen"));
	FDT_TRY(fdt_property_string(fdt, "bootargs", p->bootargs ? p->bootargs : ""));
	if (p->initrd_end > p->initrd_start) {
		FDT_TRY(fdt_property_u64(fdt, "linux,initrd-start", p->initrd_start));
		FDT_TRY(fdt_property_u64(fdt, "linux,initrd-end", p->initrd_end));
	}
	return fdt_end_node(fdt);
}

/* The whole tree: 0 or a libfdt error (-FDT_ERR_*). */
static int devtree_tree(void *fdt, size_t size, const struct devtree_params *p)
{
	FDT_TRY(fdt_create(fdt, size));
	/* The initrd's pages are the guest's to free once it has read them,
	 * but not to hand out before. */
	if (p->initrd_end > p->initrd_start)
		FDT_TRY(fdt_add_reservemap_entry(fdt, p->initrd_start,
						 p->initrd_end - p->initrd_start));
	FDT_TRY(fdt_finish_reservemap(fdt));
	FDT_TRY(fdt_begin_node(fdt, ""));
	FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
	FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
	FDT_TRY(fdt_property_string(fdt, "compatible", "vmm,pvh-guest"));
	FDT_TRY(fdt_property_string(fdt, "model", "vmm"));
	FDT_TRY(devtree_chosen(fdt, p));
	FDT_TRY(devtree_cpus(fdt, p));
	FDT_TRY(devtree_memory(fdt, p));
	FDT_TRY(devtree_vmm(fdt, p));
	FDT_TRY(fdt_end_node(fdt));
	return fdt_finish(fdt);
}

int devtree_build(void *buf, size_t size, const struct devtree_params *p)
{
	int ret;

	if (p->nr_regions < 1 || p->nr_regions > GUEST_RAM_MAX_REGIONS)
		return -EINVAL;
	ret = devtree_tree(buf, size, p);
	if (ret < 0)
		return ret == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
	return 0;
}
