/* vmm/vm_run.c: running a VM: vCPU threads, kicks, pause and resume, and
 * the clock (see vm.h).
 *
 * A vCPU is a small state machine: running (in or around KVM_RUN), parked
 * (paused, outside KVM_RUN) or stopped (its thread returned). Whoever wants
 * it out of KVM_RUN sets the request first (done or pause_req), then kicks:
 * immediate_exit covers a vCPU about to enter KVM_RUN, a signal one inside
 * it. A vCPU waiting on a second-level fault leaves KVM_RUN once the fault
 * thread has served the fault (or, for a VM that is being stopped, released
 * it: see ept/fault.c), so a pause waits at most for one fault.
 */
#include "vm.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "histo.h"
#include "vcpu_state.h"

#define VM_TICK_NS 100000000ULL /* the clock's period: timeout and stats lines */

static bool vm_is_done(struct vm *vm)
{
	return __atomic_load_n(&vm->done, __ATOMIC_SEQ_CST);
}

static bool vm_pause_requested(struct vm *vm)
{
	return __atomic_load_n(&vm->run.pause_req, __ATOMIC_SEQ_CST);
}

/* Parked: outside KVM_RUN until resumed or stopped. */
static void vm_vcpu_park(struct vm *vm)
{
	pthread_mutex_lock(&vm->run.lock);
	vm->run.nr_parked++;
	pthread_cond_broadcast(&vm->run.cond);
	while (vm->run.pause_req && !vm->done)
		pthread_cond_wait(&vm->run.cond, &vm->run.lock);
	vm->run.nr_parked--;
	vm->run.unparks++;
	pthread_cond_broadcast(&vm->run.cond);
	pthread_mutex_unlock(&vm->run.lock);
}

/* Parked with its last exit complete, so that a parked vCPU's state can be
 * saved as it is: KVM finishes an I/O exit (RIP past the OUT) only on the
 * next KVM_RUN. If finishing it makes another exit (a rep string), that is
 * handled and the loop looks at the requests again. */
static void vm_vcpu_settle_and_park(struct vm *vm, struct vcpu *v)
{
	int ret = vcpu_settle(v);

	if (ret < 0)
		vm_stop(vm, VMM_STATUS_INTERNAL, "vCPU %d: cannot complete its last exit: %s",
			v->id, strerror(-ret));
	else if (ret > 0)
		vm_handle_exit(vm, v->run);
	else
		vm_vcpu_park(vm);
}

static void vm_vcpu_loop(struct vm *vm, struct vcpu *v)
{
	uint64_t exited = 0; /* when KVM_RUN last returned an exit */

	for (;;) {
		/* Clear the kick before looking at the requests: a kick after
		 * the look sets immediate_exit again, one before it is seen. */
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (vm_is_done(vm))
			return;
		if (vm_pause_requested(vm)) {
			vm_vcpu_settle_and_park(vm, v);
			continue;
		}
		if (!__atomic_load_n(&vm->stats.first_run_ns, __ATOMIC_RELAXED))
			__atomic_store_n(&vm->stats.first_run_ns, histo_now_ns(), __ATOMIC_RELAXED);
		else if (exited)
			vm->stats.exit_ns += histo_now_ns() - exited;
		exited = 0;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_stop(vm, VMM_STATUS_INTERNAL, "vCPU %d: KVM_RUN failed: %s", v->id,
				strerror(errno));
			return;
		}
		exited = histo_now_ns();
		vm_handle_exit(vm, v->run);
	}
}

/* Under a name that says whose vCPU this is (ps -L, /proc/PID/task/):
 * a hint, best effort. */
static void vm_vcpu_name(struct vm *vm)
{
	char name[16];

	snprintf(name, sizeof(name), "vcpu%hu.%hu", vm->forkid.generation, vm->forkid.index);
	pthread_setname_np(pthread_self(), name);
}

void vm_gate_init(struct vm_gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->open = true;
}

