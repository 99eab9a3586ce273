/* vmm/main.c: the vmm program: subcommands and exit statuses. */
#include <errno.h>
#include <libfdt.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "bzimage.h"
#include "cli.h"
#include "control.h"
#include "control_client.h"
#include "devtree.h"
#include "err.h"
#include "fleet.h"
#include "vm_pool.h"
#include "fork.h"
#include "guest_ram.h"
#include "histo.h"
#include "initrd.h"
#include "kernel.h"
#include "restore.h"
#include "sigstop.h"
#include "snapfile.h"
#include "snapshot.h"
#include "stats.h"
#include "vm.h"
#include "wsfile.h"

#include "config.h"

/* The built guest kernel: next to a build-tree vmm, else where it installs. */
static const char *main_default_kernel(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		snprintf(buf, size, "%s/../guest-kernel/kernel.elf", dirname(exe));
		if (access(buf, R_OK) == 0)
			return buf;
	}
	snprintf(buf, size, "%s/kernel.elf", PKGLIBEXECDIR);
	if (access(buf, R_OK) == 0)
		return buf;
	err_input("--kernel",
		  "no built-in guest kernel found (looked next to the vmm binary and in %s): pass "
		  "--kernel PATH",
		  PKGLIBEXECDIR);
	return NULL;
}

/* vm_create failed with status: keep why and when, for the report. */
static void main_set_up_failed(struct vm *vm, int status)
{
	vm->status = status;
	snprintf(vm->reason, sizeof(vm->reason), "set-up failed: %s",
		 *last_error() ? last_error() : "see the messages above");
	vm->stats.end_ns = histo_now_ns();
}

/* Pages spanned by [gpa, gpa + len). */
static uint64_t main_pages(uint64_t gpa, uint64_t len)
{
	return (gpa + len + EPT_PAGE_SIZE - 1) / EPT_PAGE_SIZE - gpa / EPT_PAGE_SIZE;
}

/* Pages of boot data: for a PVH kernel (boot.h) the start info page, the
 * command line and the device tree, built as boot_setup will (a TSC
 * frequency present); for a bzImage (bzimage.h) the zero page, GDT, page
 * tables and command line, and the ACPI tables' page. */
static int main_boot_pages(const struct run_opts *o, const struct kernel *k, uint64_t *pages)
{
	const char *cmdline =
	    o->cmdline ? o->cmdline : machine_get(kernel_machine(k))->default_cmdline;
	struct guest_ram_region regions[GUEST_RAM_MAX_REGIONS];
	struct devtree_params p = {.regions = regions,
				   .nr_regions = guest_ram_layout(o->mem_bytes, regions),
				   .bootargs = cmdline,
				   .tsc_hz = 1,
				   .hcall_services = true};
	void *fdt;
	int ret;

	if (k->format == KERNEL_BZIMAGE) {
		*pages = bzimage_boot_pages(strlen(cmdline) + sizeof(" panic=-1")) + 1;
		return 0;
	}
	fdt = malloc(BOOT_FDT_MAX);
	ret = fdt ? devtree_build(fdt, BOOT_FDT_MAX, &p) : -ENOMEM;
	if (!ret)
		*pages = 1 + main_pages(BOOT_CMDLINE_GPA, strlen(cmdline) + 1) +
			 main_pages(BOOT_FDT_GPA, fdt_totalsize(fdt));
	free(fdt);
	return ret;
}

/* Pages of the initrd, if any; a file that cannot be read is left to
 * vm_create, which says why. */
