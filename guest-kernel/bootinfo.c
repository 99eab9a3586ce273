/* guest-kernel/bootinfo.c: device tree (libfdt) or PVH memory map.
 *
 * Runs once at boot in emulated kernel mode, so it asks libfdt for the
 * few nodes it needs by path instead of walking the whole tree.
 */
#include <libfdt.h>
#include <pvh.h>
#include <vmm_abi.h>
#include "bootinfo.h"
#include "lib.h"
#include "paging.h"

#define EINVAL 22

static void bootinfo_reserve(struct bootinfo *bi, uint64_t start, uint64_t len)
{
	if (!len || bi->nr_reserved == BOOT_RESERVED_MAX)
		return;
	bi->reserved[bi->nr_reserved].start = ALIGN_DOWN(start, PAGE_SIZE);
	bi->reserved[bi->nr_reserved].end = ALIGN_UP(start + len, PAGE_SIZE);
	bi->nr_reserved++;
}

/* Boot data may sit anywhere in RAM (QEMU puts -initrd near the top). */
static const void *bootinfo_map(struct bootinfo *bi, struct paging *pg, uint64_t pa, uint64_t len)
{
	if (paging_identity_map(pg, pa, pa + len) < 0)
		return NULL;
	bootinfo_reserve(bi, pa, len);
	return (const void *)(uintptr_t)pa;
}

static void bootinfo_add_ram(struct bootinfo *bi, uint64_t start, uint64_t size)
{
	uint64_t end = ALIGN_DOWN(start + size, PAGE_SIZE);

	start = ALIGN_UP(start, PAGE_SIZE);
	if (end <= start || bi->nr_ram == BOOT_RAM_MAX)
		return;
	bi->ram[bi->nr_ram].start = start;
	bi->ram[bi->nr_ram].end = end;
	bi->nr_ram++;
}

static uint64_t bootinfo_cells(const fdt32_t *p, int cells)
{
	uint64_t v = 0;

	while (cells--)
		v = (v << 32) | fdt32_to_cpu(*p++);
	return v;
}

static void bootinfo_fdt_memory(struct bootinfo *bi, const void *fdt)
{
	int ac = fdt_address_cells(fdt, 0), sc = fdt_size_cells(fdt, 0);
	int node, len, off;

	if (ac < 1 || ac > 2 || sc < 1 || sc > 2)
		return;
	fdt_for_each_subnode(node, fdt, 0)
	{
		const char *name = fdt_get_name(fdt, node, NULL);
		const fdt32_t *reg;

		if (!name || strncmp(name, "memory", 6) || (name[6] && name[6] != '@'))
			continue;
		reg = fdt_getprop(fdt, node, "reg", &len);
		for (off = 0; reg && (off + ac + sc) * 4 <= len; off += ac + sc)
			bootinfo_add_ram(bi, bootinfo_cells(reg + off, ac),
					 bootinfo_cells(reg + off + ac, sc));
	}
}

static uint16_t bootinfo_fdt_port(const void *fdt, int node, const char *name, uint16_t def)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

	return p && len == 4 ? (uint16_t)fdt32_to_cpu(*p) : def;
}

static void bootinfo_fdt_vmm(struct bootinfo *bi, const void *fdt)
{
	int node = fdt_path_offset(fdt, VMM_DT_NODE), len;
	const char *feat;

	if (node < 0)
		return;
	bi->serial_port = bootinfo_fdt_port(fdt, node, VMM_DT_SERIAL_PORT, bi->serial_port);
	bi->exit_port = bootinfo_fdt_port(fdt, node, VMM_DT_EXIT_PORT, bi->exit_port);
	bi->has_hcall = fdt_getprop(fdt, node, VMM_DT_HCALL_PORT, &len) && len == 4;
	bi->hcall_port = bootinfo_fdt_port(fdt, node, VMM_DT_HCALL_PORT, bi->hcall_port);
	feat = fdt_getprop(fdt, node, VMM_DT_FEATURES, &len);
	if (!feat || !bi->has_hcall)
		return;
	bi->line_console = fdt_stringlist_contains(feat, len, VMM_FEAT_LINE_CONSOLE);
	bi->page_discard = fdt_stringlist_contains(feat, len, VMM_FEAT_PAGE_DISCARD);
	bi->page_copy = fdt_stringlist_contains(feat, len, VMM_FEAT_PAGE_COPY);
}

