/* vmm/cli.c: command-line parsing, see cli.h. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <regex.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boot.h"
#include "err.h"
#include "guest_ram.h"
#include "vmem.h"

int cli_parse_size(const char *opt, const char *s, uint64_t *out)
{
	static const char suffixes[] = "KMGT"; /* powers of 1024 */
	uint64_t v = 0, mul = 1;
	const char *p = s, *suffix;

	if (!*p)
		return err_input(opt,
				 "empty size: expected a number with an optional K/M/G/T suffix");
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (*p - '0')) / 10)
			return err_input(opt, "size '%s' is too large", s);
		v = v * 10 + (*p - '0');
	}
	if (p == s)
		return err_input(opt,
				 "size '%s': expected a number with an optional K/M/G/T suffix", s);
	suffix = *p ? strchr(suffixes, toupper((unsigned char)*p)) : NULL;
	if (suffix) {
		mul = 1ULL << (10 * (suffix - suffixes + 1));
		p++;
	}
	if (*p)
		return err_input(opt, "size '%s': unexpected '%s' (expected K, M, G or T)", s, p);
	if (v > UINT64_MAX / mul)
		return err_input(opt, "size '%s' is too large", s);
	*out = v * mul;
	return 0;
}

int cli_parse_mem(const char *s, uint64_t *out)
{
	uint64_t v;
	int ret = cli_parse_size("--mem", s, &v);

	if (ret)
		return ret;
	if (v < CLI_MIN_MEM || v > GUEST_RAM_MAX_SIZE)
		return err_input("--mem", "%s: expected %lluM to %lluG", s, CLI_MIN_MEM >> 20,
				 GUEST_RAM_MAX_SIZE >> 30);
	if (v % EPT_PAGE_SIZE)
		return err_input("--mem", "%s: expected a multiple of 4K", s);
	*out = v;
	return 0;
}

int cli_parse_uint(const char *opt, const char *s, unsigned max, unsigned *out)
{
	uint64_t v = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9' && v <= max; p++)
		v = v * 10 + (*p - '0');
	if (p == s || *p || v > max)
		return err_input(opt, "'%s': expected a whole number from 0 to %u", s, max);
	*out = v;
	return 0;
}

static int cli_cmdline(const char *s, const char **out)
{
	if (strlen(s) > BOOT_CMDLINE_MAX)
		return err_input("--cmdline", "%zu bytes: at most %u", strlen(s), BOOT_CMDLINE_MAX);
	*out = s;
	return 0;
}

static int cli_unknown(const char *cmd, int argc, char **argv)
{
	if (optind < argc)
		return err_input(cmd, "unexpected argument '%s'", argv[optind]);
	return err_input(cmd, "bad option (see vmm --help)");
}

/* getopt_long stopped at argv[word] ('?' unknown, ':' missing value): name
 * the option there, not the subcommand, and within a cluster (-xy) the
 * letter it stopped at. */
static int cli_bad_option(const char *cmd, int c, char **argv, int word)
{
	const char *w = argv[word];

	if (c == ':')
		return err_input(cmd, "option '%s' needs a value (see vmm --help)", w);
	if (optopt && w[0] == '-' && w[1] != '-')
		return err_input(cmd, "unknown option '-%c' in '%s' (see vmm --help)", optopt, w);
	return err_input(cmd, "unknown or ambiguous option '%s' (see vmm --help)", w);
}

/* getopt_long, keeping in *word the index of the argument it reads (optind
 * before the call; 0, the restart value, means argv[1]). */
static int cli_next(int argc, char **argv, const char *shorts, const struct option *opts, int *word)
{
	*word = optind ? optind : 1;
	return getopt_long(argc, argv, shorts, opts, NULL);
}

/* Seconds, 1 or more: 0 used to mean "none" silently; leaving the option
 * out says that. */
static int cli_seconds(const char *opt, const char *s, unsigned *out)
{
	int ret = cli_parse_uint(opt, s, CLI_MAX_TIMEOUT, out);

	if (!ret && !*out)
		ret = err_input(opt, "'%s': expected 1 or more seconds (leave %s out for none)", s,
				opt);
	return ret;
}

