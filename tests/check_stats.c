/* tests/check_stats.c: the --stats-json report is valid JSON whatever the
 * guest printed, keeps what it said, and tells the truth after a set-up
 * failure. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "stats.h"
#include "testlib.h"
#include "vm.h"

static struct vm vm;

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.kvm.fd = vm.fd = vm.stats_fd = vm.vcpu.fd = vm.vcpu.stats_fd = -1;
	console_init(&vm.con, open("/dev/null", O_WRONLY | O_CLOEXEC));
	vm.stats.start_ns = 1000;
	vm.stats.end_ns = 5000;
	strcpy(vm.reason, "guest reported success");
}

static void teardown(void)
{
	close(vm.con.out_fd);
	console_destroy(&vm.con);
}

static void guest_says(const char *line)
{
	console_write_line(&vm.con, line, strlen(line));
}

/* The report of vm, parsed back: fails the test unless it is valid JSON. */
static json_t *report(enum guest_ram_manager manager)
{
	char *text = NULL;
	size_t len = 0;
	struct stats_file sf = {.path = "memstream", .f = open_memstream(&text, &len)};
	json_error_t e;
	json_t *j;

	ck_assert_ptr_nonnull(sf.f);
	ck_assert_int_eq(stats_write_json(&vm, manager, &sf), 0);
	j = json_loadb(text, len, 0, &e);
	ck_assert_msg(j, "invalid JSON at line %d: %s\n%s", e.line, e.text, text);
	free(text);
	return j;
}

/* The first RESULT line's object. */
static json_t *result(json_t *r)
{
	json_t *o = json_array_get(json_object_get(json_object_get(r, "guest"), "results"), 0);

	ck_assert_ptr_nonnull(o);
	return o;
}

START_TEST(stats_result_integers_are_json_integers)
{
	json_t *r, *o;

	guest_says("RESULT workload=touch pages=512 delta=-3 zero=0");
	r = report(GUEST_RAM_MANAGER_VMM);
	o = result(r);
	ck_assert_str_eq(json_string_value(json_object_get(o, "workload")), "touch");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "pages")), 512);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "delta")), -3);
	ck_assert(json_is_integer(json_object_get(o, "zero")));
	json_decref(r);
}
END_TEST

START_TEST(stats_result_value_not_a_plain_integer_is_a_string)
{
	static const char *const values[] = {
	    "007", "12abc", "1.5", "-0", "-", "99999999999999999999", "9223372036854775808"};
	json_t *r, *o;

	guest_says("RESULT pages=007 x=12abc f=1.5 z=-0 m=- big=99999999999999999999 "
		   "over=9223372036854775808");
	r = report(GUEST_RAM_MANAGER_VMM);
	o = result(r);
	ck_assert_str_eq(json_string_value(json_object_get(o, "pages")), values[0]);
	ck_assert_str_eq(json_string_value(json_object_get(o, "x")), values[1]);
	ck_assert_str_eq(json_string_value(json_object_get(o, "f")), values[2]);
	ck_assert_str_eq(json_string_value(json_object_get(o, "z")), values[3]);
	ck_assert_str_eq(json_string_value(json_object_get(o, "m")), values[4]);
	ck_assert_str_eq(json_string_value(json_object_get(o, "big")), values[5]);
	ck_assert_str_eq(json_string_value(json_object_get(o, "over")), values[6]);
	json_decref(r);
}
END_TEST

START_TEST(stats_bytes_that_are_not_utf8_read_as_latin1)
{
	json_t *r;

	guest_says("RESULT name=caf\xe9");
	strcpy(vm.reason, "kernel /tmp/k\xff.elf");
	r = report(GUEST_RAM_MANAGER_VMM);
	ck_assert_str_eq(json_string_value(json_object_get(result(r), "name")), "caf\xc3\xa9");
	ck_assert_str_eq(json_string_value(json_object_get(r, "reason")),
			 "kernel /tmp/k\xc3\xbf.elf");
	json_decref(r);
}
END_TEST

/* Random RESULT lines (quotes, backslashes, control bytes, '=', bytes
 * past 0x7f) must never make invalid JSON. Seed from STATS_FUZZ_SEED. */
START_TEST(stats_report_is_valid_json_whatever_the_guest_prints)
{
	static const char alphabet[] = "00119====    --ab\"\\\t\x01\x7f\x80\xc3\xa9\xff";
	const char *env = getenv("STATS_FUZZ_SEED");
	unsigned seed = env ? strtoul(env, NULL, 0) : 4242;

	fprintf(stderr,
		"stats_report_is_valid_json_whatever_the_guest_prints: seed %u "
		"(STATS_FUZZ_SEED)\n",
		seed);
	srandom(seed);
	for (int i = 0; i < 300; i++) {
		char line[80] = "RESULT ";

		for (size_t k = 7; k < sizeof(line) - 1; k++)
			line[k] = alphabet[random() % (sizeof(alphabet) - 1)];
		line[7 + random() % (sizeof(line) - 8)] = '\0';
		guest_says(line);
		json_decref(report(GUEST_RAM_MANAGER_VMM));
		console_destroy(&vm.con);
	}
}
END_TEST

