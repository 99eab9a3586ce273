/* vmm/snapshot/fork.c: fork a running VM, see fork.h. */
#include "fork.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devstate.h"
#include "err.h"
#include "fleet.h"
#include "restore.h"
#include "vcpu_state.h"
#include "vm.h"

__attribute__((format(printf, 4, 5))) static int fork_fail(char *err, size_t errlen, int ret,
							   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* The machine of the paused vm, as a restore reads it from a file. */
static int fork_save_machine(struct vm *vm, struct snapshot_machine *m, char *err, size_t errlen)
{
	size_t n = 0;
	void *devices;
	int ret;

	*m = (struct snapshot_machine){.mem_bytes = vm->mem.size, .tsc_hz = vm->tsc_hz};
	m->vcpu = malloc(sizeof(*m->vcpu));
	if (!m->vcpu)
		return fork_fail(err, errlen, -ENOMEM, "saving vCPU 0: out of memory");
	ret = vcpu_state_save(&vm->vcpu, &vm->kvm, m->vcpu);
	if (ret)
		return fork_fail(err, errlen, ret, "saving vCPU 0: %s", strerror(-ret));
	ret = devstate_save_all(&vm->states, NULL, 0, &n);
	devices = ret && ret != -ENOSPC ? NULL : malloc(n ? n : 1);
	if (!devices)
		return fork_fail(err, errlen, ret ? ret : -ENOMEM, "saving the devices: %s",
				 strerror(ret ? -ret : ENOMEM));
	m->devices = devices;
	m->devices_len = n;
	ret = devstate_save_all(&vm->states, devices, n, &n);
	return ret ? fork_fail(err, errlen, ret, "saving the devices: %s", strerror(-ret)) : 0;
}

static void fork_free_machine(struct snapshot_machine *m)
{
	free((void *)m->devices);
	m->devices = NULL;
	snapshot_machine_free(m);
}

/* Pause, save the machine, freeze memory into the image, resume. */
static int fork_pause_and_freeze(struct vm *vm, struct snapshot_machine *m, struct fork_result *res,
				 char *err, size_t errlen)
{
	uint64_t t0 = vm_now_ns(), t1, t2, t3;
	int ret = vm_pause(vm);
	bool was_paused = ret == -EALREADY;

	if (ret && !was_paused)
		return fork_fail(err, errlen, ret, "pausing the VM: %s",
				 ret == -ESRCH ? "it has stopped" : "a vCPU did not park");
	t1 = vm_now_ns();
	ret = fork_save_machine(vm, m, err, errlen);
	t2 = vm_now_ns();
	if (!ret && (ret = vmem_fork_freeze(vm->mem.vmem)))
		fork_fail(err, errlen, ret, "freezing memory: %s", strerror(-ret));
	t3 = vm_now_ns();
	if (!was_paused)
		vm_resume(vm);
	res->park_ns = t1 - t0;
	res->machine_ns = t2 - t1;
	res->freeze_ns = t3 - t2;
	res->resume_ns = vm_now_ns() - t3;
	res->pause_ns = vm_now_ns() - t0;
	return ret;
}

static int fork_arm(struct vm *vm, char *err, size_t errlen)
{
	struct vmem_snap_stats s;
	int ret = vmem_fork_arm(vm->mem.vmem);

	if (!ret)
		return 0;
	vmem_snap_get_stats(vm->mem.vmem, &s);
	if (ret == -ENOTSUP)
		return fork_fail(err, errlen, ret,
				 "fork needs userfaultfd write-protect for shmem: %s", s.wp_via);
	if (ret == -EALREADY)
		return fork_fail(err, errlen, ret,
				 "this VM was forked already, or is a fork child: it cannot be "
				 "forked again");
	if (ret == -EBUSY)
		return fork_fail(err, errlen, ret,
				 "a snapshot of this VM is under way: one at a time");
	return fork_fail(err, errlen, ret, "write-protecting memory: %s",
			 ret == -ESRCH ? "the VM is stopping" : strerror(-ret));
}

/* Child index of vm: its configuration, console and identity. */
static struct vm *fork_make_child(struct vm *vm, const struct snapshot_machine *m, uint16_t gen,
				  uint16_t index, int *owned, char *err, size_t errlen)
{
	struct vm_config cfg = vm->cfg;
	struct vm *child = calloc(1, sizeof(*child));
	char id[16], prefix[CONSOLE_PREFIX_MAX];
	int fd, status;

	snprintf(id, sizeof(id), "%u.%u", gen, index);
	*owned = -1;
	if (!child) {
		fork_fail(err, errlen, -ENOMEM, "child %s: out of memory", id);
		return NULL;
	}
	if (fleet_console(vm->fleet, id, &fd, owned, prefix, sizeof(prefix), err, errlen)) {
		free(child);
		return NULL;
	}
	cfg.fork_parent = vm;
	cfg.swap_path = NULL;
	cfg.console_fd = fd;
	cfg.stats_interval = 0;
	status = vm_create_forked(child, &cfg, m, gen, index);
	console_set_output(&child->con, fd, prefix);
	if (!status)
		return child;
	fork_fail(err, errlen, -EIO, "child %s: %s", id,
		  *last_error() ? last_error() : "cannot be created");
	vm_destroy(child);
	free(child);
	return NULL;
}

/* Each child runs as soon as it is made, so that the first one's start
 * does not wait for the last one's KVM set-up. One that cannot be made
 * ends the fork: those before it run, and err says how many. */
static int fork_children(struct vm *vm, unsigned count, const struct snapshot_machine *m,
			 uint16_t gen, char *err, size_t errlen)
{
	char why[400];

	for (unsigned i = 1; i <= count; i++) {
		int owned, ret;
		struct vm *child = fork_make_child(vm, m, gen, i, &owned, why, sizeof(why));

		if (!child)
			return fork_fail(err, errlen, -EIO, "%s (%u of %u children run)", why,
					 i - 1, count);
		ret = fleet_start(vm->fleet, child, owned);
		if (ret)
			return fork_fail(err, errlen, ret,
					 "child %u.%u: cannot start it: %s (%u of %u children run)",
					 gen, i, strerror(-ret), i - 1, count);
	}
	return 0;
}

int fork_vm(struct vm *vm, unsigned count, struct fork_result *res, char *err, size_t errlen)
{
	struct snapshot_machine m = {0};
	struct vmem_snap_stats s;
	uint64_t resumed;
	int ret;

	*res = (struct fork_result){.request_ns = vm_now_ns(), .count = count};
	if (!count || count > GUEST_RAM_FORK_MAX)
		return fork_fail(err, errlen, -EINVAL, "count %u: expected 1 to %u", count,
				 GUEST_RAM_FORK_MAX);
	if (!vm->fleet || !vm->mem.vmem)
		return fork_fail(err, errlen, -ENOTSUP, "%s",
				 !vm->fleet ? "this VM cannot have children here"
					    : "fork needs --memory-manager=vmm");
	if (vm->fork_generation == UINT16_MAX)
		return fork_fail(err, errlen, -EINVAL, "generation %u is the last",
				 vm->fork_generation);
	res->generation = vm->fork_generation + 1;
	ret = fork_arm(vm, err, errlen);
	if (ret)
		return ret;
	ret = fork_pause_and_freeze(vm, &m, res, err, errlen);
	vmem_snap_get_stats(vm->mem.vmem, &s);
	res->arm_ns = s.arm_ns;
	res->reprotected = s.reprotected;
	if (ret) {
		vmem_snap_end(vm->mem.vmem);
		fork_free_machine(&m);
		return ret;
	}
	res->shared_pages = vmem_image_pages(vmem_fork_image(vm->mem.vmem));
	resumed = vm_now_ns();
	ret = fork_children(vm, count, &m, res->generation, err, errlen);
	res->children_ns = vm_now_ns() - resumed;
	fork_free_machine(&m);
	return ret;
}