static int cli_stats_json(const char *s, const char **out)
{
	if (!*s)
		return err_input("--stats-json",
				 "empty path: expected a file name, or - for stdout");
	*out = s;
	return 0;
}

static int cli_control(const char *s, const char **out)
{
	if (!*s)
		return err_input("--control", "empty path: expected the control socket's path");
	*out = s;
	return 0;
}

static int cli_manager(const char *s, bool *kernel)
{
	if (!strcmp(s, "vmm") || !strcmp(s, "kernel")) {
		*kernel = !strcmp(s, "kernel");
		return 0;
	}
	return err_input("--memory-manager", "'%s': expected vmm or kernel", s);
}

static int cli_host_mem(const char *s, uint64_t *out)
{
	int ret = cli_parse_size("--host-mem", s, out);

	if (!ret && (*out < CLI_MIN_MEM || *out % EPT_PAGE_SIZE))
		ret = err_input("--host-mem", "%s: expected a multiple of 4K, at least %lluM", s,
				CLI_MIN_MEM >> 20);
	return ret;
}

static int cli_fault_around(const char *s, unsigned *out)
{
	int ret = cli_parse_uint("--fault-around", s, VMEM_MAX_WINDOW, out);

	if (!ret && (*out == 0 || (*out & (*out - 1))))
		ret = err_input("--fault-around", "%s: expected a power of two from 1 to %u", s,
				VMEM_MAX_WINDOW);
	return ret;
}

static int cli_path(const char *opt, const char *s, const char **out)
{
	if (!*s)
		return err_input(opt, "empty path: expected a file name");
	*out = s;
	return 0;
}

/* The overcommit options of run; -ENOENT if c is not one of them. */
static int cli_run_reclaim(int c, struct run_opts *o)
{
	int ret;

	switch (c) {
	case 'w':
		return cli_path("--swap", optarg, &o->swap_path);
	case 'W':
		return cli_parse_size("--swap-size", optarg, &o->swap_bytes);
	case 'y':
		o->swap_sync = true;
		return 0;
	case 'r':
		ret =
		    cli_parse_uint("--swap-readahead", optarg, VMEM_EVICT_MAX, &o->swap_readahead);
		if (!ret && !o->swap_readahead)
			ret = err_input("--swap-readahead", "0: expected 1 (none) to %u pages",
					VMEM_EVICT_MAX);
		return ret;
	case 'O':
		o->oom_protect = true;
		return 0;
	case 'e':
		return cli_parse_uint("--wss-period", optarg, 3600 * 1000, &o->wss_period_ms);
	case 'n':
		return cli_parse_uint("--wss-samples", optarg, CLI_MAX_WSS_SAMPLES,
				      &o->wss_samples);
	default:
		return -ENOENT;
	}
}

/* Combinations checked once every option is read. */
static int cli_run_check(const struct run_opts *o)
{
	if (o->paused && !o->control)
		return err_input("--paused", "needs --control PATH: vmm resume starts the guest");
	if (o->kernel_manager && o->host_mem_bytes)
		return err_input("--host-mem", "applies to --memory-manager=vmm only");
	if (o->kernel_manager && o->swap_path)
		return err_input("--swap", "applies to --memory-manager=vmm only");
	if (!o->swap_path && (o->swap_bytes || o->swap_sync))
		return err_input(o->swap_bytes ? "--swap-size" : "--swap-sync",
				 "needs --swap PATH");
	if (o->swap_bytes && (o->swap_bytes % EPT_PAGE_SIZE || o->swap_bytes < (1 << 20)))
		return err_input("--swap-size",
				 "%llu bytes: expected a multiple of 4K, at least 1M",
				 (unsigned long long)o->swap_bytes);
	if (o->pause_at_line && !o->control)
		return err_input("--pause-at-line",
				 "needs --control PATH: only vmm resume can let the VM go on");
	if (o->wss_period_ms && !o->wss_samples)
		return err_input("--wss-samples",
				 "0: expected 1 to %u (or --wss-period 0 for none)",
				 CLI_MAX_WSS_SAMPLES);
	return 0;
}