static uint64_t main_initrd_pages(const struct run_opts *o)
{
	struct stat st;

	if (!o->initrd || stat(o->initrd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return initrd_pages(st.st_size);
}

/* --host-mem must hold what the VMM writes before the guest runs: the
 * kernel's loaded pages, the initrd and the boot data; less failed part-way with
 * "Cannot allocate memory". A kernel that cannot be read or checked is
 * left to vm_create, which says why. */
static int main_check_host_mem(const struct run_opts *o)
{
	struct guest_ram layout = {.size = o->mem_bytes};
	struct kernel k;
	uint64_t boot = 0, kernel, min;
	bool quiet = err_set_quiet(true);
	int ret;

	layout.nr_regions = guest_ram_layout(o->mem_bytes, layout.region);
	ret = kernel_read(o->kernel, &layout, &k);
	if (!ret)
		ret = main_boot_pages(o, &k, &boot);
	kernel = ret ? 0 : kernel_pages(&k) + main_initrd_pages(o);
	kernel_free(&k);
	err_set_quiet(quiet);
	min = (kernel + boot) * EPT_PAGE_SIZE;
	if (ret || o->host_mem_bytes >= min)
		return 0;
	return err_input("--host-mem",
			 "%lluK: expected at least %lluK, for the kernel's%s %llu pages and %llu "
			 "pages of boot data",
			 (unsigned long long)o->host_mem_bytes >> 10, (unsigned long long)min >> 10,
			 o->initrd ? " and initrd's" : "", (unsigned long long)kernel,
			 (unsigned long long)boot);
}

/* --stats-interval: a line on stderr. */
static void main_stats_line(struct vm *vm)
{
	stats_print_line(vm, stderr);
}

/* The VM's configuration from the options run and restore share. */
static struct vm_config main_vm_config(const struct run_opts *o)
{
	return (struct vm_config){
	    .kernel = o->kernel,
	    .initrd = o->initrd,
	    .machine = o->machine,
	    .mem_bytes = o->mem_bytes,
	    .host_mem_bytes = o->host_mem_bytes,
	    .manager = o->kernel_manager ? GUEST_RAM_MANAGER_KERNEL : GUEST_RAM_MANAGER_VMM,
	    .fault_around = o->fault_around,
	    .pin = o->pin,
	    .pin_cpu = -1,
	    .cmdline = o->cmdline,
	    .pause_at_line = o->pause_at_line,
	    .timeout_sec = o->timeout_sec,
	    .stats_interval = o->stats_interval,
	    .on_interval = main_stats_line,
	    .console_fd = STDOUT_FILENO,
	    .console_input = true,
	    .swap_path = o->swap_path,
	    .swap_bytes = o->swap_bytes,
	    .swap_sync = o->swap_sync,
	    .swap_readahead = o->swap_readahead,
	    .oom_protect = o->oom_protect,
	    .wss_period_ms = o->kernel_manager ? 0 : o->wss_period_ms,
	    .wss_samples = o->wss_samples,
	    .start_paused = o->paused,
	};
}

/* fork-from: children of the restored VM before it runs. 0 or a status. */
static int main_fork_before_run(struct vm *vm, unsigned children)
{
	struct fork_result res;
	char err[512];
	int ret;

	if (!children)
		return 0;
	ret = fork_vm(vm, children, &res, err, sizeof(err));
	if (!ret)
		return 0;
	err_errno(-ret, "fork-from", "%s", err);
	return ret == -EINVAL ? VMM_STATUS_USAGE : VMM_STATUS_INTERNAL;
}

/* What SIGTERM and SIGINT stop. */
struct main_stop {
	struct vm *vm;
	struct fleet *fleet;
};

/* On the signal thread (sigstop.h): every VM stops as vmm stop stops it,
 * and a snapshot being written is given up, its DIR.tmp removed. */
static void main_on_signal(void *arg, int signo)
{
	struct main_stop *s = arg;
	char why[64];

	snprintf(why, sizeof(why), "stopped by signal (SIG%s)", sigabbrev_np(signo));
	snapshot_abort(s->vm, why);
	vm_stop(s->vm, VMM_STATUS_CRASH, "%s", why);
	fleet_stop_all(s->fleet, VMM_STATUS_CRASH, why);
}

/* KVM VMs made ahead for the children of vm (vm_pool.h), if it can have
 * any: a control socket to ask for a fork, or fork-from's children. A
 * pool that cannot start leaves children to be made whole. */
static void main_start_pool(struct vm_pool *pool, struct vm *vm, const struct fleet *fleet,
			    const struct run_opts *o, unsigned children)
{
	if (!o->fork_pool || vm->machine->irqchip || !vm->mem.vmem || (!o->control && !children))
		return;
	if (!vm_pool_start(pool, o->fork_pool, vm->machine->normalise_cpuid, fleet->nr_cpus))
		vm->cfg.pool = pool;
}

/* Build the VM (from the snapshot r when not NULL, else cfg's kernel),
 * with children more VMs forked from it before it runs, serve its control
 * socket, run it and report: the exit status. */
static int main_vm(const struct run_opts *o, const struct vm_config *cfg, const char *input,
		   struct snap_reader *r, bool lazy, unsigned children)
{
	struct stats_file stats = {0};
	struct sigstop sig = {.sfd = -1, .stop_fd = -1};
	struct control ctl;
	struct fleet fleet;
	struct vm_pool pool;
	struct vm vm;
	struct vm_config c = *cfg;
	/* The signal thread's: it lives until sigstop_end, below. */
	struct main_stop stop = {&vm, &fleet};
	int status;

	/* Before any thread is made: they all inherit the mask. */
	if (sigstop_block())
		return VMM_STATUS_INTERNAL;
	/* The files this run writes must not be its inputs: the swap file's
	 * probe writes its first block before the guest runs. */
	if (o->swap_path &&
	    cli_check_not_input("--swap", o->swap_path, (const char *[]){input, NULL}))
		return VMM_STATUS_USAGE;
	if (o->stats_json &&
	    stats_open(&stats, o->stats_json, (const char *[]){input, o->swap_path, NULL}))
		return VMM_STATUS_USAGE;
	if (o->control && control_open(&ctl, o->control, CONTROL_LOCK_WAIT_MS)) {
		if (o->stats_json)
			stats_abandon(&stats);
		return VMM_STATUS_USAGE;
	}
	fleet_init(&fleet, cfg->console_fd, o->console_dir);
	if (o->control || children)
		fleet_expect_children();
	c.fleet = &fleet;
	status = r ? snapshot_restore_vm(&vm, &c, r, lazy) : vm_create(&vm, &c);
	if (!status)
		main_start_pool(&pool, &vm, &fleet, o, children);
	if (!status)
		status = main_fork_before_run(&vm, children);
	if (!status && sigstop_start(&sig, main_on_signal, &stop))
		status = VMM_STATUS_INTERNAL;
	if (!status && o->control && control_start(&ctl, &vm, cfg->manager))
		status = VMM_STATUS_INTERNAL;
	if (!status)
		status = vm_run(&vm);
	else
		main_set_up_failed(&vm, status);
	snapshot_wait(&vm); /* its progress stays on the socket until it is on disk */
	fleet_wait(&fleet); /* the socket stays for as long as a VM runs */
	if (o->control)
		control_close(&ctl);
	sigstop_end(&sig);
	fleet_report(&fleet, stderr);
	if (o->stats_json && stats_write_json(&vm, cfg->manager, &stats) && !status)
		status = VMM_STATUS_INTERNAL;
	fleet_destroy(&fleet); /* the children first: they map vm's memory */
	if (vm.cfg.pool)
		vm_pool_stop(vm.cfg.pool);
	snapshot_finish(&vm); /* its jobs read guest memory */
	vm_destroy(&vm);
	return status;
}

/* The process's frame store, for the VM and its children (VMM manager):
 * made before the VM, destroyed once every VM on it is gone. */
static int main_vm_in_host(const struct run_opts *o, struct vm_config *cfg, const char *input,
			   struct snap_reader *r, bool lazy, unsigned children)
{
	int status;

	if (cfg->manager == GUEST_RAM_MANAGER_VMM &&
	    guest_ram_host_create(cfg->mem_bytes, cfg->host_mem_bytes, &cfg->host))
		return VMM_STATUS_INTERNAL;
	status = main_vm(o, cfg, input, r, lazy, children);
	if (cfg->host)
		host_destroy(cfg->host);
	return status;
}

/* cli_parse_*'s result as main's: -1 go on, else the exit status. */
static int main_parsed(int ret)
{
	if (ret > 0)
		cli_usage(stdout);
	return ret > 0 ? VMM_STATUS_OK : ret < 0 ? VMM_STATUS_USAGE : -1;
}

static int main_run(int argc, char **argv)
{
	uint64_t begun = histo_now_ns();
	char kernel_buf[PATH_MAX + 32];
	struct run_opts o;
	struct vm_config cfg;
	int ret = main_parsed(cli_parse_run(argc, argv, &o));

	if (ret >= 0)
		return ret;
	if (!o.kernel && !(o.kernel = main_default_kernel(kernel_buf, sizeof(kernel_buf))))
		return VMM_STATUS_USAGE;
	if (o.host_mem_bytes && main_check_host_mem(&o))
		return VMM_STATUS_USAGE;
	cfg = main_vm_config(&o);
	cfg.main_ns = begun;
	return main_vm_in_host(&o, &cfg, o.kernel, NULL, false, 0);
}

/* How a restore loads memory; DIR/working-set read and checked, for a
 * lazy restore: 0 or exit 2. */
static int main_restore_load(const struct restore_opts *o, const struct snap_reader *r,
			     struct snapshot_load_opts *load)
{
	uint64_t *ws = NULL, n = 0;
	char err[512];
	int ret = 0;

	if (!o->eager && !o->no_prefetch_ws)
		ret = snap_ws_read(r, &ws, &n, err, sizeof(err));
	*load = (struct snapshot_load_opts){.no_background = o->no_background,
					    .record_ws_ms = o->record_ws_ms,
					    .ws = ws,
					    .ws_pages = n};
	if (!ret)
		return 0;
	err_errno(-ret, "restore", "%s", err);
	return ret == -ENOMEM ? VMM_STATUS_INTERNAL : VMM_STATUS_USAGE;
}

/* vmm restore DIR, vmm fork-from DIR --count N: the snapshot is opened
 * and checked, and --mem against it, before anything else, so that a bad
 * one is exit 2 on any host. */
static int main_restore(int argc, char **argv)
{
	uint64_t begun = histo_now_ns();
	struct snapshot_load_opts load;
	struct restore_opts o;
	struct snap_reader *r;
	struct vm_config cfg;
	char err[512];
	int ret = main_parsed(cli_parse_restore(argc, argv, &o));

	if (ret >= 0)
		return ret;
	ret = snap_reader_open(&r, o.dir, err, sizeof(err));
	if (ret) {
		err_errno(-ret, argv[0], "%s", err);
		return ret == -ENOMEM ? VMM_STATUS_INTERNAL : VMM_STATUS_USAGE;
	}
	if (o.mem_given && snap_reader_check_mem(r, o.run.mem_bytes, err, sizeof(err))) {
		err_input("--mem", "%s", err);
		snap_reader_close(r);
		return VMM_STATUS_USAGE;
	}
	cfg = main_vm_config(&o.run);
	cfg.mem_bytes = snap_reader_mem_bytes(r);
	cfg.restore_check_hash = o.check_hash;
	cfg.main_ns = begun;
	ret = main_restore_load(&o, r, &load);
	cfg.restore_load = &load;
	if (!ret)
		ret = main_vm_in_host(&o.run, &cfg, snap_reader_path(r), r, !o.eager,
				      o.count ? o.count - 1 : 0);
	free((void *)load.ws);
	snap_reader_close(r);
	return ret;
}

/* vmm stat|pause|resume|stop|snapshot --control PATH */
static int main_ctl(int argc, char **argv)
{
	struct ctl_opts o;
	int ret = main_parsed(cli_parse_ctl(argc, argv, &o));

	if (ret >= 0)
		return ret;
	return control_client_run(&o);
}

static int main_dtb(int argc, char **argv)
{
	static char buf[64 << 10];
	struct guest_ram_region regions[GUEST_RAM_MAX_REGIONS];
	struct dtb_opts o;
	struct devtree_params p;
	FILE *f;
	int ret;

	ret = main_parsed(cli_parse_dtb(argc, argv, &o));
	if (ret >= 0)
		return ret;
	p = (struct devtree_params){.regions = regions,
				    .nr_regions = guest_ram_layout(o.mem_bytes, regions),
				    .bootargs = o.cmdline,
				    .hcall_services = o.services};
	if (devtree_build(buf, sizeof(buf), &p))
		return err_input("dtb", "device tree does not fit in %zu bytes", sizeof(buf)),
		       VMM_STATUS_INTERNAL;
	f = fopen(o.output, "wb");
	if (!f)
		return err_sys(o.output, "fopen"), VMM_STATUS_USAGE;
	ret = fwrite(buf, 1, fdt_totalsize(buf), f) == fdt_totalsize(buf);
	if (fclose(f) || !ret)
		return err_sys(o.output, "write"), VMM_STATUS_INTERNAL;
	return VMM_STATUS_OK;
}

/* The subcommands, in one place: adding one touches this table only. */
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} main_commands[] = {
    {"run", main_run},	 {"restore", main_restore},   {"dtb", main_dtb},  {"stat", main_ctl},
    {"pause", main_ctl}, {"resume", main_ctl},	      {"stop", main_ctl}, {"snapshot", main_ctl},
    {"fork", main_ctl},	 {"fork-from", main_restore},
};

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "run";

	/* A closed stdout must not kill vmm (exit 141) and lose the report:
	 * writes to it fail with EPIPE instead, and are reported. */
	signal(SIGPIPE, SIG_IGN);

	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		cli_usage(stdout);
		return VMM_STATUS_OK;
	}
	if (!strcmp(cmd, "--version")) {
		printf("vmm %s\n", PACKAGE_VERSION);
		return VMM_STATUS_OK;
	}
	if (argc <= 1)
		return main_run(1, (char *[]){"run", NULL});
	for (size_t i = 0; i < sizeof(main_commands) / sizeof(main_commands[0]); i++)
		if (!strcmp(cmd, main_commands[i].name))
			return main_commands[i].fn(argc - 1, argv + 1);
	err_input("vmm",
		  "unknown command '%s' (expected run, restore, fork-from, dtb, stat, pause, "
		  "resume, stop, snapshot or fork; see vmm --help)",
		  cmd);
	return VMM_STATUS_USAGE;
}
