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

static uint64_t bootinfo_cells(const fdt32_t *p, uint32_t cells)
{
	uint64_t v = 0;

	while (cells--)
		v = (v << 32) | fdt32_to_cpu(*p++);
	return v;
}

static uint32_t bootinfo_u32(const void *data, uint32_t len, uint32_t def)
{
	return len == 4 ? fdt32_to_cpu(*(const fdt32_t *)data) : def;
}

/* The nodes whose properties we read; everything else is skipped. */
enum bootinfo_node { NODE_OTHER, NODE_ROOT, NODE_MEMORY, NODE_CHOSEN, NODE_CPUS, NODE_VMM };

struct bootinfo_scan {
	enum bootinfo_node node;
	uint32_t ac, sc; /* the root's #address-cells, #size-cells */
};

static enum bootinfo_node bootinfo_classify(const char *name)
{
	if (!strncmp(name, "memory", 6) && (name[6] == '\0' || name[6] == '@'))
		return NODE_MEMORY;
	if (!strcmp(name, "chosen"))
		return NODE_CHOSEN;
	if (!strcmp(name, "cpus"))
		return NODE_CPUS;
	if (!strcmp(name, VMM_DT_NODE + 1))
		return NODE_VMM;
	return NODE_OTHER;
}

static void bootinfo_vmm_prop(struct bootinfo *bi, const char *name, const char *data, uint32_t len)
{
	if (!strcmp(name, VMM_DT_SERIAL_PORT)) {
		bi->serial_port = (uint16_t)bootinfo_u32(data, len, bi->serial_port);
	} else if (!strcmp(name, VMM_DT_EXIT_PORT)) {
		bi->exit_port = (uint16_t)bootinfo_u32(data, len, bi->exit_port);
	} else if (!strcmp(name, VMM_DT_HCALL_PORT) && len == 4) {
		bi->has_hcall = true;
		bi->hcall_port = (uint16_t)bootinfo_u32(data, len, bi->hcall_port);
	} else if (!strcmp(name, VMM_DT_FEATURES)) {
		bi->line_console = fdt_stringlist_contains(data, len, VMM_FEAT_LINE_CONSOLE);
		bi->page_discard = fdt_stringlist_contains(data, len, VMM_FEAT_PAGE_DISCARD);
		bi->page_copy = fdt_stringlist_contains(data, len, VMM_FEAT_PAGE_COPY);
	}
}

static void bootinfo_prop(struct bootinfo *bi, struct bootinfo_scan *s, const char *name,
			  const char *data, uint32_t len)
{
	uint32_t off, step = (s->ac + s->sc) * 4;

	switch (s->node) {
	case NODE_ROOT:
		if (!strcmp(name, "#address-cells"))
			s->ac = bootinfo_u32(data, len, s->ac);
		else if (!strcmp(name, "#size-cells"))
			s->sc = bootinfo_u32(data, len, s->sc);
		break;
	case NODE_MEMORY:
		if (strcmp(name, "reg") || s->ac < 1 || s->ac > 2 || s->sc < 1 || s->sc > 2)
			break;
		for (off = 0; off + step <= len; off += step)
			bootinfo_add_ram(
			    bi, bootinfo_cells((const fdt32_t *)(data + off), s->ac),
			    bootinfo_cells((const fdt32_t *)(data + off) + s->ac, s->sc));
		break;
	case NODE_CHOSEN:
		if (!strcmp(name, "bootargs") && len > 0 && data[len - 1] == '\0')
			bi->cmdline = data;
		break;
	case NODE_CPUS:
		if (!strcmp(name, VMM_DT_TSC_FREQ) && len == 8)
			bi->tsc_hz = fdt64_to_cpu(*(const fdt64_t *)data);
		else if (!strcmp(name, VMM_DT_TSC_FREQ))
			bi->tsc_hz = bootinfo_u32(data, len, 0);
		break;
	case NODE_VMM:
		bootinfo_vmm_prop(bi, name, data, len);
		break;
	case NODE_OTHER:
		break;
	}
}

/* One pass over the structure block with libfdt's tokenizer. Lookups by
 * path and name (fdt_path_offset, fdt_getprop) rescan the tree and recheck
 * the header on every call: about 20 times the emulated instructions.
 * Properties precede subnodes (DT spec), so the root's cell sizes are
 * known before any /memory node. */
static void bootinfo_fdt(struct bootinfo *bi, const void *fdt)
{
	const char *structs = (const char *)fdt + fdt_off_dt_struct(fdt);
	const char *strings = (const char *)fdt + fdt_off_dt_strings(fdt);
	uint32_t strings_size = fdt_size_dt_strings(fdt);
	struct bootinfo_scan s = {NODE_OTHER, 2, 1};
	int off = 0, next, depth = 0;
	uint32_t tag;

	bi->fdt = true;
	do {
		tag = fdt_next_tag(fdt, off, &next);
		if (tag == FDT_BEGIN_NODE) {
			depth++;
			s.node = depth == 1   ? NODE_ROOT
				 : depth == 2 ? bootinfo_classify(structs + off + FDT_TAGSIZE)
					      : NODE_OTHER;
		} else if (tag == FDT_END_NODE) {
			depth--;
			s.node = depth == 1 ? NODE_ROOT : NODE_OTHER;
		} else if (tag == FDT_PROP) {
			const struct fdt_property *p = (const void *)(structs + off);
			uint32_t nameoff = fdt32_to_cpu(p->nameoff);

			/* fdt_next_tag checked the value's bounds; check the name's. */
			if (nameoff < strings_size &&
			    memchr(strings + nameoff, '\0', strings_size - nameoff))
				bootinfo_prop(bi, &s, strings + nameoff, p->data,
					      fdt32_to_cpu(p->len));
		}
		off = next;
	} while (tag != FDT_END && next >= 0);
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
