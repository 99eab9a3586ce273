/* tests/check_console.c: guest console output leaves as whole lines, every
 * line, whatever signals and slow readers do to the writes; output that
 * cannot be written is reported once and counted, and the console goes on
 * counting lines and keeping results. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
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

#define LINES 500

static void on_tick(int sig)
{
	(void)sig; /* only here to interrupt the writer's blocked write() */
}

/* A slow reader: the pipe fills, so the writer blocks and the ticks land. */
static void *slow_reader(void *arg)
{
	int fd = *(int *)arg;
	char buf[512];
	long lines = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
		usleep(200);
	}
	return (void *)lines;
}

START_TEST(console_loses_no_line_to_interrupted_writes)
{
	struct sigaction sa = {.sa_handler = on_tick}; /* no SA_RESTART: writes see EINTR */
	struct itimerval it = {{0, 1000}, {0, 1000}};
	struct console c;
	char line[200];
	pthread_t reader;
	void *got;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(pthread_create(&reader, NULL, slow_reader, &p[0]), 0);
	console_init(&c, p[1]);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	memset(line, 'x', sizeof(line));
	for (int i = 0; i < LINES; i++)
		console_write_line(&c, line, sizeof(line));
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	close(p[1]);
	pthread_join(reader, &got);
	close(p[0]);
	ck_assert_int_eq((long)got, LINES);
	ck_assert_uint_eq(c.lost_lines, 0);
	console_destroy(&c);
}
END_TEST

/* Output nobody reads is counted as lost, not silently dropped. */
START_TEST(console_counts_lines_it_cannot_write)
{
	struct console c;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	console_init(&c, p[1]);
	console_write_line(&c, "one", 3);
	console_write_line(&c, "two", 3);
	ck_assert_uint_eq(c.lines, 2);
	ck_assert_uint_eq(c.lost_lines, 2);
	console_destroy(&c);
	close(p[1]);
}
END_TEST

static Suite *console_suite(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("output");

	tcase_add_test(tc, console_closed_output_is_reported_once_and_the_guest_goes_on);
	tcase_add_test(tc, console_writes_whole_lines);
	tcase_add_test(tc, console_loses_no_line_to_interrupted_writes);
	tcase_add_test(tc, console_counts_lines_it_cannot_write);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(console_suite());
}
