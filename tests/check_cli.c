/* tests/check_cli.c: sizes and command-line arguments are parsed exactly
 * and every bad value is refused with a message naming the option. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "guest_ram.h"
#include "testlib.h"

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))

static void assert_error_mentions(const char *words)
{
	ck_assert_msg(strstr(last_error(), words), "error \"%s\" lacks \"%s\"", last_error(),
		      words);
}

START_TEST(size_accepts_suffixes)
{
	uint64_t v;

	ck_assert_int_eq(cli_parse_size("--x", "4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(cli_parse_size("--x", "64K", &v), 0);
	ck_assert_uint_eq(v, 64 << 10);
	ck_assert_int_eq(cli_parse_size("--x", "64m", &v), 0);
	ck_assert_uint_eq(v, 64 << 20);
	ck_assert_int_eq(cli_parse_size("--x", "3G", &v), 0);
	ck_assert_uint_eq(v, 3ULL << 30);
	ck_assert_int_eq(cli_parse_size("--x", "2T", &v), 0);
	ck_assert_uint_eq(v, 2ULL << 40);
}
END_TEST

START_TEST(size_rejects_garbage)
{
	uint64_t v;
	static const char *bad[] = {"", "M", "-1", "12Q", "1.5G", "64MB", " 64M", "0x10"};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(cli_parse_size("--mem", bad[i], &v) == -EINVAL, "accepted '%s'",
			      bad[i]);
		assert_error_mentions("--mem");
	}
}
END_TEST

START_TEST(size_rejects_overflow)
{
	uint64_t v;

	ck_assert_int_eq(cli_parse_size("--mem", "99999999999999999999", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("--mem", "17179869184G", &v), -EINVAL);
	assert_error_mentions("too large");
}
END_TEST

START_TEST(mem_enforces_bounds_and_pages)
{
	uint64_t v;

	ck_assert_int_eq(cli_parse_mem("1M", &v), -EINVAL);
	assert_error_mentions("expected");
	ck_assert_int_eq(cli_parse_mem("1T", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_mem("4194305", &v), -EINVAL);
	assert_error_mentions("multiple of 4K");
	ck_assert_int_eq(cli_parse_mem("8G", &v), 0);
	ck_assert_uint_eq(v, 8ULL << 30);
}
END_TEST

START_TEST(run_defaults)
{
	struct run_opts o;

	ck_assert_int_eq(cli_parse_run(ARGC("run"), ARGV("run"), &o), 0);
	ck_assert_ptr_null(o.kernel);
	ck_assert_uint_eq(o.mem_bytes, CLI_DEFAULT_MEM);
	ck_assert_ptr_null(o.cmdline); /* the machine's default */
	ck_assert_uint_eq(o.timeout_sec, 0);
	ck_assert_ptr_null(o.stats_json);
}
END_TEST

START_TEST(run_pause_at_line_needs_control_and_a_valid_regex)
{
	struct run_opts o;

	ck_assert_int_eq(cli_parse_run(ARGC("run", "--pause-at-line", "x"),
				       ARGV("run", "--pause-at-line", "x"), &o),
			 -EINVAL);
	assert_error_mentions("--pause-at-line: needs --control");
	ck_assert_int_eq(cli_parse_run(ARGC("run", "--control", "s", "--pause-at-line", "(x"),
				       ARGV("run", "--control", "s", "--pause-at-line", "(x"), &o),
			 -EINVAL);
	assert_error_mentions("not a valid extended regex");
	ck_assert_int_eq(cli_parse_run(ARGC("run", "--control", "s", "--pause-at-line", "^PASS"),
				       ARGV("run", "--control", "s", "--pause-at-line", "^PASS"),
				       &o),
			 0);
	ck_assert_str_eq(o.pause_at_line, "^PASS");
}
END_TEST

