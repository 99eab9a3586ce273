/* vmm/main.c: the vmm program: subcommands and exit statuses. */
#include <errno.h>
#include <libfdt.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "devtree.h"
#include "err.h"
#include "gmem.h"
#include "stats.h"
#include "vm.h"

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
	vm->stats.end_ns = vm_now_ns();
}

static int main_run(int argc, char **argv)
{
	char kernel_buf[PATH_MAX + 32];
	struct run_opts o;
	struct vm_config cfg;
	struct vm vm;
	struct stats_file stats = {0};
	int ret, status;

	ret = cli_parse_run(argc, argv, &o);
	if (ret) {
		if (ret > 0)
			cli_usage(stdout);
		return ret > 0 ? VMM_STATUS_OK : VMM_STATUS_USAGE;
	}
	if (!o.kernel && !(o.kernel = main_default_kernel(kernel_buf, sizeof(kernel_buf))))
		return VMM_STATUS_USAGE;
	if (o.stats_json && stats_open(&stats, o.stats_json, (const char *[]){o.kernel, NULL}))
		return VMM_STATUS_USAGE;
	cfg = (struct vm_config){
	    .kernel = o.kernel,
	    .mem_bytes = o.mem_bytes,
	    .host_mem_bytes = o.host_mem_bytes,
	    .manager = o.kernel_manager ? GMEM_MANAGER_KERNEL : GMEM_MANAGER_VMM,
	    .fault_around = o.fault_around,
	    .pin = o.pin,
	    .cmdline = o.cmdline,
	    .timeout_sec = o.timeout_sec,
	    .stats_interval = o.stats_interval,
	    .console_fd = STDOUT_FILENO,
	};
	status = vm_create(&vm, &cfg);
	if (!status)
		status = vm_run(&vm);
	else
		main_set_up_failed(&vm, status);
	if (o.stats_json && stats_write_json(&vm, cfg.manager, &stats) && !status)
		status = VMM_STATUS_INTERNAL;
	vm_destroy(&vm);
	return status;
}

static int main_dtb(int argc, char **argv)
{
	static char buf[64 << 10];
	struct gmem_region regions[GMEM_MAX_REGIONS];
	struct dtb_opts o;
	struct devtree_params p;
	FILE *f;
	int ret;

	ret = cli_parse_dtb(argc, argv, &o);
	if (ret) {
		if (ret > 0)
			cli_usage(stdout);
		return ret > 0 ? VMM_STATUS_OK : VMM_STATUS_USAGE;
	}
	p = (struct devtree_params){.regions = regions,
				    .nr_regions = gmem_layout(o.mem_bytes, regions),
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
	if (!strcmp(cmd, "run"))
		return main_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "dtb"))
		return main_dtb(argc - 1, argv + 1);
	err_input("vmm", "unknown command '%s' (expected run or dtb; see vmm --help)", cmd);
	return VMM_STATUS_USAGE;
}
