/* vmm/devices/console.c: guest console output, see console.h. */
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "histo.h"

void console_init(struct console *c, int out_fd)
{
	memset(c, 0, sizeof(*c));
	c->out_fd = out_fd;
	c->keep_cr = out_fd >= 0 && isatty(out_fd);
}

void console_destroy(struct console *c)
{
	for (int i = 0; i < c->nr_results; i++)
		free(c->results[i]);
	c->nr_results = 0;
}

static void console_keep_result(struct console *c, const char *s, size_t len)
{
	static const char tag[] = "RESULT ";

	if (len < sizeof(tag) - 1 || memcmp(s, tag, sizeof(tag) - 1) ||
	    c->nr_results == CONSOLE_MAX_RESULTS)
		return;
	c->results[c->nr_results] = strndup(s + sizeof(tag) - 1, len - (sizeof(tag) - 1));
	/* Published after it is written: the control socket's stat reads them
	 * from another thread, without a lock. */
	if (c->results[c->nr_results])
		__atomic_store_n(&c->nr_results, c->nr_results + 1, __ATOMIC_RELEASE);
}

/* The output failed (a closed pipe: vmm ignores SIGPIPE, so this is EPIPE):
 * a closed stdout must not stop the guest, so say so once and count the
 * rest of its output as lost; lines are still counted and RESULTs kept. */
static void console_write_failed(struct console *c, int errnum)
{
	err_errno(errnum, "guest console",
		  "write to fd %d: %s; the guest goes on, its output from line %lu on is counted "
		  "(console_lost_lines), not written",
		  c->out_fd, strerror(errnum), (unsigned long)c->lines);
	c->out_fd = -1;
}

/* Write all of buf: a signal or a full non-blocking pipe is no reason to
 * lose a line. 0 or an errno. */
static int console_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			poll(&(struct pollfd){.fd = fd, .events = POLLOUT}, 1, -1);
			continue;
		}
		if (n <= 0)
			return n < 0 ? errno : EIO;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Write s (len bytes), after the prefix if a line starts, and a newline
 * if end: one write. */
static void console_out(struct console *c, const char *s, size_t len, bool end)
{
	char buf[CONSOLE_PREFIX_MAX + VMM_LINE_MAX + 1];
	size_t pre = c->mid_line ? 0 : strlen(c->prefix);
	int err;

	memcpy(buf, c->prefix, pre);
	memcpy(buf + pre, s, len);
	if (end)
		buf[pre + len++] = '\n';
	c->mid_line = !end;
	err = console_write_all(c->out_fd, buf, pre + len);
	if (err) {
		console_write_failed(c, err);
		c->lost_lines++;
	}
}

/* The line, after the prefix, to out_fd; counted as lost if it cannot be. */
static void console_output(struct console *c, const char *s, size_t len)
{
	if (c->out_fd < 0) {
		c->lost_lines++;
		return;
	}
	console_out(c, s, len, true);
}

static void console_emit(struct console *c, const char *s, size_t len)
{
	if (!c->lines++)
		c->first_line_ns = histo_now_ns();
	console_keep_result(c, s, len);
	console_output(c, s, len);
	if (c->watch)
		c->watch(c->watch_arg, s, len);
}

void console_watch(struct console *c, console_watch_fn fn, void *arg)
{
	c->watch = fn;
	c->watch_arg = arg;
}

void console_write_line(struct console *c, const char *s, size_t len)
{
	if (len > VMM_LINE_MAX)
		len = VMM_LINE_MAX;
	console_flush(c);
	console_emit(c, s, len);
}

void console_putc(struct console *c, char ch)
{
	if (ch == '\r' && !c->keep_cr)
		return;
	if (ch == '\n') {
		console_emit(c, c->line, c->len);
		c->len = 0;
		return;
	}
	c->line[c->len++] = ch;
	if (c->len == VMM_LINE_MAX) {
		console_emit(c, c->line, c->len);
		c->len = 0;
	}
}

void console_flush_partial(struct console *c)
{
	/* Only a terminal's reader waits for a prompt; in a pipe or a file,
	 * shared by fork children, lines stay whole. */
	if (!c->len || c->out_fd < 0 || !c->keep_cr || c->prefix[0])
		return;
	console_out(c, c->line, c->len, false);
	c->len = 0;
}

