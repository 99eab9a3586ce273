/* vmm/control/control_client.h: ask a running vmm over its control socket. */
#ifndef VMM_CONTROL_CLIENT_H
#define VMM_CONTROL_CLIENT_H

/* Send o->cmd (stat, pause, resume, stop, snapshot) to the vmm serving
 * o->control and print what it answers (stat: the statistics, as JSON on
 * stdout). snapshot writes into o->out, prints its progress on stderr until it is on
 * disk, then its summary as JSON on stdout. Returns the exit status: 0
 * done, 1 refused by the VM, 2 no socket there, 4 failed. */
struct ctl_opts;
int control_client_run(const struct ctl_opts *o);

#endif
