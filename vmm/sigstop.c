/* vmm/sigstop.c: SIGTERM and SIGINT read from a signalfd, see sigstop.h. */
#include "sigstop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "err.h"

static void sigstop_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

int sigstop_block(void)
{
	sigset_t set;
	int ret;

	sigstop_set(&set);
	ret = pthread_sigmask(SIG_BLOCK, &set, NULL);
	return ret ? err_errno(ret, "signals", "cannot block SIGTERM and SIGINT: %s", strerror(ret))
		   : 0;
}

static void *sigstop_thread(void *arg)
{
	struct sigstop *s = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = s->stop_fd, .events = POLLIN},
				      {.fd = s->sfd, .events = POLLIN}};
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents && read(s->sfd, &si, sizeof(si)) == sizeof(si))
			s->fn(s->arg, (int)si.ssi_signo);
	}
	return NULL;
}

int sigstop_start(struct sigstop *s, void (*fn)(void *arg, int signo), void *arg)
{
	sigset_t set;
	int ret;

	*s = (struct sigstop){.sfd = -1, .stop_fd = -1, .fn = fn, .arg = arg};
	sigstop_set(&set);
	s->sfd = signalfd(-1, &set, SFD_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->sfd < 0 || s->stop_fd < 0) {
		ret = err_sys("signals", s->sfd < 0 ? "signalfd" : "eventfd");
		goto fail;
	}
	ret = pthread_create(&s->thread, NULL, sigstop_thread, s);
	if (ret) {
		ret =
		    err_errno(ret, "signals", "cannot start the signal thread: %s", strerror(ret));
		goto fail;
	}
	s->running = true;
	return 0;
fail:
	sigstop_end(s);
	return ret;
}

void sigstop_end(struct sigstop *s)
{
	if (s->running && write(s->stop_fd, &(uint64_t){1}, sizeof(uint64_t)) == sizeof(uint64_t))
		pthread_join(s->thread, NULL);
	s->running = false;
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	s->sfd = s->stop_fd = -1;
}