void console_flush(struct console *c)
{
	if (c->len)
		console_emit(c, c->line, c->len);
	c->len = 0;
}

int console_save(const struct console *c, void *buf, size_t len, size_t *used)
{
	struct devstate_writer w;

	devstate_begin(&w, buf, len, CONSOLE_STATE_VERSION);
	devstate_put_u32(&w, (uint32_t)c->len);
	devstate_put_bytes(&w, c->line, c->len);
	devstate_put_u64(&w, c->lines);
	devstate_put_u32(&w, (uint32_t)c->nr_results);
	for (int i = 0; i < c->nr_results; i++) {
		size_t n = strlen(c->results[i]);

		devstate_put_u32(&w, (uint32_t)n);
		devstate_put_bytes(&w, c->results[i], n);
	}
	return devstate_end(&w, used);
}

/* The partial line: what console_putc can have left, shorter than a line
 * (a full one is emitted) and without a line end (which emits it). */
static void console_restore_line(struct devstate_reader *r, struct console *n)
{
	uint32_t len = devstate_get_u32(r, "partial line length");
	const uint8_t *p;

	if (len >= VMM_LINE_MAX) {
		devstate_fail(r, "partial line of %u bytes: expected less than %u", len,
			      VMM_LINE_MAX);
		return;
	}
	p = devstate_get_bytes(r, len, "partial line");
	if (!p)
		return;
	if (memchr(p, '\n', len)) {
		devstate_fail(r, "partial line holds a line end: expected none (it would have "
				 "ended the line)");
		return;
	}
	memcpy(n->line, p, len);
	n->len = len;
}

/* One RESULT line without its tag, as console_keep_result kept it. */
static char *console_restore_result(struct devstate_reader *r, int i)
{
	static const size_t max = VMM_LINE_MAX - (sizeof("RESULT ") - 1);
	uint32_t len = devstate_get_u32(r, "result length");
	const uint8_t *p;
	char *res;

	if (len > max) {
		devstate_fail(r, "result %d of %u bytes: expected %zu or less", i, len, max);
		return NULL;
	}
	p = devstate_get_bytes(r, len, "result");
	if (!p)
		return NULL;
	if (memchr(p, '\0', len)) {
		devstate_fail(r, "result %d holds a NUL byte: expected text", i);
		return NULL;
	}
	res = strndup((const char *)p, len);
	if (!res)
		r->ret = -ENOMEM;
	return res;
}

static void console_restore_results(struct devstate_reader *r, struct console *n)
{
	uint32_t nr = devstate_get_u32(r, "nr_results");

	if (nr > CONSOLE_MAX_RESULTS || nr > n->lines) {
		devstate_fail(r, "nr_results %u: expected at most %d and at most lines (%lu)", nr,
			      CONSOLE_MAX_RESULTS, (unsigned long)n->lines);
		return;
	}
	for (uint32_t i = 0; i < nr && !r->ret; i++) {
		n->results[i] = console_restore_result(r, (int)i);
		if (n->results[i])
			n->nr_results++;
	}
}

/* Parsed into a copy first: a refused state leaves c as it was. */
int console_restore(struct console *c, const void *buf, size_t len, char *err, size_t errlen)
{
	struct devstate_reader r;
	struct console n = {.out_fd = c->out_fd,
			    .watch = c->watch,
			    .watch_arg = c->watch_arg,
			    .lost_lines = c->lost_lines,
			    .first_line_ns = c->first_line_ns};

	devstate_open(&r, "console", CONSOLE_STATE_VERSION, buf, len, err, errlen);
	console_restore_line(&r, &n);
	n.lines = devstate_get_u64(&r, "lines");
	console_restore_results(&r, &n);
	if (devstate_close(&r)) {
		console_destroy(&n);
		return r.ret;
	}
	console_destroy(c);
	*c = n;
	return 0;
}

DEVSTATE_OPS(console_state_ops, "console", struct console, console_save, console_restore);

int console_register(struct console *c, struct devstate_table *states)
{
	return devstate_register(states, &console_state_ops, c);
}

void console_set_output(struct console *c, int out_fd, const char *prefix)
{
	c->out_fd = out_fd;
	c->keep_cr = out_fd >= 0 && isatty(out_fd);
	snprintf(c->prefix, sizeof(c->prefix), "%s", prefix ? prefix : "");
}
