/* vmm/fleet.h: the VMs of one vmm process.
 *
 * The VM a vmm process was started with runs on main's thread; the fork
 * children made from it (snapshot/fork.h) each run on a thread of their
 * own. Their console lines go to the same output, each after the child's
 * id ("[1.3] ": generation 1, index 3), or to a file of their own in
 * --console-dir (vm-1.3.log). The process ends when the last VM stops:
 * main waits for the children, reports one line per child and exits with
 * the first VM's status. Children are destroyed before the VM they were
 * forked from: they map its fork image and read its swap.
 */
#ifndef VMM_FLEET_H
#define VMM_FLEET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "guest_ram.h"

struct vm;

struct fleet_child {
	struct vm *vm;
	pthread_t thread;
	bool joinable;
	int fd;	    /* its console file, -1 if it writes to the fleet's output */
	int status; /* vm_run's, once it has stopped */
};

struct fleet {
	pthread_mutex_t lock;	   /* n, forking, and each child's status */
	pthread_cond_t forks_done; /* forking dropped to 0 */
	unsigned forking;	   /* forks under way: children still to come */
	int out_fd;
	const char *console_dir; /* NULL: children's lines go to out_fd, prefixed */
	struct fleet_child child[GUEST_RAM_FORK_MAX];
	unsigned n;
};

void fleet_init(struct fleet *f, int out_fd, const char *console_dir);
/* Where the console of the child named id (e.g. "1.3") goes: *fd and
 * *prefix for console_set_output. *owned is the fd to hand to fleet_start
 * (a file of its own in console_dir), or -1. 0, or -errno naming the file
 * (err). */
int fleet_console(struct fleet *f, const char *id, int *fd, int *owned, char *prefix, size_t len,
		  char *err, size_t errlen);
/* Run child on a thread of its own; the fleet owns it (and owned, its
 * console file) from here on, whatever the outcome. 0 or -errno. */
int fleet_start(struct fleet *f, struct vm *child, int owned);
unsigned fleet_count(struct fleet *f);
/* Child i (< fleet_count), for its statistics. */
struct vm *fleet_child_vm(struct fleet *f, unsigned i);
/* A fork is making children (fork_vm): fleet_wait waits for its end too,
 * so that a child made after the forked VM stopped is waited for. */
void fleet_fork_begin(struct fleet *f);
void fleet_fork_end(struct fleet *f);
/* Wait until no fork is under way and every child has stopped. */
void fleet_wait(struct fleet *f);
/* One line per child: its id, exit status and why it stopped. */
void fleet_report(struct fleet *f, FILE *out);
void fleet_destroy(struct fleet *f);

#endif