/* What main reports when vm_create fails before guest memory is set up. */
START_TEST(stats_report_after_set_up_failure_names_manager_and_sane_wall_time)
{
	struct vm_config cfg = {.kernel = "/nonexistent/kernel.elf",
				.mem_bytes = 64 << 20,
				.manager = GUEST_RAM_MANAGER_KERNEL,
				.cmdline = "",
				.console_fd = vm.con.out_fd};
	json_t *r, *v;
	int fd = vm.con.out_fd;

	ck_assert_int_eq(vm_create(&vm, &cfg), VMM_STATUS_USAGE);
	vm.status = VMM_STATUS_USAGE;
	r = report(GUEST_RAM_MANAGER_KERNEL);
	v = json_object_get(r, "vmm");
	ck_assert_str_eq(json_string_value(json_object_get(v, "memory_manager")), "kernel");
	ck_assert_int_ge(json_integer_value(json_object_get(v, "wall_ns")), 0);
	ck_assert_int_lt(json_integer_value(json_object_get(v, "wall_ns")), 3600000000000LL);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "status")), VMM_STATUS_USAGE);
	json_decref(r);
	vm_destroy(&vm);
	vm.con.out_fd = fd;
}
END_TEST

/* A file in a fresh directory, holding text (NULL: not created). */
static char *scratch(char *dir, const char *name, const char *text)
{
	char *path;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
	if (text) {
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fputs(text, f);
		ck_assert_int_eq(fclose(f), 0);
	}
	return path;
}

static bool file_is(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	return n == strlen(text) && !memcmp(buf, text, n);
}

static int entries(const char *dir)
{
	char cmd[300];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

START_TEST(stats_open_refuses_an_input_of_the_run)
{
	char dir[] = "/tmp/check_stats.XXXXXX", *link;
	char *kernel = scratch(dir, "k.elf", "ELF");
	const char *inputs[] = {kernel, NULL};
	struct stats_file sf;

	ck_assert_int_eq(stats_open(&sf, kernel, inputs), -EINVAL);
	ck_assert_ptr_nonnull(strstr(last_error(), "an input of this run"));
	ck_assert_int_ge(asprintf(&link, "%s/link.json", dir), 0);
	ck_assert_int_eq(symlink("k.elf", link), 0);
	ck_assert_int_eq(stats_open(&sf, link, inputs), -EINVAL);
	ck_assert(file_is(kernel, "ELF"));
	ck_assert_int_eq(entries(dir), 2);
	unlink(link);
	unlink(kernel);
	rmdir(dir);
	free(link);
	free(kernel);
}
END_TEST

START_TEST(stats_report_replaces_the_target_only_when_complete)
{
	char dir[] = "/tmp/check_stats.XXXXXX";
	char *path = scratch(dir, "s.json", "old");
	const char *inputs[] = {"/nonexistent/kernel.elf", NULL};
	struct stats_file sf;
	json_t *r;

	ck_assert_int_eq(stats_open(&sf, path, inputs), 0);
	ck_assert(file_is(path, "old"));
	ck_assert_int_eq(entries(dir), 2); /* the target and the temporary file */
	ck_assert_int_eq(stats_write_json(&vm, GUEST_RAM_MANAGER_VMM, &sf), 0);
	ck_assert_ptr_nonnull(r = json_load_file(path, 0, NULL));
	ck_assert_int_eq(entries(dir), 1);
	json_decref(r);
	unlink(path);
	rmdir(dir);
	free(path);
}
END_TEST

START_TEST(stats_abandoned_report_leaves_target_and_no_temporary)
{
	char dir[] = "/tmp/check_stats.XXXXXX";
	char *path = scratch(dir, "new.json", NULL);
	struct stats_file sf;

	ck_assert_int_eq(stats_open(&sf, path, NULL), 0);
	stats_abandon(&sf);
	ck_assert_int_eq(entries(dir), 0);
	ck_assert_int_eq(stats_open(&sf, dir, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(last_error(), "is a directory"));
	rmdir(dir);
	free(path);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("json");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stats_result_integers_are_json_integers);
	tcase_add_test(tc, stats_result_value_not_a_plain_integer_is_a_string);
	tcase_add_test(tc, stats_bytes_that_are_not_utf8_read_as_latin1);
	tcase_add_test(tc, stats_report_is_valid_json_whatever_the_guest_prints);
	tcase_add_test(tc, stats_report_after_set_up_failure_names_manager_and_sane_wall_time);
	tcase_add_test(tc, stats_open_refuses_an_input_of_the_run);
	tcase_add_test(tc, stats_report_replaces_the_target_only_when_complete);
	tcase_add_test(tc, stats_abandoned_report_leaves_target_and_no_temporary);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(stats_suite());
}
