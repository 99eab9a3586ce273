/* guest-kernel/gk_start.c: gk_main, from boot data to init to the guest's exit.
 *
 * No clearing (the loader zeroed .bss), page tables with the largest
 * pages the CPU offers, one summary line of output, then init, the first
 * process, and the scheduler; the guest ends when init does.
 */
#include <pvh.h>
#include <vmm_abi.h>
#include "gk_kernel.h"
#include "gk_arch.h"
#include "gk_lib.h"

_Static_assert(XEN_ELFNOTE_PHYS32_ENTRY == 18, "gk_entry.S hard-codes the PVH note type");
_Static_assert(FRAME_BATCH <= VMM_HC_MAX_PAGES, "a batch must fit one hypercall");

extern char _end[];

/* .bss, zeroed by the loader; the struct's first member is page aligned. */
static struct gk_kernel gk_kernel_state;

void gk_kernel_exit(struct gk_kernel *k, uint32_t code)
{
	if (k->con.len)
		gk_console_flush(&k->con);
	gk_arch_outl(k->boot.exit_port, code);
	gk_arch_halt_forever();
}

/* Identity-map all RAM; what lies beyond the map's limit stays unused. */
static void gk_kernel_map_ram(struct gk_kernel *k)
{
	struct gk_bootinfo *bi = &k->boot;
	unsigned i;

	for (i = 0; i < bi->nr_ram; i++) {
		struct gk_mem_range *r = &bi->ram[i];

		if (r->end > k->pg.limit) {
			gk_printf(&k->con, "BOOT note=\"RAM above 0x%lx left unused\"\n",
				  k->pg.limit);
			r->end = k->pg.limit;
		}
		if (r->start < r->end)
			gk_paging_identity_map(&k->pg, r->start, r->end);
		else
			r->start = r->end = 0;
	}
}

static void gk_kernel_banner(struct gk_kernel *k)
{
	struct gk_bootinfo *bi = &k->boot;
	uint64_t ram = 0;
	unsigned i;

	for (i = 0; i < bi->nr_ram; i++)
		ram += bi->ram[i].end - bi->ram[i].start;
	gk_printf(&k->con,
		  "BOOT ram=%luK free=%luK source=%s console=%s discard=%d copy=%d gbpages=%d "
		  "pcid=%d invpcid=%d sched=%s files=%u counters=%d workload=%s size=%lu "
		  "fault_around=%lu\n",
		  ram >> 10, k->frames.free << 2, bi->fdt ? "fdt" : "pvh",
		  bi->line_console ? "line" : "uart", k->frames.discard, k->frames.copy,
		  k->pg.gbpages, k->tlb.pcid, k->tlb.invpcid, k->sched.timer ? "timer" : "trap",
		  k->cache.nr_files, k->counters.page != NULL,
		  gk_bootargs_workload_name(k->args.workload), k->args.size, k->args.fault_around);
}

/* Page tables take one frame per 2 MiB of heap, plus a few. */
static int gk_kernel_check_size(struct gk_kernel *k)
{
	uint64_t need = k->args.size / PAGE_SIZE + k->args.size / (2ULL << 20) + 64;

	if (need <= k->frames.free)
		return 0;
	gk_printf(&k->con, "BOOT error=\"size=%lu needs %lu frames, %lu are free\"\n", k->args.size,
		  need, k->frames.free);
	return -1;
}

void gk_kernel_finish(struct gk_kernel *k, struct gk_proc *init)
{
	struct gk_frame_stats *s = &k->frames.stats;

	gk_printf(&k->con,
		  "EXIT task=%s status=%d faults=%lu frames=%lu allocs=%lu frees=%lu "
		  "discard_calls=%lu copy_calls=%lu zeroed_locally=%lu procs_left=%u\n",
		  init->name, init->status, init->faults, k->frames.total - k->frames.free,
		  s->allocs, s->frees, s->discard_calls, s->copy_calls, s->zeroed_locally,
		  k->procs.live - 1);
	gk_counters_line(k);
	gk_counters_publish(k);
	gk_kernel_exit(k, init->status == 0 && init->reported && init->result_ok
			      ? VMM_GUEST_SUCCESS
			      : VMM_GUEST_FAILURE);
}

static uint64_t gk_kernel_pool_page(void *frames)
{
	return gk_frame_alloc(frames);
}

static void gk_kernel_load_archive(struct gk_kernel *k)
{
	const char *why = NULL;

	if (!k->boot.archive)
		return;
	if (gk_cache_load_archive(&k->cache, k->boot.archive, k->boot.archive_len, &why) < 0) {
		gk_printf(&k->con, "BOOT error=\"initrd: %s\" files_read=%u\n", why,
			  k->cache.nr_files);
		gk_kernel_exit(k, VMM_GUEST_FAILURE);
	}
}

void gk_main(uint32_t start_info)
{
	struct gk_kernel *k = &gk_kernel_state;
	int err = 0;

	gk_paging_init(&k->pg);
	gk_console_init(&k->con, VMM_PORT_SERIAL, NULL);
	k->boot.exit_port = VMM_PORT_EXIT;
	gk_trap_init(k);
	if (gk_bootinfo_parse(&k->boot, &k->pg, start_info) < 0) {
		gk_printf(&k->con, "BOOT error=\"%s\"\n", k->boot.error);
		gk_kernel_exit(k, VMM_GUEST_CRASH);
	}
	if (k->boot.has_hcall)
		gk_hcall_init(&k->hc, k->boot.hcall_port);
	gk_console_init(&k->con, k->boot.serial_port, k->boot.line_console ? &k->hc : NULL);
	gk_kernel_map_ram(k);
	if (gk_frame_init(&k->frames, &k->boot, (uint64_t)(uintptr_t)_end,
			  k->boot.has_hcall ? &k->hc : NULL) < 0) {
		gk_printf(&k->con, "BOOT error=\"no room for the frame reference table\"\n");
		gk_kernel_exit(k, VMM_GUEST_CRASH);
	}
	if (gk_bootargs_parse(&k->args, k->boot.cmdline, &k->con) < 0)
		gk_kernel_exit(k, VMM_GUEST_FAILURE);
	gk_tlb_init(&k->tlb, (uint64_t)(uintptr_t)k->pg.pml4, k->args.pcid);
	k->tlb.skip = k->args.tlb_skip;
	gk_pool_init(&k->vma_pool, sizeof(struct gk_vma), gk_kernel_pool_page, &k->frames);
	gk_pool_init(&k->table_pool, sizeof(struct gk_mm_table), gk_kernel_pool_page, &k->frames);
	gk_cache_init(&k->cache, &k->frames);
	gk_procs_init(&k->procs);
	gk_kernel_load_archive(k);
	gk_sched_init(k, k->args.sched, k->args.quantum_us);
	gk_counters_init(k, k->boot.counters_gpa);
	gk_kernel_banner(k);
	if (k->args.workload == WORKLOAD_TRIPLE)
		gk_trap_triple_fault();
	if (gk_kernel_check_size(k) < 0)
		gk_kernel_exit(k, VMM_GUEST_FAILURE);
	if (!gk_proc_spawn(k, k->args.workload, NULL, &err)) {
		gk_printf(&k->con, "BOOT error=\"out of frames creating init\"\n");
		gk_kernel_exit(k, VMM_GUEST_FAILURE);
	}
	gk_sched_run(k);
}
