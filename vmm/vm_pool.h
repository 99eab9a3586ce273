/* vmm/vm_pool.h: KVM VMs made ahead of time for fork children.
 *
 * Making a child's KVM VM, its vCPU and its CPUID is most of the time a
 * fork child takes to start (KVM_CREATE_VM 0.2 ms, CPUID 0.4 ms of about
 * 1 ms here), and none of it depends on the fork point. So a pool keeps
 * `want` of them ready (vmm run --fork-pool N), made by one thread per
 * CPU of the process, in parallel, and refilled in the background after
 * each fork. A fork of more children than the pool holds asks for the
 * rest (vm_pool_reserve), and the threads make them while the first
 * children are set up. Only machines without an irqchip are served (see
 * struct vm_shell); a Linux guest's children are made whole, as before.
 */
#ifndef VMM_VM_POOL_H
#define VMM_VM_POOL_H

#include <pthread.h>
#include <stdbool.h>

#include "guest_ram.h"
#include "vm.h"

#define VM_POOL_DEFAULT 4 /* --fork-pool: a few children start at once, for ~4 fds each */
#define VM_POOL_MAX	GUEST_RAM_FORK_MAX
#define VM_POOL_THREADS 8 /* makers at most, one per CPU of the process */

struct vm_pool {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a shell was made or taken, or the pool stops */
	unsigned want;		/* kept ready between forks; 0: the pool is off */
	unsigned extra;		/* a fork under way: shells it has still to take */
	bool forking;		/* between vm_pool_reserve and _release */
	unsigned n, making;	/* ready, and being made */
	bool stopping, failed;	/* failed: a shell could not be made; no more tries */
	bool normalise_cpuid;	/* the machine's (struct machine_kind) */
	struct vm_shell shell[VM_POOL_MAX];
	pthread_t thread[VM_POOL_THREADS];
	unsigned nr_threads;
};

/* Start filling p with want shells (0: off, nothing started), on up to
 * nr_cpus threads. 0 or -errno. */
int vm_pool_start(struct vm_pool *p, unsigned want, bool normalise_cpuid, unsigned nr_cpus);
/* A fork of count children is under way: make shells for all of them. */
void vm_pool_reserve(struct vm_pool *p, unsigned count);
/* The fork is over: back to want. */
void vm_pool_release(struct vm_pool *p);
/* A ready shell into *out, waiting for one being made: true, or false if
 * the pool is off, stopping or cannot make any. */
bool vm_pool_take(struct vm_pool *p, struct vm_shell *out);
void vm_pool_stop(struct vm_pool *p);

#endif