/* A count from 1 to max, of what: 0 or -EINVAL. */
static int cli_count_of(const char *s, unsigned max, const char *what, unsigned *out)
{
	char *end;
	unsigned long v;

	/* Digits only: strtoul would take " 3", "+3" and "-1" too. */
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < 1 || v > max)
		return err_input("--count", "'%s': expected a number of %s, 1 to %u", s, what, max);
	*out = v;
	return 0;
}

static int cli_count(const char *s, unsigned *out)
{
	return cli_count_of(s, GUEST_RAM_FORK_MAX, "children", out);
}

/* fork-from's VMs: the first and its children. */
static int cli_count_vms(const char *s, unsigned *out)
{
	return cli_count_of(s, GUEST_RAM_FORK_MAX + 1, "VMs", out);
}

/* An existing directory, so that a fork does not fail on it later. */
static int cli_console_dir(const char *s, const char **out)
{
	struct stat st;

	if (!*s)
		return err_input("--console-dir", "empty path: expected a directory");
	if (stat(s, &st) < 0)
		return err_input("--console-dir", "%s: %s", s, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_input("--console-dir", "%s: not a directory", s);
	*out = s;
	return 0;
}

/* A POSIX extended regex that compiles. */
static int cli_pause_at_line(const char *s, const char **out)
{
	regex_t re;
	char why[128];
	int ret = regcomp(&re, s, REG_EXTENDED | REG_NOSUB);

	if (ret) {
		regerror(ret, &re, why, sizeof(why));
		return err_input("--pause-at-line", "'%s': not a valid extended regex: %s", s, why);
	}
	regfree(&re);
	*out = s;
	return 0;
}

/* run's and restore's options, in one table: restore refuses the ones
 * that choose a guest (cli_run_guest), run the ones of restore. */
static const struct option cli_vm_opts[] = {
    {"kernel", required_argument, NULL, 'k'},
    {"initrd", required_argument, NULL, 'I'},
    {"machine", required_argument, NULL, 'G'},
    {"mem", required_argument, NULL, 'm'},
    {"host-mem", required_argument, NULL, 'H'},
    {"memory-manager", required_argument, NULL, 'M'},
    {"fault-around", required_argument, NULL, 'f'},
    {"no-pin", no_argument, NULL, 'P'},
    {"cmdline", required_argument, NULL, 'c'},
    {"timeout", required_argument, NULL, 't'},
    {"stats-interval", required_argument, NULL, 'i'},
    {"stats-json", required_argument, NULL, 's'},
    {"control", required_argument, NULL, 'C'},
    {"swap", required_argument, NULL, 'w'},
    {"swap-size", required_argument, NULL, 'W'},
    {"swap-sync", no_argument, NULL, 'y'},
    {"swap-readahead", required_argument, NULL, 'r'},
    {"oom-protect", no_argument, NULL, 'O'},
    {"wss-period", required_argument, NULL, 'e'},
    {"wss-samples", required_argument, NULL, 'n'},
    {"lazy", no_argument, NULL, 'L'},
    {"eager", no_argument, NULL, 'E'},
    {"check-hash", no_argument, NULL, 'K'},
    {"record-ws", required_argument, NULL, 'R'},
    {"no-background", no_argument, NULL, 'b'},
    {"no-prefetch-ws", no_argument, NULL, 'x'},
    {"console-dir", required_argument, NULL, 'D'},
    {"count", required_argument, NULL, 'N'},
    {"pause-at-line", required_argument, NULL, 'A'},
    {"paused", no_argument, NULL, 'S'},
    {"fork-pool", required_argument, NULL, 'F'},
    {"help", no_argument, NULL, 'h'},
    {0},
};

/* The options that choose the guest: run's alone. -ENOENT if c is not one. */
static int cli_run_guest(int c, struct run_opts *o)
{
	switch (c) {
	case 'k':
		o->kernel = optarg;
		return 0;
	case 'I':
		return cli_path("--initrd", optarg, &o->initrd);
	case 'G':
		return machine_parse(optarg, &o->machine);
	case 'M':
		return cli_manager(optarg, &o->kernel_manager);
	case 'c':
		return cli_cmdline(optarg, &o->cmdline);
	default:
		return -ENOENT;
	}
}

/* The options of both run and restore; -ENOENT if c is not one of them. */
static int cli_run_common(int c, struct run_opts *o)
{
	switch (c) {
	case 'm':
		return cli_parse_mem(optarg, &o->mem_bytes);
	case 'H':
		return cli_host_mem(optarg, &o->host_mem_bytes);
	case 'f':
		return cli_fault_around(optarg, &o->fault_around);
	case 'P':
		o->pin = false;
		return 0;
	case 't':
		return cli_seconds("--timeout", optarg, &o->timeout_sec);
	case 'i':
		return cli_seconds("--stats-interval", optarg, &o->stats_interval);
	case 's':
		return cli_stats_json(optarg, &o->stats_json);
	case 'C':
		return cli_control(optarg, &o->control);
	case 'D':
		return cli_console_dir(optarg, &o->console_dir);
	case 'A':
		return cli_pause_at_line(optarg, &o->pause_at_line);
	case 'S':
		o->paused = true;
		return 0;
	case 'F':
		return cli_parse_uint("--fork-pool", optarg, CLI_MAX_FORK_POOL, &o->fork_pool);
	default:
		return cli_run_reclaim(c, o);
	}
}

static void cli_run_defaults(struct run_opts *o)
{
	*o = (struct run_opts){.mem_bytes = CLI_DEFAULT_MEM,
			       .machine = MACHINE_AUTO,
			       .fault_around = CLI_DEFAULT_FAULT_AROUND,
			       .pin = true,
			       .wss_period_ms = CLI_DEFAULT_WSS_MS,
			       .wss_samples = CLI_DEFAULT_WSS_SAMPLES,
			       .swap_readahead = CLI_DEFAULT_READAHEAD,
			       .fork_pool = CLI_DEFAULT_FORK_POOL};
	optind = 0;
	opterr = 0;
}

int cli_parse_run(int argc, char **argv, struct run_opts *o)
{
	int c, word, ret = 0;

	cli_run_defaults(o);
	while (!ret && (c = cli_next(argc, argv, "+:h", cli_vm_opts, &word)) != -1) {
		if (c == 'h')
			return 1;
		ret = cli_run_guest(c, o);
		if (ret == -ENOENT)
			ret = cli_run_common(c, o);
		if (ret == -ENOENT)
			return cli_bad_option("run", c, argv, word);
	}
	if (!ret && optind < argc)
		ret = cli_unknown("run", argc, argv);
	return ret ? ret : cli_run_check(o);
}

/* Milliseconds, 1 or more. */
static int cli_record_ws(const char *s, unsigned *out)
{
	int ret = cli_parse_uint("--record-ws", s, CLI_MAX_RECORD_WS_MS, out);

	if (!ret && !*out)
		ret = err_input("--record-ws", "'%s': expected 1 or more milliseconds", s);
	return ret;
}

/* A restore option, or one restore refuses with its reason; -ENOENT if c
 * is neither. mode: 'L' or 'E' once given. */
static int cli_restore_opt(int c, struct restore_opts *o, int *mode, bool fork_from)
{
	static const char *const why = "restore takes the guest from the snapshot";

	switch (c) {
	case 'L':
	case 'E':
		if (*mode && *mode != c)
			return err_input("restore", "--lazy and --eager: give one of them");
		*mode = c;
		o->eager = c == 'E';
		return 0;
	case 'K':
		o->check_hash = true;
		return 0;
	case 'R':
		return cli_record_ws(optarg, &o->record_ws_ms);
	case 'b':
		o->no_background = true;
		return 0;
	case 'x':
		o->no_prefetch_ws = true;
		return 0;
	case 'N':
		if (!fork_from)
			return err_input("--count", "not an option of restore: see fork-from");
		return cli_count_vms(optarg, &o->count);
	case 'k':
		return err_input("--kernel", "not an option of restore: %s", why);
	case 'I':
		return err_input("--initrd", "not an option of restore: %s", why);
	case 'G':
		return err_input("--machine", "not an option of restore: %s", why);
	case 'c':
		return err_input("--cmdline", "not an option of restore: %s", why);
	case 'M':
		return err_input("--memory-manager",
				 "not an option of restore: a restored VM needs the vmm memory "
				 "manager");
	case 'm':
		o->mem_given = true;
		return cli_run_common(c, &o->run);
	default:
		return cli_run_common(c, &o->run);
	}
}

/* DIR, the one positional argument, at argv[optind] (getopt stopped there). */
static int cli_restore_dir(int argc, char **argv, struct restore_opts *o)
{
	if (o->dir)
		return err_input("restore", "unexpected argument '%s': expected one DIR",
				 argv[optind]);
	if (!*argv[optind])
		return err_input("restore", "empty DIR: expected the snapshot directory");
	o->dir = argv[optind++];
	return 0;
}

/* fork-from: how many VMs, and the pages read once, before any runs. */
static int cli_fork_from_check(struct restore_opts *o, int mode)
{
	if (!o->count)
		return err_input("fork-from", "--count N is needed: how many VMs share DIR");
	if (mode == 'L')
		return err_input("--lazy",
				 "not an option of fork-from: the snapshot's pages are read once, "
				 "into frames that every VM shares");
	o->eager = true;
	return 0;
}

int cli_parse_restore(int argc, char **argv, struct restore_opts *o)
{
	bool fork_from = !strcmp(argv[0], "fork-from");
	int c, word, mode = 0, ret = 0;

	*o = (struct restore_opts){0};
	cli_run_defaults(&o->run);
	/* Options before or after DIR: getopt stops at DIR, which is taken,
	 * and goes on after it. */
	while (!ret &&
	       ((c = cli_next(argc, argv, "+:h", cli_vm_opts, &word)) != -1 || optind < argc)) {
		if (c == -1)
			ret = cli_restore_dir(argc, argv, o);
		else if (c == 'h')
			return 1;
		else if ((ret = cli_restore_opt(c, o, &mode, fork_from)) == -ENOENT)
			return cli_bad_option(argv[0], c, argv, word);
	}
	if (!ret && !o->dir)
		ret = err_input(argv[0], "missing DIR: the snapshot directory to restore");
	if (!ret && fork_from)
		ret = cli_fork_from_check(o, mode);
	if (!ret && o->eager && o->record_ws_ms)
		ret = err_input("--record-ws", "a lazy restore's option: an eager one maps every "
					       "page before the guest runs, so none tells a touch");
	return ret ? ret : cli_run_check(&o->run);
}

int cli_parse_dtb(int argc, char **argv, struct dtb_opts *o)
{
	static const struct option opts[] = {
	    {"mem", required_argument, NULL, 'm'},    {"cmdline", required_argument, NULL, 'c'},
	    {"output", required_argument, NULL, 'o'}, {"services", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},	      {0},
	};
	int c, word, ret = 0;

	*o = (struct dtb_opts){.mem_bytes = CLI_DEFAULT_MEM, .cmdline = CLI_DEFAULT_CMDLINE};
	optind = 0;
	opterr = 0;
	while (!ret && (c = cli_next(argc, argv, "+:ho:", opts, &word)) != -1) {
		switch (c) {
		case 'm':
			ret = cli_parse_mem(optarg, &o->mem_bytes);
			break;
		case 'c':
			ret = cli_cmdline(optarg, &o->cmdline);
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'S':
			o->services = true;
			break;
		case 'h':
			return 1;
		default:
			return cli_bad_option("dtb", c, argv, word);
		}
	}
	if (!ret && optind < argc)
		ret = cli_unknown("dtb", argc, argv);
	if (!ret && !o->output)
		ret = err_input("dtb", "missing -o PATH");
	return ret;
}

int cli_check_not_input(const char *opt, const char *path, const char *const *inputs)
{
	struct stat target, in;

	if (stat(path, &target) < 0)
		return 0;
	for (; inputs && *inputs; inputs++)
		if (stat(*inputs, &in) == 0 && in.st_dev == target.st_dev &&
		    in.st_ino == target.st_ino)
			return err_input(opt,
					 "%s is %s, an input of this run: expected another path "
					 "(it would be written over)",
					 path, *inputs);
	return 0;
}

void cli_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vmm run [--kernel PATH] [--initrd PATH] [--machine auto|vmm|linux]\n"
	    "               [--mem SIZE] [--host-mem SIZE]\n"
	    "               [--cmdline STR] [--memory-manager vmm|kernel] [--fault-around N]\n"
	    "               [--no-pin]\n"
	    "               [--timeout SECS] [--stats-interval SECS] [--stats-json PATH]\n"
	    "               [--control PATH] [--swap PATH [--swap-size SIZE] [--swap-sync]\n"
	    "               [--swap-readahead N]]\n"
	    "               [--oom-protect] [--wss-period MS] [--wss-samples N]\n"
	    "               [--console-dir DIR] [--paused] [--pause-at-line REGEX]\n"
	    "               [--fork-pool N]\n"
	    "       vmm restore DIR [--lazy|--eager] [--check-hash] [--mem SIZE]\n"
	    "               [--no-background] [--record-ws MS] [--no-prefetch-ws] [run's\n"
	    "               options but --kernel, --initrd, --machine, --cmdline and\n"
	    "               --memory-manager]\n"
	    "       vmm stat|pause|resume|stop --control PATH\n"
	    "       vmm snapshot --control PATH --out DIR [--hash-memory]\n"
	    "       vmm fork --control PATH [--count N]\n"
	    "       vmm fork-from DIR --count N [restore's options but --lazy]\n"
	    "       vmm dtb [--mem SIZE] [--cmdline STR] [--services] -o PATH\n"
	    "       vmm --help | --version\n"
	    "\n"
	    "run: boot a guest kernel (PVH ELF or Linux bzImage) and run it until it\n"
	    "  reports a result, powers off or stops.\n"
	    "  --kernel PATH      guest kernel (default: the built-in guest kernel); a\n"
	    "                     bzImage boots through the 64-bit Linux boot protocol\n"
	    "  --initrd PATH      an archive loaded at the top of low RAM, handed to the\n"
	    "                     kernel as its initrd (PVH module 1 and /chosen in the\n"
	    "                     tree; a bzImage's boot_params)\n"
	    "  --machine M        vmm: the project's guest kernel (hypercalls, polled\n"
	    "                     UART); linux: a stock Linux kernel (in-kernel PIC,\n"
	    "                     IOAPIC, LAPIC and PIT, kvm-clock, the UART on IRQ 4 fed\n"
	    "                     from stdin, ACPI power off); auto (default): linux for a\n"
	    "                     bzImage, vmm for an ELF (docs/linux-guest.md)\n"
	    "  --mem SIZE         guest RAM, K/M/G suffixes (default 64M, %lluM to %lluG)\n"
	    "  --host-mem SIZE    host memory budget for guest frames (default: --mem);\n"
	    "                     past it the guest stops (exit 3), or with --swap the\n"
	    "                     VMM swaps cold pages out\n"
	    "  --memory-manager M vmm: the VMM serves every second-level fault (default);\n"
	    "                     kernel: plain anonymous memory, the host kernel's path\n"
	    "  --fault-around N   at most N pages (power of two, 1 to 512) per fault (default "
	    "512)\n"
	    "  --no-pin           do not pin the vCPU and fault threads to one CPU\n"
	    "  --cmdline STR      guest command line (default \"%s\"; linux:\n"
	    "                     \"%s\"; linux gets panic=-1 unless it says panic=)\n"
	    "  --timeout SECS     stop the guest after SECS (1 or more) seconds (default: none)\n"
	    "  --stats-interval S print a statistics line on stderr every S seconds\n"
	    "  --stats-json PATH  write statistics as JSON at exit (\"-\" for stdout)\n"
	    "  --control PATH     serve a control socket there (mode 0600, removed at exit;\n"
	    "                     owned through a lock on PATH.lock)\n"
	    "  --pause-at-line RE pause the VM whenever the guest prints a console line\n"
	    "                     matching RE (POSIX extended), before it runs on; vmm\n"
	    "                     resume lets it go on (needs --control)\n"
	    "  --swap PATH        overcommit: the VMM's own swap file (created if missing,\n"
	    "                     locked; kept at exit)\n"
	    "  --swap-size SIZE   its size (default: the file's size; at least 1M)\n"
	    "  --swap-sync        synchronous swap I/O instead of io_uring\n"
	    "  --swap-readahead N at most N pages read per swap-in (or per lazy restore's\n"
	    "                     load) while they stream forward (1 to 64, default 16; 1: none)\n"
	    "  --oom-protect      out of memory, the OOM policy stops other VMs first\n"
	    "  --wss-period MS    working-set sampling period (default 1000; 0: none)\n"
	    "  --wss-samples N    pages sampled per period (default 400, at most 4096)\n"
	    "  --console-dir DIR  fork children's consoles go to DIR/vm-G.I.log (default:\n"
	    "                     this vmm's output, each line after \"[G.I] \")\n"
	    "  --paused           the VM starts paused, before its first instruction: vmm\n"
	    "                     resume starts it (needs --control)\n"
	    "  --fork-pool N      keep N KVM VMs made ahead for fork children (default 4,\n"
	    "                     at most 64; 0: none), refilled in the background; a fork\n"
	    "                     of C children takes C + 1; with --control or fork-from\n"
	    "                     only, for the vmm machine\n"
	    "restore: a new VM from the snapshot in DIR (docs/snapshot.md), run as vmm run\n"
	    "  runs one; every option of run but --kernel, --initrd, --cmdline and\n"
	    "  --memory-manager.\n"
	    "  --lazy             read each page from DIR on its first touch (default)\n"
	    "  --eager            read every page before the guest runs\n"
	    "  --check-hash       before the guest runs, check its memory against the hash\n"
	    "                     vmm snapshot --hash-memory recorded at the pause\n"
	    "  --mem SIZE         if given, must be the snapshot's size\n"
	    "  --no-background    lazy: load pages on touch only (default: a thread loads\n"
	    "                     the rest in GPA order while the guest runs)\n"
	    "  --record-ws MS     lazy: MS ms after the guest starts, write the pages it\n"
	    "                     touched to DIR/working-set; the next lazy restore of DIR\n"
	    "                     loads them first, before the guest runs\n"
	    "  --no-prefetch-ws   lazy: leave DIR/working-set unused\n"
	    "  A bad snapshot is exit 2 before KVM is opened; a bad page met by a lazy\n"
	    "  restore while the guest runs stops it (exit 3).\n"
	    "snapshot: write a snapshot of the vmm run serving --control PATH into DIR\n"
	    "  (made complete or not at all) while the guest runs: it stops only for a\n"
	    "  pause that does metadata work. Progress on stderr, a JSON summary on stdout;\n"
	    "  a request while one is written is refused. --hash-memory also hashes all of\n"
	    "  RAM inside the pause (for restore --check-hash; the pause then grows).\n"
	    "fork: fork the VM served at --control PATH into N children (1 to 64, default\n"
	    "  1) in that vmm process (docs/fork.md): each goes on from the fork point, and\n"
	    "  they share every page until one writes it. A VM is forked once. The vmm\n"
	    "  exits when its last VM stops, with its first VM's status, and prints one\n"
	    "  line per child on stderr.\n"
	    "fork-from: N VMs (1 to 65) from the snapshot in DIR, in this process: its\n"
	    "  pages are read once (as --eager does) into frames all of them share until\n"
	    "  one writes: the first as restore makes it, the others its fork children.\n"
	    "stat, pause, resume, stop: ask the vmm run serving --control PATH; stat prints\n"
	    "  the statistics as JSON, pause returns once every vCPU has stopped, stop ends\n"
	    "  the guest and its fork children (that vmm run exits 3, \"stopped by\n"
	    "  request\").\n"
	    "  Their exit status: 0 done, 1 refused by the VM (the message says why),\n"
	    "  2 bad usage, no socket at PATH or no permission, 4 the request failed on\n"
	    "  the way.\n"
	    "dtb: write the device tree a guest would get, e.g. for QEMU's -initrd;\n"
	    "  without --services it advertises no hypercalls and no fork identity port.\n"
	    "\n"
	    "A Linux guest with a terminal on stdin is an interactive console (raw mode;\n"
	    "Ctrl-a x ends it, exit 3; Ctrl-a Ctrl-a sends Ctrl-a); other input is fed to\n"
	    "it as it comes.\n"
	    "\n"
	    "exit status:\n"
	    "  0  the guest reported success, or powered off (ACPI S5)\n"
	    "  1  the guest reported failure\n"
	    "  2  bad usage or bad input (the message names the file and the problem)\n"
	    "  3  the guest crashed: triple fault, reset (a reboot, a Linux panic),\n"
	    "     unhandled exception, access outside RAM, unhandled port, or timeout\n"
	    "     (the message gives RIP, GPA or port); or it was stopped: vmm stop,\n"
	    "     SIGTERM or SIGINT (\"stopped by signal\"), Ctrl-a x on a Linux console\n"
	    "  4  internal VMM error\n",
	    CLI_MIN_MEM >> 20, GUEST_RAM_MAX_SIZE >> 30, MACHINE_VMM_CMDLINE,
	    MACHINE_LINUX_CMDLINE);
}

