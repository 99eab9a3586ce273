/* vmm/vm_state.c: a VM's run state, the bottom of vm.h: its lock, stopping
 * it, and kicking its vCPUs out of KVM_RUN to look at it. Devices and the
 * fault thread stop a VM through here, below everything that builds or
 * runs one.
 */
#include "vm.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "histo.h"

#define VM_KICK_SIGNAL SIGRTMIN

void vm_stop(struct vm *vm, int status, const char *fmt, ...)
{
	char reason[sizeof(vm->reason)];
	bool print = false;
	va_list ap;

	pthread_mutex_lock(&vm->run.lock);
	if (!vm->done) {
		va_start(ap, fmt);
		vsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
		va_end(ap);
		vm->status = status;
		vm->stats.stop_ns = histo_now_ns();
		__atomic_store_n(&vm->done, true, __ATOMIC_SEQ_CST);
		print = status != VMM_STATUS_OK;
		memcpy(reason, vm->reason, sizeof(reason));
	}
	pthread_cond_broadcast(&vm->run.cond);
	pthread_mutex_unlock(&vm->run.lock);
	vm_kick(vm);
	/* Not under the lock: a stderr that blocks must not hold whoever
	 * waits on the run state. */
	if (print)
		fprintf(stderr, "vmm: %s%s\n", vm->name, reason);
}

void vm_init_sync(struct vm *vm)
{
	pthread_condattr_t a;

	pthread_mutex_init(&vm->run.lock, NULL);
	pthread_mutex_init(&vm->snap_lock, NULL);
	/* The deadlines of vm_run.c are CLOCK_MONOTONIC, like every clock here. */
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->run.cond, &a);
	pthread_condattr_destroy(&a);
}

static void vm_kick_signal(int sig)
{
	(void)sig; /* only here to interrupt KVM_RUN with EINTR */
}

int vm_run_init_signal(void)
{
	/* SA_RESTART for the VMM's own writes; KVM_RUN still returns EINTR. */
	struct sigaction sa = {.sa_handler = vm_kick_signal, .sa_flags = SA_RESTART};

	return sigaction(VM_KICK_SIGNAL, &sa, NULL) < 0 ? err_sys("vm", "sigaction") : 0;
}

void vm_kick(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu;

	if (v->run)
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (v->thread_started)
		pthread_kill(v->thread, VM_KICK_SIGNAL);
}

const char *vm_state_name(struct vm *vm)
{
	const char *name;

	pthread_mutex_lock(&vm->run.lock);
	name = vm->done ? "stopped" : vm->run.pause_req ? "paused" : "running";
	pthread_mutex_unlock(&vm->run.lock);
	return name;
}
