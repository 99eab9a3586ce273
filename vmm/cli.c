/* vmm/cli.c: command-line parsing, see cli.h. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "boot.h"
#include "err.h"
#include "gmem.h"

int cli_parse_size(const char *opt, const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!*p)
		return err_input(opt, "empty size: expected a number with an optional K/M/G/T suffix");
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (*p - '0')) / 10)
			return err_input(opt, "size '%s' is too large", s);
		v = v * 10 + (*p - '0');
	}
	if (p == s)
		return err_input(opt, "size '%s': expected a number with an optional K/M/G/T suffix", s);
	switch (*p) {
	case 'k': case 'K': mul = 1ULL << 10; p++; break;
	case 'm': case 'M': mul = 1ULL << 20; p++; break;
	case 'g': case 'G': mul = 1ULL << 30; p++; break;
	case 't': case 'T': mul = 1ULL << 40; p++; break;
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
	if (v < CLI_MIN_MEM || v > GMEM_MAX_SIZE)
		return err_input("--mem", "%s: expected %lluM to %lluG", s, CLI_MIN_MEM >> 20,
				 GMEM_MAX_SIZE >> 30);
	if (v % GMEM_PAGE_SIZE)
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

int cli_parse_run(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "stats-json", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, ret = 0;

	*o = (struct run_opts){ .mem_bytes = CLI_DEFAULT_MEM, .cmdline = CLI_DEFAULT_CMDLINE };
	optind = 0;
	opterr = 0;
	while (!ret && (c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'k': o->kernel = optarg; break;
		case 'm': ret = cli_parse_mem(optarg, &o->mem_bytes); break;
		case 'c': ret = cli_cmdline(optarg, &o->cmdline); break;
		case 't': ret = cli_parse_uint("--timeout", optarg, CLI_MAX_TIMEOUT, &o->timeout_sec); break;
		case 's': o->stats_json = optarg; break;
		case 'h': return 1;
		default:
			return err_input("run", "unknown option or missing value: '%s'", argv[optind - 1]);
		}
	}
	if (!ret && optind < argc)
		ret = cli_unknown("run", argc, argv);
	return ret;
}

int cli_parse_dtb(int argc, char **argv, struct dtb_opts *o)
{
	static const struct option opts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "services", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, ret = 0;

	*o = (struct dtb_opts){ .mem_bytes = CLI_DEFAULT_MEM, .cmdline = CLI_DEFAULT_CMDLINE };
	optind = 0;
	opterr = 0;
	while (!ret && (c = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
		switch (c) {
		case 'm': ret = cli_parse_mem(optarg, &o->mem_bytes); break;
		case 'c': ret = cli_cmdline(optarg, &o->cmdline); break;
		case 'o': o->output = optarg; break;
		case 'S': o->services = true; break;
		case 'h': return 1;
		default:
			return err_input("dtb", "unknown option or missing value: '%s'", argv[optind - 1]);
		}
	}
	if (!ret && optind < argc)
		ret = cli_unknown("dtb", argc, argv);
	if (!ret && !o->output)
		ret = err_input("dtb", "missing -o PATH");
	return ret;
}

void cli_usage(FILE *f)
{
	fprintf(f,
		"usage: vmm run [--kernel PATH] [--mem SIZE] [--cmdline STR] [--timeout SECS]\n"
		"               [--stats-json PATH]\n"
		"       vmm dtb [--mem SIZE] [--cmdline STR] [--services] -o PATH\n"
		"       vmm --help | --version\n"
		"\n"
		"run: boot a guest kernel (PVH ELF) and run it until it reports a result.\n"
		"  --kernel PATH      guest kernel (default: the built-in guest kernel)\n"
		"  --mem SIZE         guest RAM, K/M/G suffixes (default 64M, %lluM to %lluG)\n"
		"  --cmdline STR      guest command line (default \"%s\")\n"
		"  --timeout SECS     stop the guest after SECS seconds (default: none)\n"
		"  --stats-json PATH  write statistics as JSON at exit (\"-\" for stdout)\n"
		"dtb: write the device tree a guest would get, e.g. for QEMU's -initrd;\n"
		"  without --services it advertises no hypercalls.\n"
		"\n"
		"exit status:\n"
		"  0  the guest reported success\n"
		"  1  the guest reported failure\n"
		"  2  bad usage or bad input (the message names the file and the problem)\n"
		"  3  the guest crashed: triple fault, unhandled exception, access outside RAM,\n"
		"     unhandled port, or timeout (the message gives RIP, GPA or port)\n"
		"  4  internal VMM error\n",
		CLI_MIN_MEM >> 20, GMEM_MAX_SIZE >> 30, CLI_DEFAULT_CMDLINE);
}
