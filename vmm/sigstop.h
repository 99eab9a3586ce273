/* vmm/sigstop.h: SIGTERM and SIGINT stop the VMs of a vmm process, as
 * vmm stop does (docs/vmm.1: exit status 3, "stopped by signal").
 *
 * No work in a signal handler: sigstop_block() blocks both signals in the
 * calling thread before any other is made, so that every thread inherits
 * the mask and none is interrupted by them; sigstop_start() then reads
 * them from a signalfd on a thread of its own and calls fn(arg, signo)
 * for each, where any function may be called. A signal that comes before
 * sigstop_start() waits, pending, until it is read.
 */
#ifndef VMM_SIGSTOP_H
#define VMM_SIGSTOP_H

#include <pthread.h>
#include <stdbool.h>

struct sigstop {
	int sfd;     /* signalfd of SIGTERM and SIGINT */
	int stop_fd; /* eventfd: tells the thread to leave */
	pthread_t thread;
	bool running;
	void (*fn)(void *arg, int signo);
	void *arg;
};

/* Block SIGTERM and SIGINT in the calling thread: 0 or -errno. */
int sigstop_block(void);
/* Serve them on a thread that calls fn: 0 or -errno (the message said why). */
int sigstop_start(struct sigstop *s, void (*fn)(void *arg, int signo), void *arg);
/* Stop the thread (a no-op if it did not start). */
void sigstop_end(struct sigstop *s);

#endif