START_TEST(run_reads_every_option)
{
	struct run_opts o;

	ck_assert_int_eq(cli_parse_run(ARGC("run", "--kernel", "k.elf", "--mem", "128M",
					    "--cmdline", "workload=random", "--timeout", "30",
					    "--stats-json", "s.json", "--initrd", "rd.cpio"),
				       ARGV("run", "--kernel", "k.elf", "--mem", "128M",
					    "--cmdline", "workload=random", "--timeout", "30",
					    "--stats-json", "s.json", "--initrd", "rd.cpio"),
				       &o),
			 0);
	ck_assert_str_eq(o.kernel, "k.elf");
	ck_assert_str_eq(o.initrd, "rd.cpio");
	ck_assert_uint_eq(o.mem_bytes, 128 << 20);
	ck_assert_str_eq(o.cmdline, "workload=random");
	ck_assert_uint_eq(o.timeout_sec, 30);
	ck_assert_str_eq(o.stats_json, "s.json");
}
END_TEST

START_TEST(run_rejects_bad_timeout)
{
	struct run_opts o;

	ck_assert_int_eq(
	    cli_parse_run(ARGC("run", "--timeout", "soon"), ARGV("run", "--timeout", "soon"), &o),
	    -EINVAL);
	assert_error_mentions("--timeout");
	ck_assert_int_eq(cli_parse_run(ARGC("run", "--timeout", "99999999999"),
				       ARGV("run", "--timeout", "99999999999"), &o),
			 -EINVAL);
}
END_TEST

START_TEST(run_rejects_unknown_option_and_stray_argument)
{
	struct run_opts o;

	ck_assert_int_eq(
	    cli_parse_run(ARGC("run", "--frobnicate"), ARGV("run", "--frobnicate"), &o), -EINVAL);
	assert_error_mentions("--frobnicate");
	ck_assert_int_eq(cli_parse_run(ARGC("run", "stray"), ARGV("run", "stray"), &o), -EINVAL);
	assert_error_mentions("stray");
	ck_assert_int_eq(cli_parse_run(ARGC("run", "--mem"), ARGV("run", "--mem"), &o), -EINVAL);
}
END_TEST

START_TEST(run_names_the_bad_short_option_not_the_subcommand)
{
	struct run_opts o;

	ck_assert_int_eq(cli_parse_run(ARGC("run", "-xy"), ARGV("run", "-xy"), &o), -EINVAL);
	assert_error_mentions("'-x'");
	assert_error_mentions("'-xy'");
	ck_assert_ptr_null(strstr(last_error(), "'run'"));
}
END_TEST

START_TEST(run_names_the_option_missing_its_value)
{
	struct run_opts o;

	ck_assert_int_eq(cli_parse_run(ARGC("run", "--mem"), ARGV("run", "--mem"), &o), -EINVAL);
	assert_error_mentions("'--mem' needs a value");
}
END_TEST

START_TEST(run_refuses_zero_timeout)
{
	struct run_opts o;

	ck_assert_int_eq(
	    cli_parse_run(ARGC("run", "--timeout", "0"), ARGV("run", "--timeout", "0"), &o),
	    -EINVAL);
	assert_error_mentions("--timeout");
	assert_error_mentions("expected 1 or more seconds");
}
END_TEST

START_TEST(run_refuses_empty_stats_json_path)
{
	struct run_opts o;

	ck_assert_int_eq(
	    cli_parse_run(ARGC("run", "--stats-json", ""), ARGV("run", "--stats-json", ""), &o),
	    -EINVAL);
	assert_error_mentions("--stats-json: empty path");
}
END_TEST

START_TEST(run_rejects_overlong_cmdline)
{
	static char big[5000];
	struct run_opts o;

	memset(big, 'a', sizeof(big) - 1);
	ck_assert_int_eq(
	    cli_parse_run(ARGC("run", "--cmdline", big), ARGV("run", "--cmdline", big), &o),
	    -EINVAL);
	assert_error_mentions("--cmdline");
}
END_TEST

START_TEST(run_help_is_not_an_error)
{
	struct run_opts o;

	ck_assert_int_eq(cli_parse_run(ARGC("run", "--help"), ARGV("run", "--help"), &o), 1);
}
END_TEST

