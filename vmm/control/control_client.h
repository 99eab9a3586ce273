/* vmm/control/control_client.h: ask a running vmm over its control socket. */
#ifndef VMM_CONTROL_CLIENT_H
#define VMM_CONTROL_CLIENT_H

/* Send o->cmd (stat, pause, resume, stop, snapshot) to the vmm serving
 * o->control and print what it answers (stat: the statistics, as JSON on
 * stdout). snapshot writes into o->out, prints its progress on stderr until it is on
 * disk, then its summary as JSON on stdout. Returns the exit status: 0
 * done, 1 refused by the VM, 2 no socket there (or no permission to
 * use it), 4 failed. */
struct ctl_opts;
int control_client_run(const struct ctl_opts *o);

/* How long a client waits for the socket to take its connection. */
#define CONTROL_CLIENT_CONNECT_MS 10000
/* A connected socket (blocking) to the vmm serving path, or -errno with
 * the message printed: -ETIMEDOUT if the listener's backlog stayed full
 * for timeout_ms (it never accepts), else connect's errno. */
int control_client_connect(const char *path, unsigned timeout_ms);

#endif