/* --out: snapshot's alone, and snapshot needs it; --count: fork's. */
static int cli_ctl_check(struct ctl_opts *o)
{
	bool snapshot = !strcmp(o->cmd, "snapshot"), fork = !strcmp(o->cmd, "fork");

	if (!fork && o->count)
		return err_input("--count", "applies to fork only, not %s", o->cmd);
	if (fork && !o->count)
		o->count = 1;
	if (!o->control)
		return err_input(o->cmd, "--control PATH is needed: the socket of a vmm run");
	if (snapshot && !o->out)
		return err_input("snapshot", "--out DIR is needed: where the snapshot goes");
	if (!snapshot && o->out)
		return err_input("--out", "applies to snapshot only, not %s", o->cmd);
	if (!snapshot && o->hash_memory)
		return err_input("--hash-memory", "applies to snapshot only, not %s", o->cmd);
	return 0;
}

int cli_parse_ctl(int argc, char **argv, struct ctl_opts *o)
{
	static const struct option opts[] = {
	    {"control", required_argument, NULL, 'C'}, {"out", required_argument, NULL, 'o'},
	    {"hash-memory", no_argument, NULL, 'x'},   {"count", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},	       {0},
	};
	int c, word, ret = 0;

	*o = (struct ctl_opts){.cmd = argv[0]};
	optind = 0;
	opterr = 0;
	while (!ret && (c = cli_next(argc, argv, "+:h", opts, &word)) != -1) {
		switch (c) {
		case 'C':
			ret = cli_control(optarg, &o->control);
			break;
		case 'o':
			ret = *optarg ? 0 : err_input("--out", "empty path: expected a directory");
			o->out = optarg;
			break;
		case 'x':
			o->hash_memory = true;
			break;
		case 'n':
			ret = cli_count(optarg, &o->count);
			break;
		case 'h':
			return 1;
		default:
			return cli_bad_option(argv[0], c, argv, word);
		}
	}
	if (!ret && optind < argc)
		ret = cli_unknown(argv[0], argc, argv);
	return ret ? ret : cli_ctl_check(o);
}