START_TEST(run_short_help_is_not_an_error)
{
	struct run_opts o;
	struct dtb_opts d;

	ck_assert_int_eq(cli_parse_run(ARGC("run", "-h"), ARGV("run", "-h"), &o), 1);
	ck_assert_int_eq(cli_parse_dtb(ARGC("dtb", "-h"), ARGV("dtb", "-h"), &d), 1);
}
END_TEST

START_TEST(dtb_requires_output)
{
	struct dtb_opts o;

	ck_assert_int_eq(cli_parse_dtb(ARGC("dtb"), ARGV("dtb"), &o), -EINVAL);
	assert_error_mentions("-o PATH");
	ck_assert_int_eq(cli_parse_dtb(ARGC("dtb", "-o", "x.dtb", "--services"),
				       ARGV("dtb", "-o", "x.dtb", "--services"), &o),
			 0);
	ck_assert(o.services);
	ck_assert_str_eq(o.output, "x.dtb");
}
END_TEST

/* cli_parse_restore on a NULL-terminated argv. */
#define RESTORE(o, ...)                                                                            \
	cli_parse_restore(ARGC("restore", __VA_ARGS__), ARGV("restore", __VA_ARGS__), o)

START_TEST(restore_defaults_to_lazy_and_the_snapshot_size)
{
	struct restore_opts o;

	ck_assert_int_eq(RESTORE(&o, "snap0"), 0);
	ck_assert_str_eq(o.dir, "snap0");
	ck_assert(!o.eager);
	ck_assert(!o.mem_given);
	ck_assert(o.run.pin);
	ck_assert_ptr_null(o.run.control);
}
END_TEST

START_TEST(restore_reads_every_option)
{
	struct restore_opts o;

	ck_assert_int_eq(RESTORE(&o, "--eager", "--mem", "128M", "--host-mem", "64M", "--timeout",
				 "30", "--stats-json", "s.json", "--stats-interval", "2",
				 "--control", "vm.sock", "--swap", "g.swap", "--swap-size", "8M",
				 "--swap-sync", "--swap-readahead", "4", "--oom-protect",
				 "--wss-period", "100", "--wss-samples", "50", "--fault-around",
				 "16", "--no-pin", "snap0"),
			 0);
	ck_assert(o.eager);
	ck_assert(o.mem_given);
	ck_assert_uint_eq(o.run.mem_bytes, 128 << 20);
	ck_assert_uint_eq(o.run.host_mem_bytes, 64 << 20);
	ck_assert_uint_eq(o.run.timeout_sec, 30);
	ck_assert_str_eq(o.run.stats_json, "s.json");
	ck_assert_uint_eq(o.run.stats_interval, 2);
	ck_assert_str_eq(o.run.control, "vm.sock");
	ck_assert_str_eq(o.run.swap_path, "g.swap");
	ck_assert_uint_eq(o.run.swap_bytes, 8 << 20);
	ck_assert(o.run.swap_sync && o.run.oom_protect && !o.run.pin);
	ck_assert_uint_eq(o.run.swap_readahead, 4);
	ck_assert_uint_eq(o.run.wss_period_ms, 100);
	ck_assert_uint_eq(o.run.wss_samples, 50);
	ck_assert_uint_eq(o.run.fault_around, 16);
	ck_assert_str_eq(o.dir, "snap0");
}
END_TEST

START_TEST(restore_takes_dir_before_or_after_options)
{
	struct restore_opts o;

	ck_assert_int_eq(RESTORE(&o, "snap0", "--eager", "--timeout", "5"), 0);
	ck_assert_str_eq(o.dir, "snap0");
	ck_assert(o.eager);
	ck_assert_uint_eq(o.run.timeout_sec, 5);
	ck_assert_int_eq(RESTORE(&o, "--lazy", "snap1"), 0);
	ck_assert_str_eq(o.dir, "snap1");
	ck_assert(!o.eager);
	ck_assert_int_eq(RESTORE(&o, "--lazy", "--lazy", "snap1"), 0);
}
END_TEST

