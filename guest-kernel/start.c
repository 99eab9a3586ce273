/* guest-kernel/start.c: kmain, from boot data to one workload to exit.
 *
 * No clearing (the loader zeroed .bss), page tables with the largest
 * pages the CPU offers, one summary line of output.
 */
#include <pvh.h>
#include <vmm_abi.h>
#include "kernel.h"
#include "arch.h"
#include "lib.h"

_Static_assert(XEN_ELFNOTE_PHYS32_ENTRY == 18, "entry.S hard-codes the PVH note type");
_Static_assert(FRAME_BATCH <= VMM_HC_MAX_PAGES, "a batch must fit one hypercall");

extern char _end[];

/* .bss, zeroed by the loader; the struct's first member is page aligned. */
static struct kernel kernel_state;

void kernel_exit(struct kernel *k, uint32_t code)
{
	if (k->con.len)
		console_flush(&k->con);
	arch_outl(k->boot.exit_port, code);
	arch_halt_forever();
}

/* Identity-map all RAM; what lies beyond the map's limit stays unused. */
static void kernel_map_ram(struct kernel *k)
{
	struct bootinfo *bi = &k->boot;
	unsigned i;

	for (i = 0; i < bi->nr_ram; i++) {
		struct mem_range *r = &bi->ram[i];

		if (r->end > k->pg.limit) {
			kprintf(&k->con, "BOOT note=\"RAM above 0x%lx left unused\"\n",
				k->pg.limit);
			r->end = k->pg.limit;
		}
		if (r->start < r->end)
			paging_identity_map(&k->pg, r->start, r->end);
		else
			r->start = r->end = 0;
	}
}

static void kernel_banner(struct kernel *k)
{
	struct bootinfo *bi = &k->boot;
	uint64_t ram = 0;
	unsigned i;

	for (i = 0; i < bi->nr_ram; i++)
		ram += bi->ram[i].end - bi->ram[i].start;
	kprintf(&k->con,
		"BOOT ram=%luK free=%luK source=%s console=%s discard=%d copy=%d gbpages=%d "
		"workload=%s size=%lu fault_around=%u\n",
		ram >> 10, frame_fresh_pages(&k->frames) << 2, bi->fdt ? "fdt" : "pvh",
		bi->line_console ? "line" : "uart", k->frames.discard, k->frames.copy,
		k->pg.gbpages, bootargs_workload_name(k->args.workload), k->args.size,
		k->args.fault_around);
}

/* Page tables take one frame per 2 MiB of heap, plus a few. */
static int kernel_check_size(struct kernel *k)
{
	uint64_t need = k->args.size / PAGE_SIZE + k->args.size / (2ULL << 20) + 64;
	uint64_t have = frame_fresh_pages(&k->frames);

	if (need <= have)
		return 0;
	kprintf(&k->con, "BOOT error=\"size=%lu needs %lu frames, %lu are free\"\n", k->args.size,
		need, have);
	return -1;
}

static void kernel_exit_line(struct kernel *k, struct task *t, int status)
{
	struct frame_stats *s = &k->frames.stats;

	kprintf(&k->con,
		"EXIT task=%s status=%d faults=%lu frames=%lu allocs=%lu frees=%lu "
		"discard_calls=%lu copy_calls=%lu zeroed_locally=%lu\n",
		t->name, status, t->faults, t->frames, s->allocs, s->frees, s->discard_calls,
		s->copy_calls, s->zeroed_locally);
}

static int kernel_run_task(struct kernel *k)
{
	struct task *t = &k->task;
	int status;

	if (kernel_check_size(k) < 0)
		return 0;
	if (task_create(k, t, &k->args) < 0) {
		kprintf(&k->con, "BOOT error=\"out of frames creating the task\"\n");
		return 0;
	}
	status = task_run(k, t);
	kernel_exit_line(k, t, status);
	return status == 0 && !t->killed && t->reported && t->result_ok;
}

void kmain(uint32_t start_info)
{
	struct kernel *k = &kernel_state;

	paging_init(&k->pg);
	console_init(&k->con, VMM_PORT_SERIAL, NULL);
	k->boot.exit_port = VMM_PORT_EXIT;
	trap_init(k);
	if (bootinfo_parse(&k->boot, &k->pg, start_info) < 0) {
		kprintf(&k->con, "BOOT error=\"%s\"\n", k->boot.error);
		kernel_exit(k, VMM_GUEST_CRASH);
	}
	if (k->boot.has_hcall)
		hcall_init(&k->hc, k->boot.hcall_port);
	console_init(&k->con, k->boot.serial_port, k->boot.line_console ? &k->hc : NULL);
	kernel_map_ram(k);
	frame_init(&k->frames, &k->boot, (uint64_t)(uintptr_t)_end,
		   k->boot.has_hcall ? &k->hc : NULL);
	if (bootargs_parse(&k->args, k->boot.cmdline, &k->con) < 0)
		kernel_exit(k, VMM_GUEST_FAILURE);
	kernel_banner(k);
	if (k->args.workload == WORKLOAD_TRIPLE)
		trap_triple_fault();
	kernel_exit(k, kernel_run_task(k) ? VMM_GUEST_SUCCESS : VMM_GUEST_FAILURE);
}
