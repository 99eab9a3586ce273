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
#include "vmm_abi.h"

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

/* A console the guest has used: two lines, one a RESULT, and half a line. */
static size_t console_state_fixture(struct console *c, int out_fd, uint8_t *st, size_t len)
{
	size_t used;

	console_init(c, out_fd);
	say(c, "BOOT");
	say(c, "RESULT pages=7 ok=1");
	for (const char *p = "par"; *p; p++)
		console_putc(c, *p);
	ck_assert_int_eq(console_save(c, st, len, &used), 0);
	return used;
}

START_TEST(console_state_round_trip_ends_the_partial_line_and_keeps_counts)
{
	struct console a, b;
	uint8_t st[256], again[256];
	char out[64] = "", err[128];
	size_t len, len2;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	len = console_state_fixture(&a, -1, st, sizeof(st));
	console_init(&b, p[1]);
	ck_assert_int_eq(console_restore(&b, st, len, err, sizeof(err)), 0);
	ck_assert_int_eq(console_save(&b, again, sizeof(again), &len2), 0);
	ck_assert_uint_eq(len2, len);
	ck_assert_mem_eq(again, st, len);
	ck_assert_uint_eq(b.lines, 2);
	ck_assert_int_eq(b.nr_results, 1);
	ck_assert_str_eq(b.results[0], "pages=7 ok=1");
	ck_assert_int_eq(b.out_fd, p[1]); /* the restoring VM's output */
	for (const char *q = "tial\n"; *q; q++)
		console_putc(&b, *q);
	ck_assert_int_eq(read(p[0], out, sizeof(out) - 1), 8);
	ck_assert_str_eq(out, "partial\n");
	ck_assert_uint_eq(b.lines, 3);
	console_destroy(&a);
	console_destroy(&b);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(console_save_says_how_much_room_it_needs)
{
	struct console c;
	uint8_t st[256];
	size_t len, used;

	len = console_state_fixture(&c, -1, st, sizeof(st));
	ck_assert_int_eq(console_save(&c, st, len - 1, &used), -ENOSPC);
	ck_assert_uint_eq(used, len);
	console_destroy(&c);
}
END_TEST

/* st refused with words, and the console it was restored into unchanged. */
static void console_assert_refused(const uint8_t *st, size_t len, const char *words)
{
	struct console c;
	char err[200] = "";

	console_init(&c, -1);
	say(&c, "RESULT before=1");
	console_putc(&c, 'x');
	ck_assert_int_eq(console_restore(&c, st, len, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "console state: ") == err, "message: %s", err);
	ck_assert_msg(strstr(err, words), "message '%s' lacks '%s'", err, words);
	ck_assert_uint_eq(c.lines, 1);
	ck_assert_int_eq(c.nr_results, 1);
	ck_assert_str_eq(c.results[0], "before=1");
	ck_assert_uint_eq(c.len, 1);
	console_destroy(&c);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Offsets in the fixture's state: the header, u32 3 "par", u64 lines 2,
 * u32 nr_results 1, u32 12 "pages=7 ok=1". */
#define ST_LINE_LEN 8
#define ST_LINE	    12
#define ST_LINES    15
#define ST_NR	    23
#define ST_RES0_LEN 27
#define ST_RES0	    31

START_TEST(console_restore_refuses_a_short_state)
{
	struct console c;
	uint8_t st[256];
	size_t len = console_state_fixture(&c, -1, st, sizeof(st));

	for (size_t n = 0; n < len; n++) {
		uint8_t cut[256];

		memcpy(cut, st, n);
		if (n >= DEVSTATE_HEADER) /* a header that agrees: the fields run short */
			put_le32(cut + 4, (uint32_t)(n - DEVSTATE_HEADER));
		console_assert_refused(cut, n, "left of");
	}
	console_destroy(&c);
}
END_TEST

START_TEST(console_restore_refuses_another_version)
{
	struct console c;
	uint8_t st[256];
	size_t len = console_state_fixture(&c, -1, st, sizeof(st));

	put_le32(st, CONSOLE_STATE_VERSION + 1);
	console_assert_refused(st, len, "version 2: expected 1");
	console_destroy(&c);
}
END_TEST

START_TEST(console_restore_refuses_a_line_no_console_could_hold)
{
	struct console c;
	uint8_t st[256], bad[256];
	size_t len = console_state_fixture(&c, -1, st, sizeof(st));

	memcpy(bad, st, len);
	bad[ST_LINE + 1] = '\n';
	console_assert_refused(bad, len, "line end");
	memcpy(bad, st, len);
	put_le32(bad + ST_LINE_LEN, VMM_LINE_MAX);
	console_assert_refused(bad, len, "partial line of 4096 bytes");
	console_destroy(&c);
}
END_TEST

START_TEST(console_restore_refuses_impossible_results)
{
	struct console c;
	uint8_t st[256], bad[256];
	size_t len = console_state_fixture(&c, -1, st, sizeof(st));

	memcpy(bad, st, len);
	put_le32(bad + ST_NR, CONSOLE_MAX_RESULTS + 1);
	console_assert_refused(bad, len, "nr_results 33");
	memcpy(bad, st, len);
	bad[ST_LINES] = 0; /* a result, but no line printed */
	console_assert_refused(bad, len, "nr_results 1");
	memcpy(bad, st, len);
	bad[ST_RES0 + 3] = '\0';
	console_assert_refused(bad, len, "NUL");
	memcpy(bad, st, len);
	put_le32(bad + ST_RES0_LEN, VMM_LINE_MAX);
	console_assert_refused(bad, len, "result 0 of 4096 bytes");
	console_destroy(&c);
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
	tc = tcase_create("state");
	tcase_add_test(tc, console_state_round_trip_ends_the_partial_line_and_keeps_counts);
	tcase_add_test(tc, console_save_says_how_much_room_it_needs);
	tcase_add_test(tc, console_restore_refuses_a_short_state);
	tcase_add_test(tc, console_restore_refuses_another_version);
	tcase_add_test(tc, console_restore_refuses_a_line_no_console_could_hold);
	tcase_add_test(tc, console_restore_refuses_impossible_results);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(console_suite());
}