void vm_gate_set(struct vm_gate *g, bool open)
{
	pthread_mutex_lock(&g->lock);
	g->open = open;
	if (open)
		pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

void vm_gate_destroy(struct vm_gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

void vm_gate_pass(struct vm_gate *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void *vm_vcpu_thread(void *arg)
{
	struct vm *vm = arg;

	vm_vcpu_name(vm);
	vm_gate_pass(vm->run.gate);
	vm_vcpu_loop(vm, &vm->vcpu);
	pthread_mutex_lock(&vm->run.lock);
	vm->run.nr_running--;
	pthread_cond_broadcast(&vm->run.cond);
	pthread_mutex_unlock(&vm->run.lock);
	return NULL;
}

static struct timespec vm_deadline(uint64_t ns_from_now)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns_from_now += ts.tv_nsec;
	ts.tv_sec += ns_from_now / 1000000000ULL;
	ts.tv_nsec = ns_from_now % 1000000000ULL;
	return ts;
}

/* With stop_lock held: wait for cond_met or the deadline; -ETIMEDOUT then. */
static int vm_wait_locked(struct vm *vm, bool (*cond_met)(struct vm *), uint64_t timeout_ns)
{
	struct timespec deadline = vm_deadline(timeout_ns);

	while (!cond_met(vm))
		if (pthread_cond_timedwait(&vm->run.cond, &vm->run.lock, &deadline) == ETIMEDOUT)
			return cond_met(vm) ? 0 : -ETIMEDOUT;
	return 0;
}

static bool vm_all_parked(struct vm *vm)
{
	return vm->done || vm->run.nr_parked == vm->run.nr_running;
}

/* Every vCPU parked when resume was asked has left its park once (it may
 * have parked again since: --pause-at-line pauses from inside). */
static bool vm_all_left_park(struct vm *vm)
{
	return vm->done || vm->run.unparks >= vm->run.resume_target;
}

int vm_pause(struct vm *vm)
{
	uint64_t t0 = histo_now_ns();
	int ret;

	pthread_mutex_lock(&vm->run.lock);
	if (vm->done || vm->run.pause_req) {
		/* Paused by someone else: returns once every vCPU has parked
		 * too, so that the caller may save them either way. */
		ret = vm->done
			  ? -ESRCH
			  : vm_wait_locked(vm, vm_all_parked, VM_PAUSE_TIMEOUT_MS * 1000000ULL);
		ret = vm->done ? -ESRCH : ret ? ret : -EALREADY;
		goto out;
	}
	__atomic_store_n(&vm->run.pause_req, true, __ATOMIC_SEQ_CST);
	vm_kick(vm);
	ret = vm_wait_locked(vm, vm_all_parked, VM_PAUSE_TIMEOUT_MS * 1000000ULL);
	if (!ret && vm->done)
		ret = -ESRCH;
	if (ret) {
		__atomic_store_n(&vm->run.pause_req, false, __ATOMIC_SEQ_CST);
		pthread_cond_broadcast(&vm->run.cond);
		goto out;
	}
	vm->run.paused_at_ns = histo_now_ns();
	vm->run.pause.pauses++;
	histo_add(&vm->run.pause.pause_ns, vm->run.paused_at_ns - t0);
out:
	pthread_mutex_unlock(&vm->run.lock);
	return ret;
}

void vm_pause_self(struct vm *vm)
{
	pthread_mutex_lock(&vm->run.lock);
	if (!vm->done && !vm->run.pause_req) {
		__atomic_store_n(&vm->run.pause_req, true, __ATOMIC_SEQ_CST);
		vm->run.paused_at_ns = histo_now_ns();
		vm->run.pause.pauses++;
		vm_kick(vm);
	}
	pthread_mutex_unlock(&vm->run.lock);
}

int vm_resume(struct vm *vm)
{
	uint64_t t0 = histo_now_ns();
	int ret = 0;

	pthread_mutex_lock(&vm->run.lock);
	if (vm->done || !vm->run.pause_req) {
		ret = vm->done ? -ESRCH : -EINVAL;
		goto out;
	}
	__atomic_store_n(&vm->run.pause_req, false, __ATOMIC_SEQ_CST);
	vm->run.resume_target = vm->run.unparks + vm->run.nr_parked;
	pthread_cond_broadcast(&vm->run.cond);
	ret = vm_wait_locked(vm, vm_all_left_park, VM_PAUSE_TIMEOUT_MS * 1000000ULL);
	vm->run.pause.resumes++;
	vm->run.pause.paused_ns += t0 - vm->run.paused_at_ns;
	histo_add(&vm->run.pause.resume_ns, histo_now_ns() - t0);
out:
	pthread_mutex_unlock(&vm->run.lock);
	return ret;
}

int vm_pause_for(struct vm *vm, int (*machine)(void *arg, char *err, size_t errlen),
		 int (*freeze)(void *arg, char *err, size_t errlen), void *arg,
		 struct vm_pause_parts *p, char *err, size_t errlen)
{
	uint64_t t0 = histo_now_ns(), t1, t2, t3;
	int ret = vm_pause(vm);
	bool was_paused = ret == -EALREADY;

	if (ret && !was_paused)
		return err_into(err, errlen, ret, "pausing the VM: %s",
				ret == -ESRCH ? "it has stopped" : "a vCPU did not park");
	t1 = histo_now_ns();
	ret = machine(arg, err, errlen);
	t2 = histo_now_ns();
	if (!ret)
		ret = freeze(arg, err, errlen);
	t3 = histo_now_ns();
	if (!was_paused)
		vm_resume(vm);
	p->resumed_ns = histo_now_ns();
	p->park_ns = t1 - t0;
	p->machine_ns = t2 - t1;
	p->freeze_ns = t3 - t2;
	p->resume_ns = p->resumed_ns - t3;
	p->pause_ns = p->resumed_ns - t0;
	return ret;
}

/* The clock: --timeout, and the owner's periodic call (--stats-interval),
 * checked every tick. */
static void vm_tick(struct vm *vm, uint64_t *next_stats)
{
	uint64_t now = histo_now_ns();

	/* No vCPU ioctl here: KVM holds a running vCPU's mutex, and a guest
	 * that never exits to user space would hold this thread before the
	 * kick. Its RIP is read once it has stopped (vm_run). */
	if (vm->cfg.timeout_sec &&
	    now >= vm->stats.start_ns + vm->cfg.timeout_sec * 1000000000ULL && !vm->run.timed_out) {
		vm->run.timed_out = true;
		vm_stop(vm, VMM_STATUS_CRASH, "timeout: guest still running after %u s",
			vm->cfg.timeout_sec);
	}
	if (vm->cfg.stats_interval && vm->cfg.on_interval && now >= *next_stats) {
		vm->cfg.on_interval(vm);
		*next_stats = now + vm->cfg.stats_interval * 1000000000ULL;
	}
}

static bool vm_no_vcpu_running(struct vm *vm)
{
	return vm->run.nr_running == 0;
}

static void vm_console_quit(void *arg)
{
	vm_stop(arg, VMM_STATUS_CRASH, "stopped from the console (Ctrl-a x)");
}

/* stdin into the UART, for a machine that takes input (conin.h). */
static void vm_console_input(struct vm *vm)
{
	if (!vm->machine->console_input || !vm->cfg.console_input)
		return;
	if (conin_start(&vm->conin, STDIN_FILENO, &vm->uart, vm_console_quit, vm))
		fprintf(stderr, "vmm: the guest gets no console input: %s\n", last_error());
}

/* The vCPU thread, made on the VM's CPU (vm.h) where it has one, so that
 * its first instruction does not wait for a move: a hint, as a CPU the
 * process may not use is dropped rather than failing the VM. */
static int vm_vcpu_create(struct vm *vm)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int ret;

	if (vm->cpu < 0 || pthread_attr_init(&attr))
		return pthread_create(&vm->vcpu.thread, NULL, vm_vcpu_thread, vm);
	CPU_ZERO(&set);
	CPU_SET(vm->cpu, &set);
	ret = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (!ret)
		ret = pthread_create(&vm->vcpu.thread, &attr, vm_vcpu_thread, vm);
	pthread_attr_destroy(&attr);
	if (ret == EINVAL)
		ret = pthread_create(&vm->vcpu.thread, NULL, vm_vcpu_thread, vm);
	return ret;
}

int vm_run_start(struct vm *vm, struct vm_gate *gate)
{
	int ret;

	if (vm->vcpu.thread_started)
		return 0;
	vm->run.gate = gate;
	vm->run.nr_running = 1;
	ret = vm_vcpu_create(vm);
	if (ret) {
		vm->run.nr_running = 0;
		vm_stop(vm, VMM_STATUS_INTERNAL, "cannot start the vCPU thread: %s", strerror(ret));
		return -ret;
	}
	vm->vcpu.thread_started = true;
	return 0;
}

int vm_run(struct vm *vm)
{
	uint64_t next_stats = vm->stats.start_ns + vm->cfg.stats_interval * 1000000000ULL;

	if (vm_run_start(vm, NULL))
		return vm->status;
	vm_console_input(vm);
	pthread_mutex_lock(&vm->run.lock);
	while (vm_wait_locked(vm, vm_no_vcpu_running, VM_TICK_NS) == -ETIMEDOUT) {
		pthread_mutex_unlock(&vm->run.lock);
		vm_tick(vm, &next_stats);
		pthread_mutex_lock(&vm->run.lock);
	}
	pthread_mutex_unlock(&vm->run.lock);
	pthread_join(vm->vcpu.thread, NULL);
	vm->vcpu.thread_started = false;
	conin_stop(&vm->conin); /* the terminal back as it was, on every way out */
	if (vm->run.timed_out)
		fprintf(stderr, "vmm: timeout: the vCPU stopped at rip %#lx\n",
			(unsigned long)vcpu_rip(&vm->vcpu));
	console_flush(&vm->con);
	vm->stats.end_ns = histo_now_ns();
	return vm->status;
}