START_TEST(restore_refuses_lazy_with_eager)
{
	struct restore_opts o;

	ck_assert_int_eq(RESTORE(&o, "--lazy", "--eager", "snap0"), -EINVAL);
	assert_error_mentions("--lazy and --eager");
	ck_assert_int_eq(RESTORE(&o, "snap0", "--eager", "--lazy"), -EINVAL);
	assert_error_mentions("--lazy and --eager");
}
END_TEST

START_TEST(restore_refuses_the_options_that_choose_a_guest)
{
	struct restore_opts o;

	ck_assert_int_eq(RESTORE(&o, "--kernel", "k.elf", "snap0"), -EINVAL);
	assert_error_mentions("--kernel: not an option of restore");
	ck_assert_int_eq(RESTORE(&o, "--initrd", "rd.cpio", "snap0"), -EINVAL);
	assert_error_mentions("--initrd: not an option of restore");
	ck_assert_int_eq(RESTORE(&o, "snap0", "--cmdline", "workload=touch"), -EINVAL);
	assert_error_mentions("--cmdline: not an option of restore");
	ck_assert_int_eq(RESTORE(&o, "--memory-manager=vmm", "snap0"), -EINVAL);
	assert_error_mentions("--memory-manager");
	assert_error_mentions("vmm memory manager");
}
END_TEST

START_TEST(restore_needs_exactly_one_dir)
{
	struct restore_opts o;

	ck_assert_int_eq(RESTORE(&o, "--eager"), -EINVAL);
	assert_error_mentions("missing DIR");
	ck_assert_int_eq(cli_parse_restore(ARGC("restore"), ARGV("restore"), &o), -EINVAL);
	assert_error_mentions("missing DIR");
	ck_assert_int_eq(RESTORE(&o, "snap0", "snap1"), -EINVAL);
	assert_error_mentions("unexpected argument 'snap1'");
	ck_assert_int_eq(RESTORE(&o, ""), -EINVAL);
	assert_error_mentions("empty DIR");
}
END_TEST

START_TEST(restore_checks_values_as_run_does)
{
	struct restore_opts o;

	ck_assert_int_eq(RESTORE(&o, "snap0", "--mem", "1M"), -EINVAL);
	assert_error_mentions("--mem");
	ck_assert_int_eq(RESTORE(&o, "snap0", "--timeout", "0"), -EINVAL);
	assert_error_mentions("--timeout");
	ck_assert_int_eq(RESTORE(&o, "snap0", "--swap-sync"), -EINVAL);
	assert_error_mentions("--swap-sync: needs --swap PATH");
	ck_assert_int_eq(RESTORE(&o, "snap0", "--frobnicate"), -EINVAL);
	assert_error_mentions("'--frobnicate'");
	ck_assert_int_eq(RESTORE(&o, "snap0", "--mem"), -EINVAL);
	assert_error_mentions("'--mem' needs a value");
	ck_assert_int_eq(RESTORE(&o, "-h"), 1);
	ck_assert_int_eq(RESTORE(&o, "snap0", "--help"), 1);
}
END_TEST

START_TEST(run_refuses_restore_options)
{
	struct run_opts o;

	ck_assert_int_eq(cli_parse_run(ARGC("run", "--lazy"), ARGV("run", "--lazy"), &o), -EINVAL);
	assert_error_mentions("'--lazy'");
	ck_assert_int_eq(cli_parse_run(ARGC("run", "--eager"), ARGV("run", "--eager"), &o),
			 -EINVAL);
	assert_error_mentions("'--eager'");
}
END_TEST

