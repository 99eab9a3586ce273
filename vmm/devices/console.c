/* vmm/devices/console.c: guest console output, see console.h. */
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

void console_init(struct console *c, int out_fd)
{
	memset(c, 0, sizeof(*c));
	c->out_fd = out_fd;
}

void console_destroy(struct console *c)
{
	for (int i = 0; i < c->nr_results; i++)
		free(c->results[i]);
	c->nr_results = 0;
}

static uint64_t console_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
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

static void console_emit(struct console *c, const char *s, size_t len)
{
	char buf[VMM_LINE_MAX + 1];
	int err;

	if (!c->lines++)
		c->first_line_ns = console_now_ns();
	console_keep_result(c, s, len);
	if (c->out_fd < 0) {
		c->lost_lines++;
		return;
	}
	memcpy(buf, s, len);
	buf[len] = '\n';
	err = console_write_all(c->out_fd, buf, len + 1);
	if (err) {
		console_write_failed(c, err);
		c->lost_lines++;
	}
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
	if (ch == '\r')
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

void console_flush(struct console *c)
{
	if (c->len)
		console_emit(c, c->line, c->len);
	c->len = 0;
}
