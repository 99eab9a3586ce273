/* vmm/devices/conin.c: the console's input, see conin.h. */
#include "conin.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "err.h"

/* The terminal's settings before raw mode: process-wide, because the
 * terminal is (one stdin per process, however many VMs), and because the
 * signal handler that puts them back can reach nothing else. */
static struct termios conin_saved;
static volatile sig_atomic_t conin_saved_fd = -1;
static pthread_once_t conin_once = PTHREAD_ONCE_INIT;

static void conin_restore_terminal(void)
{
	int fd = conin_saved_fd;

	if (fd >= 0) {
		tcsetattr(fd, TCSAFLUSH, &conin_saved); /* async-signal-safe */
		conin_saved_fd = -1;
	}
}

static void conin_signal(int sig)
{
	conin_restore_terminal();
	raise(sig); /* SA_RESETHAND: now with the default action */
}

/* At exit and on the signals that end a process, where nothing else
 * handles them (the handler another part installed stays, and stops the
 * VMs, whose conin_stop restores the terminal). */
static void conin_install_once(void)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGABRT,
				   SIGBUS, SIGFPE, SIGSEGV, SIGTERM};
	struct sigaction sa = {.sa_handler = conin_signal, .sa_flags = SA_RESETHAND | SA_NODEFER};
	struct sigaction old;

	atexit(conin_restore_terminal);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!sigaction(sigs[i], NULL, &old) && old.sa_handler == SIG_DFL &&
		    !(old.sa_flags & SA_SIGINFO))
			sigaction(sigs[i], &sa, NULL);
}

/* Raw input on fd, output processing kept (vmm's own messages still end
 * their lines). 0 or -errno. */
static int conin_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return err_sys("stdin", "tcgetattr");
	pthread_once(&conin_once, conin_install_once);
	conin_saved = t;
	cfmakeraw(&t);
	t.c_oflag = conin_saved.c_oflag;
	conin_saved_fd = fd;
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0) {
		conin_saved_fd = -1;
		return err_sys("stdin", "tcsetattr");
	}
	return 0;
}

bool conin_feed(struct conin *c, const uint8_t *buf, size_t n)
{
	uint8_t out[2];

	if (!c->tty) {
		while (n) {
			size_t k = serial_receive(c->uart, buf, n);

			buf += k, n -= k;
		}
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;

		if (c->escape) {
			c->escape = false;
			if (buf[i] == 'x')
				return false;
			if (buf[i] != CONIN_ESCAPE)
				out[len++] = CONIN_ESCAPE;
			out[len++] = buf[i];
		} else if (buf[i] == CONIN_ESCAPE) {
			c->escape = true;
		} else {
			out[len++] = buf[i];
		}
		for (size_t done = 0; done < len;)
			done += serial_receive(c->uart, out + done, len - done);
	}
	return true;
}

static void *conin_thread(void *arg)
{
	struct conin *c = arg;
	uint8_t buf[256];

	for (;;) {
		size_t room = serial_room(c->uart);
		struct pollfd p[2] = {{.fd = c->stop_fd, .events = POLLIN},
				      {.fd = c->fd, .events = room ? POLLIN : 0}};
		ssize_t n;

		/* A full queue: look again soon, the guest is reading it. */
		if (poll(p, 2, room ? -1 : 20) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!room || !(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(c->fd, buf, room < sizeof(buf) ? room : sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; /* end of input: the guest gets no more */
		if (!conin_feed(c, buf, (size_t)n)) {
			c->quit(c->arg);
			break;
		}
	}
	return NULL;
}

/* A terminal in the foreground: interactive. One in the background: no. */
static int conin_mode(int fd, bool *tty, bool *read_it)
{
	*tty = isatty(fd);
	*read_it = !*tty || tcgetpgrp(fd) == getpgrp();
	return *tty && *read_it ? conin_raw(fd) : 0;
}

void conin_init(struct conin *c)
{
	*c = (struct conin){.fd = -1, .stop_fd = -1};
}

int conin_start(struct conin *c, int fd, struct serial *uart, void (*quit)(void *arg), void *arg)
{
	bool read_it;
	int ret;

	conin_init(c);
	c->uart = uart, c->quit = quit, c->arg = arg;
	if (fd < 0)
		return 0;
	ret = conin_mode(fd, &c->tty, &read_it);
	if (ret || !read_it)
		return ret;
	c->fd = fd;
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0) {
		ret = err_sys("console input", "eventfd");
		goto fail;
	}
	ret = -pthread_create(&c->thread, NULL, conin_thread, c);
	if (ret) {
		err_errno(-ret, "console input", "cannot start its thread: %s", strerror(-ret));
		goto fail;
	}
	c->started = true;
	return 0;
fail:
	conin_stop(c);
	return ret;
}

void conin_stop(struct conin *c)
{
	if (c->started) {
		if (write(c->stop_fd, &(uint64_t){1}, 8) < 0) {
			/* an eventfd takes it: nothing else to do */
		}
		pthread_join(c->thread, NULL);
		c->started = false;
	}
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	c->stop_fd = -1;
	if (c->tty && c->fd >= 0)
		conin_restore_terminal();
	c->fd = -1;
}