START_TEST(snapshot_needs_control_and_out)
{
	struct ctl_opts o;

	ck_assert_int_eq(cli_parse_ctl(ARGC("snapshot", "--control", "vm.sock", "--out", "snap0"),
				       ARGV("snapshot", "--control", "vm.sock", "--out", "snap0"),
				       &o),
			 0);
	ck_assert_str_eq(o.cmd, "snapshot");
	ck_assert_str_eq(o.control, "vm.sock");
	ck_assert_str_eq(o.out, "snap0");
	ck_assert_int_eq(cli_parse_ctl(ARGC("snapshot", "--control", "vm.sock"),
				       ARGV("snapshot", "--control", "vm.sock"), &o),
			 -EINVAL);
	assert_error_mentions("--out DIR is needed");
	ck_assert_int_eq(cli_parse_ctl(ARGC("snapshot", "--out", "snap0"),
				       ARGV("snapshot", "--out", "snap0"), &o),
			 -EINVAL);
	assert_error_mentions("--control PATH is needed");
	ck_assert_int_eq(cli_parse_ctl(ARGC("snapshot", "--control", "vm.sock", "--out", ""),
				       ARGV("snapshot", "--control", "vm.sock", "--out", ""), &o),
			 -EINVAL);
	assert_error_mentions("--out: empty path");
	ck_assert_int_eq(cli_parse_ctl(ARGC("snapshot", "--control", "s", "--out", "d", "x"),
				       ARGV("snapshot", "--control", "s", "--out", "d", "x"), &o),
			 -EINVAL);
	assert_error_mentions("'x'");
}
END_TEST

START_TEST(ctl_commands_refuse_out)
{
	static char *cmds[] = {"stat", "pause", "resume", "stop"};
	struct ctl_opts o;

	for (unsigned i = 0; i < 4; i++) {
		ck_assert_int_eq(cli_parse_ctl(ARGC(cmds[i], "--control", "s", "--out", "d"),
					       ARGV(cmds[i], "--control", "s", "--out", "d"), &o),
				 -EINVAL);
		assert_error_mentions("--out: applies to snapshot only");
		ck_assert_int_eq(cli_parse_ctl(ARGC(cmds[i], "--control", "s"),
					       ARGV(cmds[i], "--control", "s"), &o),
				 0);
		ck_assert_ptr_null(o.out);
	}
}
END_TEST

#define CTL(o, ...) cli_parse_ctl(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), o)

START_TEST(fork_counts_children_and_is_alone_in_taking_count)
{
	struct ctl_opts o;

	ck_assert_int_eq(CTL(&o, "fork", "--control", "s"), 0);
	ck_assert_uint_eq(o.count, 1);
	ck_assert_int_eq(CTL(&o, "fork", "--control", "s", "--count", "64"), 0);
	ck_assert_uint_eq(o.count, 64);
	ck_assert_int_eq(CTL(&o, "fork", "--control", "s", "--count", "0"), -EINVAL);
	assert_error_mentions("expected a number of children, 1 to 64");
	ck_assert_int_eq(CTL(&o, "fork", "--control", "s", "--count", "65"), -EINVAL);
	ck_assert_int_eq(CTL(&o, "fork", "--control", "s", "--count", "2x"), -EINVAL);
	ck_assert_int_eq(CTL(&o, "fork", "--control", "s", "--count", "-1"), -EINVAL);
	ck_assert_int_eq(CTL(&o, "stat", "--control", "s", "--count", "2"), -EINVAL);
	assert_error_mentions("--count: applies to fork only");
	ck_assert_int_eq(CTL(&o, "stat", "--control", "s"), 0);
	ck_assert_uint_eq(o.count, 0);
}
END_TEST

#define FORK_FROM(o, ...)                                                                          \
	cli_parse_restore(ARGC("fork-from", __VA_ARGS__), ARGV("fork-from", __VA_ARGS__), o)

