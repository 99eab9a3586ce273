/* tests/check_console.c: guest console output that cannot be written is
 * reported once, and the console goes on counting lines and keeping
 * results. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "console.h"
#include "err.h"
#include "testlib.h"

static void say(struct console *c, const char *line)
{
	console_write_line(c, line, strlen(line));
}

START_TEST(console_closed_output_is_reported_once_and_the_guest_goes_on)
{
	struct console c;
	int p[2];

	signal(SIGPIPE, SIG_IGN); /* as vmm's main does */
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	console_init(&c, p[1]);
	say(&c, "BOOT");
	ck_assert_ptr_nonnull(strstr(last_error(), "guest console"));
	ck_assert_ptr_nonnull(strstr(last_error(), strerror(EPIPE)));
	ck_assert_ptr_nonnull(strstr(last_error(), "the guest goes on"));
	err_input("probe", "nothing since");
	say(&c, "RESULT pages=1");
	say(&c, "EXIT 0");
	ck_assert_str_eq(last_error(), "probe: nothing since");
	ck_assert_uint_eq(c.lines, 3);
	ck_assert_int_eq(c.nr_results, 1);
	ck_assert_str_eq(c.results[0], "pages=1");
	console_destroy(&c);
	close(p[1]);
}
END_TEST

START_TEST(console_writes_whole_lines)
{
	struct console c;
	char buf[64] = "";
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	console_init(&c, p[1]);
	say(&c, "one");
	console_putc(&c, 't');
	console_putc(&c, 'w');
	console_putc(&c, 'o');
	console_flush(&c);
	close(p[1]);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf) - 1), 8);
	ck_assert_str_eq(buf, "one\ntwo\n");
	console_destroy(&c);
	close(p[0]);
}
END_TEST

static Suite *console_suite(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("output");

	tcase_add_test(tc, console_closed_output_is_reported_once_and_the_guest_goes_on);
	tcase_add_test(tc, console_writes_whole_lines);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(console_suite());
}
