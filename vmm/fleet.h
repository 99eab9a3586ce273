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
 *
 * A child that stops is released on its own thread at once: its frames,
 * its KVM VM, its threads and its fds (its console file too). What is
 * left of it is its summary (struct fleet_child: id, status, reason), for
 * vmm stat and the report at exit; a live child's VM is reached only
 * through fleet_visit, under the fleet's lock, which keeps it alive.
 */
#ifndef VMM_FLEET_H
#define VMM_FLEET_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "guest_ram.h"
#include "vm.h"

struct vm;
struct fleet;

struct fleet_child {
	struct fleet *fleet;
	struct vm *vm; /* NULL once it has stopped and is being released */
	pthread_t thread;
	bool joinable;
	bool released; /* its resources are gone: only the summary is left */
	int fd;	       /* its console file, -1 if it writes to the fleet's output */
	/* The summary, set when it stops. */
	int status; /* vm_run's */
	char name[24];
	char reason[256];
	uint16_t generation, index;
	uint64_t first_run_ns;
	int cpu; /* its vCPU's and fault thread's, -1: not pinned */
};

struct fleet {
	pthread_mutex_t lock;	   /* n, forking, each child's vm, released and summary */
	pthread_cond_t forks_done; /* forking dropped to 0 */
	unsigned forking;	   /* forks under way: children still to come */
	int out_fd;
	const char *console_dir; /* NULL: children's lines go to out_fd, prefixed */
	struct fleet_child child[GUEST_RAM_FORK_MAX];
	unsigned n;
	/* Once stopping: children started from then on are stopped at once. */
	bool stopping;
	int stop_status;
	char stop_reason[128];
	/* The CPUs this process may run on, in order, for its children. */
	int cpus[CPU_SETSIZE];
	unsigned nr_cpus, cpu_turn;
	struct vm_gate gate; /* closed: children started wait (fleet_hold) */
};

void fleet_init(struct fleet *f, int out_fd, const char *console_dir);
/* Where the console of the child named id (e.g. "1.3") goes: *fd and
 * *prefix for console_set_output. *owned is the fd to hand to fleet_start
 * (a file of its own in console_dir), or -1. 0, or -errno naming the file
 * (err). */
int fleet_console(struct fleet *f, const char *id, int *fd, int *owned, char *prefix, size_t len,
		  char *err, size_t errlen);
/* The CPU for the next child pinned to one: the process's CPUs in turn,
 * starting after parent_cpu, so that a fork's children spread over the
 * host instead of sharing the CPU of the thread that builds them. -1 if
 * the process's CPUs are not known. */
int fleet_next_cpu(struct fleet *f, int parent_cpu);
/* Run child on a thread of its own; the fleet owns it (and owned, its
 * console file) from here on, whatever the outcome. 0 or -errno. */
int fleet_start(struct fleet *f, struct vm *child, int owned);
unsigned fleet_count(struct fleet *f);
/* fn(arg, c) for each child in order, with the fleet's lock held: c->vm
 * (NULL once released) may be used until fn returns. fn must not call
 * back into the fleet. */
void fleet_visit(struct fleet *f, void (*fn)(void *arg, const struct fleet_child *c), void *arg);
/* Stop every child, and those started later, with status and reason, as
 * vm_stop does. Returns the number of children. */
unsigned fleet_stop_all(struct fleet *f, int status, const char *reason);
/* The process's fd table made as large as a fork's children will need
 * (about 8 fds each, see vm_pool.h), for a VM that may have some, before
 * its threads start: growing it later, with several threads sharing it,
 * waits for an RCU grace period (8 to 14 ms measured here, in the middle
 * of a fork of 32). Best effort: a hint. */
void fleet_expect_children(void);
/* hold: children started from here on wait before their first
 * instruction; !hold: they all go on at once. */
void fleet_hold(struct fleet *f, bool hold);
/* A fork is making children (fork_vm): fleet_wait waits for its end too,
 * so that a child made after the forked VM stopped is waited for. */
void fleet_fork_begin(struct fleet *f);
void fleet_fork_end(struct fleet *f);
/* Wait until no fork is under way and every child has stopped and been
 * released. */
void fleet_wait(struct fleet *f);
/* One line per child: its id, exit status and why it stopped. */
void fleet_report(struct fleet *f, FILE *out);
void fleet_destroy(struct fleet *f);

#endif