START_TEST(fork_from_needs_a_count_and_reads_eagerly)
{
	struct restore_opts o;

	ck_assert_int_eq(FORK_FROM(&o, "snap0", "--count", "8"), 0);
	ck_assert_uint_eq(o.count, 8);
	ck_assert(o.eager);
	ck_assert_int_eq(FORK_FROM(&o, "snap0", "--count", "65"), 0);
	ck_assert_int_eq(FORK_FROM(&o, "snap0", "--count", "66"), -EINVAL);
	ck_assert_int_eq(FORK_FROM(&o, "snap0"), -EINVAL);
	assert_error_mentions("--count N is needed");
	ck_assert_int_eq(FORK_FROM(&o, "snap0", "--count", "2", "--lazy"), -EINVAL);
	assert_error_mentions("read once");
	ck_assert_int_eq(RESTORE(&o, "snap0", "--count", "2"), -EINVAL);
	assert_error_mentions("not an option of restore");
}
END_TEST

#define RUN_WITH(o, ...) cli_parse_run(ARGC("run", __VA_ARGS__), ARGV("run", __VA_ARGS__), o)

START_TEST(count_is_digits_only)
{
	struct ctl_opts o;
	struct restore_opts r;

	ck_assert_int_eq(CTL(&o, "fork", "--control", "s", "--count", " 3"), -EINVAL);
	assert_error_mentions("' 3': expected a number of children");
	ck_assert_int_eq(CTL(&o, "fork", "--control", "s", "--count", "+3"), -EINVAL);
	ck_assert_int_eq(CTL(&o, "fork", "--control", "s", "--count", "3 "), -EINVAL);
	ck_assert_int_eq(CTL(&o, "fork", "--control", "s", "--count", ""), -EINVAL);
	ck_assert_int_eq(FORK_FROM(&r, "snap0", "--count", "\t2"), -EINVAL);
	ck_assert_int_eq(CTL(&o, "fork", "--control", "s", "--count", "03"), 0);
	ck_assert_uint_eq(o.count, 3);
}
END_TEST

START_TEST(paused_needs_control)
{
	struct run_opts o;
	struct restore_opts r;

	ck_assert_int_eq(RUN_WITH(&o, "--paused", "--control", "s"), 0);
	ck_assert(o.paused);
	ck_assert_int_eq(RUN_WITH(&o, "--paused"), -EINVAL);
	assert_error_mentions("--paused: needs --control PATH");
	ck_assert_int_eq(FORK_FROM(&r, "snap0", "--count", "2", "--paused", "--control", "s"), 0);
	ck_assert(r.run.paused);
}
END_TEST

START_TEST(console_dir_must_be_a_directory)
{
	struct run_opts o;

	ck_assert_int_eq(RUN_WITH(&o, "--console-dir", "/"), 0);
	ck_assert_str_eq(o.console_dir, "/");
	ck_assert_int_eq(RUN_WITH(&o, "--console-dir", "/nonexistent-dir"), -EINVAL);
	assert_error_mentions("--console-dir: /nonexistent-dir");
	ck_assert_int_eq(RUN_WITH(&o, "--console-dir", "/dev/null"), -EINVAL);
	assert_error_mentions("not a directory");
}
END_TEST

START_TEST(layout_splits_at_low_ram_end)
{
	struct guest_ram_region r[GUEST_RAM_MAX_REGIONS];

	ck_assert_int_eq(guest_ram_layout(64 << 20, r), 1);
	ck_assert_uint_eq(r[0].size, 64 << 20);
	ck_assert_int_eq(guest_ram_layout(4ULL << 30, r), 2);
	ck_assert_uint_eq(r[0].size + r[1].size, 4ULL << 30);
	ck_assert_uint_eq(r[1].gpa, 4ULL << 30);
}
END_TEST

static void guest_ram_kernel(struct guest_ram *m, uint64_t size)
{
	struct guest_ram_params p = {.size = size, .manager = GUEST_RAM_MANAGER_KERNEL};

	ck_assert_int_eq(guest_ram_init(m, &p), 0);
}

