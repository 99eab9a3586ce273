/* vmm/devices/conin.h: the console's input: the vmm process's stdin, fed
 * to the guest's UART (serial_receive) by a thread of the VM, for a
 * machine whose UART interrupts (a Linux machine).
 *
 * On a terminal that vmm has in the foreground, the console is
 * interactive: the terminal goes to raw input (every key goes to the
 * guest, Ctrl-C included, and the guest echoes), and Ctrl-a x ends the VM
 * as vmm stop does (exit 3); Ctrl-a Ctrl-a sends one Ctrl-a. The
 * terminal's settings come back in conin_stop(), which vm_run() calls on
 * every way a VM stops, at exit (atexit), and on a signal that ends the
 * process while nothing else handles it (SIGHUP, SIGINT, SIGQUIT, SIGILL,
 * SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGTERM): the handler restores it,
 * then the signal does what it would have done. A terminal vmm has in
 * the background is not read (reading it would stop vmm with SIGTTIN).
 * Anything else (a pipe, a file) goes to the guest as it comes, until its
 * end.
 *
 * The saved settings are the process's, not a VM's: one process has one
 * stdin, and a signal handler can reach nothing else (conin.c).
 */
#ifndef VMM_CONIN_H
#define VMM_CONIN_H

#include <pthread.h>
#include <stdbool.h>

#include "serial.h"

#define CONIN_ESCAPE 0x01 /* Ctrl-a */

struct conin {
	int fd;	     /* what is read; -1 none */
	int stop_fd; /* an eventfd that ends the thread */
	pthread_t thread;
	bool started;
	bool tty;    /* interactive */
	bool escape; /* Ctrl-a seen, waiting for the next key */
	struct serial *uart;
	void (*quit)(void *arg); /* Ctrl-a x */
	void *arg;
};

/* Nothing to read yet: conin_stop is then a no-op. */
void conin_init(struct conin *c);
/* Read fd into uart from a thread of its own: 0, or -errno (nothing
 * started). Nothing is done for a terminal in the background. */
int conin_start(struct conin *c, int fd, struct serial *uart, void (*quit)(void *arg), void *arg);
/* End the thread and give the terminal its settings back; idempotent. */
void conin_stop(struct conin *c);
/* What the thread does with bytes it read: escapes taken out, the rest
 * to the UART (for tests). Returns false when Ctrl-a x was among them. */
bool conin_feed(struct conin *c, const uint8_t *buf, size_t n);

#endif