static void bootinfo_fdt(struct bootinfo *bi, const void *fdt)
{
	int node, len;
	const void *p;

	bi->fdt = true;
	bootinfo_fdt_memory(bi, fdt);
	node = fdt_path_offset(fdt, "/chosen");
	p = node < 0 ? NULL : fdt_getprop(fdt, node, "bootargs", &len);
	if (p && len > 0 && ((const char *)p)[len - 1] == '\0')
		bi->cmdline = p;
	node = fdt_path_offset(fdt, "/cpus");
	p = node < 0 ? NULL : fdt_getprop(fdt, node, VMM_DT_TSC_FREQ, &len);
	if (p && len == 8)
		bi->tsc_hz = fdt64_to_cpu(*(const fdt64_t *)p);
	else if (p && len == 4)
		bi->tsc_hz = fdt32_to_cpu(*(const fdt32_t *)p);
	bootinfo_fdt_vmm(bi, fdt);
}

/* Module 0 is our device tree if it carries the FDT magic and checks out. */
static const void *bootinfo_find_fdt(struct bootinfo *bi, struct paging *pg,
				     const struct hvm_start_info *si)
{
	const struct hvm_modlist_entry *mod;
	const void *fdt;

	if (!si->nr_modules || !si->modlist_paddr)
		return NULL;
	mod = bootinfo_map(bi, pg, si->modlist_paddr, sizeof(*mod));
	if (!mod || mod->size < FDT_V1_SIZE)
		return NULL;
	fdt = bootinfo_map(bi, pg, mod->paddr, mod->size);
	if (!fdt || fdt_magic(fdt) != FDT_MAGIC || fdt_check_header(fdt) ||
	    fdt_totalsize(fdt) > mod->size)
		return NULL;
	return fdt;
}

static void bootinfo_pvh_memmap(struct bootinfo *bi, struct paging *pg,
				const struct hvm_start_info *si)
{
	const struct hvm_memmap_table_entry *e;
	uint32_t i;

	if (si->version < 1 || !si->memmap_paddr)
		return;
	e = bootinfo_map(bi, pg, si->memmap_paddr, si->memmap_entries * sizeof(*e));
	for (i = 0; e && i < si->memmap_entries; i++)
		if (e[i].type == HVM_MEMMAP_TYPE_RAM)
			bootinfo_add_ram(bi, e[i].addr, e[i].size);
}

int bootinfo_parse(struct bootinfo *bi, struct paging *pg, uint64_t start_info)
{
	const struct hvm_start_info *si;
	const void *fdt;

	bi->cmdline = "";
	bi->serial_port = VMM_PORT_SERIAL;
	bi->exit_port = VMM_PORT_EXIT;
	bi->hcall_port = VMM_PORT_HCALL;
	si = bootinfo_map(bi, pg, start_info, sizeof(*si));
	if (!si || si->magic != HVM_START_MAGIC) {
		bi->error = "%ebx does not point at a PVH hvm_start_info (bad magic)";
		return -EINVAL;
	}
	if (si->cmdline_paddr) {
		const char *s = bootinfo_map(bi, pg, si->cmdline_paddr, PAGE_SIZE);

		if (s && strnlen(s, PAGE_SIZE) < PAGE_SIZE)
			bi->cmdline = s;
	}
	fdt = bootinfo_find_fdt(bi, pg, si);
	if (fdt)
		bootinfo_fdt(bi, fdt);
	if (!bi->nr_ram)
		bootinfo_pvh_memmap(bi, pg, si);
	if (!bi->nr_ram) {
		bi->error = fdt ? "device tree has no usable /memory reg"
				: "PVH memory map has no RAM (type 1) entry";
		return -EINVAL;
	}
	return 0;
}