START_TEST(guest_ram_refuses_ranges_outside_ram)
{
	struct guest_ram m;
	uint8_t b[2];

	guest_ram_kernel(&m, 8 << 20);
	ck_assert(guest_ram_contains(&m, 0, 8 << 20));
	ck_assert_int_eq(guest_ram_read(&m, (8 << 20) - 1, b, 1), 0);
	ck_assert_int_eq(guest_ram_read(&m, (8 << 20) - 1, b, 2), -EFAULT);
	ck_assert_int_eq(guest_ram_write(&m, 8 << 20, b, 1), -EFAULT);
	ck_assert(!guest_ram_contains(&m, UINT64_MAX, 2));
	ck_assert(!guest_ram_contains(&m, 4096, UINT64_MAX));
	guest_ram_destroy(&m);
}
END_TEST

START_TEST(guest_ram_discard_returns_zeros)
{
	static uint8_t page[4096];
	struct guest_ram m;

	guest_ram_kernel(&m, 8 << 20);
	memset(page, 0xa5, sizeof(page));
	ck_assert_int_eq(guest_ram_write(&m, 0x200000, page, sizeof(page)), 0);
	ck_assert_int_eq(guest_ram_discard(&m, 0x200000, 4096), 0);
	ck_assert_int_eq(guest_ram_read(&m, 0x200000, page, sizeof(page)), 0);
	for (int i = 0; i < 4096; i++)
		ck_assert_int_eq(page[i], 0);
	ck_assert_int_eq(guest_ram_discard(&m, 0x200001, 4096), -EINVAL);
	ck_assert_int_eq(guest_ram_discard(&m, 8 << 20, 4096), -EFAULT);
	guest_ram_destroy(&m);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, size_accepts_suffixes);
	tcase_add_test(tc, size_rejects_garbage);
	tcase_add_test(tc, size_rejects_overflow);
	tcase_add_test(tc, mem_enforces_bounds_and_pages);
	tcase_add_test(tc, run_defaults);
	tcase_add_test(tc, run_pause_at_line_needs_control_and_a_valid_regex);
	tcase_add_test(tc, run_reads_every_option);
	tcase_add_test(tc, run_rejects_bad_timeout);
	tcase_add_test(tc, run_rejects_unknown_option_and_stray_argument);
	tcase_add_test(tc, run_names_the_bad_short_option_not_the_subcommand);
	tcase_add_test(tc, run_names_the_option_missing_its_value);
	tcase_add_test(tc, run_refuses_zero_timeout);
	tcase_add_test(tc, run_refuses_empty_stats_json_path);
	tcase_add_test(tc, run_rejects_overlong_cmdline);
	tcase_add_test(tc, run_help_is_not_an_error);
	tcase_add_test(tc, run_short_help_is_not_an_error);
	tcase_add_test(tc, dtb_requires_output);
	tcase_add_test(tc, restore_defaults_to_lazy_and_the_snapshot_size);
	tcase_add_test(tc, restore_reads_every_option);
	tcase_add_test(tc, restore_takes_dir_before_or_after_options);
	tcase_add_test(tc, restore_refuses_lazy_with_eager);
	tcase_add_test(tc, restore_refuses_the_options_that_choose_a_guest);
	tcase_add_test(tc, restore_needs_exactly_one_dir);
	tcase_add_test(tc, restore_checks_values_as_run_does);
	tcase_add_test(tc, run_refuses_restore_options);
	tcase_add_test(tc, snapshot_needs_control_and_out);
	tcase_add_test(tc, ctl_commands_refuse_out);
	tcase_add_test(tc, fork_counts_children_and_is_alone_in_taking_count);
	tcase_add_test(tc, fork_from_needs_a_count_and_reads_eagerly);
	tcase_add_test(tc, console_dir_must_be_a_directory);
	tcase_add_test(tc, count_is_digits_only);
	tcase_add_test(tc, paused_needs_control);
	tcase_add_test(tc, layout_splits_at_low_ram_end);
	tcase_add_test(tc, guest_ram_refuses_ranges_outside_ram);
	tcase_add_test(tc, guest_ram_discard_returns_zeros);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(cli_suite());
}
