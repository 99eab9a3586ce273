/* vmm/snapshot/fork.c: fork a running VM, see fork.h. */
#include "fork.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "devstate.h"
#include "err.h"
#include "fleet.h"
#include "histo.h"
#include "restore.h"
#include "snapshot.h"
#include "vcpu_state.h"
#include "vm.h"
#include "vm_pool.h"

/* A child, in the two steps of vm.h: memory from cfg->fork_parent's fork
 * image, vCPU and devices from m, the identity (generation, index) on the
 * fork-id port. 0 or an enum vmm_status. */
static int fork_create_child(struct vm *vm, const struct vm_config *cfg,
			     const struct machine_state *m, uint16_t generation, uint16_t index)
{
	char err[512];
	int ret = vm_create_begin(vm, cfg);

	snprintf(vm->name, sizeof(vm->name), "[%u.%u] ", generation, index);
	if (!ret && machine_state_restore_devices(vm, m, err, sizeof(err))) {
		err_input("fork", "%s", err);
		ret = VMM_STATUS_INTERNAL;
	}
	forkid_set(&vm->forkid, generation, index);
	if (!ret)
		ret = vm_create_machine(vm, cfg, NULL, NULL);
	/* Faults served first, as for a restore (vm_restore_state). */
	if (!ret && guest_ram_start(&vm->mem))
		ret = VMM_STATUS_INTERNAL;
	if (!ret && machine_state_restore_vcpu(vm, m, err, sizeof(err))) {
		err_input("fork", "%s", err);
		ret = VMM_STATUS_INTERNAL;
	}
	return ret;
}

struct fork_pause {
	struct vm *vm;
	struct machine_state *m;
	struct fork_result *res;
	bool children_after; /* the VM moved to a shell: its children come after the pause */
};

/* Moving the forked VM's KVM slots (fork_freeze_cb). */
struct fork_slots {
	struct vm *vm;
	int ret;
	uint64_t ns;
};

static int fork_machine_cb(void *arg, char *err, size_t errlen)
{
	struct fork_pause *fp = arg;

	return machine_state_save(fp->vm, fp->m, err, errlen);
}

/* Why vm cannot be forked (ret from vmem_fork_check or _freeze). */
static int fork_refused(struct vm *vm, int ret, char *err, size_t errlen)
{
	struct vmem_snap_stats s;

	vmem_snap_get_stats(vm->mem.vmem, &s);
	if (ret == -ENOTSUP)
		return err_into(
		    err, errlen, ret,
		    "fork needs userfaultfd write-protect and minor faults for shmem: %s",
		    s.wp_via);
	if (ret == -EALREADY)
		return err_into(err, errlen, ret,
				"this VM was forked already, or is a fork child: it cannot be "
				"forked again");
	if (ret == -EBUSY)
		return err_into(err, errlen, ret,
				"a snapshot of this VM is under way: one at a time");
	return err_into(err, errlen, ret, "freezing memory: %s",
			ret == -ESRCH ? "the VM is stopping" : strerror(-ret));
}

/* Child index of vm: its configuration, console and identity. NULL with
 * *ret: -EINVAL for a console file that cannot be used (bad input), else
 * -errno. */
static struct vm *fork_make_child(struct vm *vm, const struct machine_state *m, uint16_t gen,
				  uint16_t index, int *owned, int *ret, char *err, size_t errlen)
{
	struct vm_config cfg = vm->cfg;
	struct vm *child = calloc(1, sizeof(*child));
	char id[16], prefix[CONSOLE_PREFIX_MAX];
	struct vm_shell shell;
	int fd, status;

	snprintf(id, sizeof(id), "%u.%u", gen, index);
	*owned = -1;
	*ret = -EIO;
	if (!child) {
		*ret = err_into(err, errlen, -ENOMEM, "child %s: out of memory", id);
		return NULL;
	}
	*ret = fleet_console(vm->cfg.fleet, id, &fd, owned, prefix, sizeof(prefix), err, errlen);
	if (*ret) {
		free(child);
		return NULL;
	}
	*ret = -EIO;
	cfg.fork_parent = vm;
	cfg.swap_path = NULL;
	cfg.console_input = false; /* stdin is the first VM's */
	cfg.pause_at_line = NULL;  /* the forked VM's: its children run free */
	cfg.start_paused = false;  /* a child runs at once: nothing could resume it */
	cfg.console_fd = fd;
	cfg.stats_interval = 0;
	cfg.fleet = NULL; /* one generation of children per fleet */
	cfg.pool = NULL;
	cfg.pin_cpu = cfg.pin ? fleet_next_cpu(vm->cfg.fleet, vm->cpu) : -1;
	cfg.shell = vm->cfg.pool && vm_pool_take(vm->cfg.pool, &shell) ? &shell : NULL;
	status = fork_create_child(child, &cfg, m, gen, index);
	if (cfg.shell && shell.fd >= 0) /* not adopted */
		vm_shell_destroy(&shell);
	console_set_output(&child->con, fd, prefix);
	if (!status)
		return child;
	err_into(err, errlen, -EIO, "child %s: %s", id,
		 *last_error() ? last_error() : "cannot be created");
	vm_destroy(child);
	free(child);
	return NULL;
}

/* A child made but not started yet. */
struct fork_made {
	struct vm *vm;
	int owned;
};

/* Start made[from, to): each runs from here on. The first that cannot be
 * started ends it, with err saying how many run; the rest are destroyed. */
static int fork_start(struct vm *vm, struct fork_made *made, unsigned from, unsigned to,
		      unsigned count, uint16_t gen, char *err, size_t errlen)
{
	int ret = 0;

	for (unsigned i = from; i < to; i++) {
		if (ret) {
			vm_destroy(made[i].vm);
			free(made[i].vm);
			if (made[i].owned >= 0)
				close(made[i].owned);
			continue;
		}
		ret = fleet_start(vm->cfg.fleet, made[i].vm, made[i].owned);
		if (ret)
			err_into(err, errlen, ret,
				 "child %u.%u: cannot start it: %s (%u of %u children run)", gen,
				 i + 1, strerror(-ret), i, count);
	}
	return ret;
}

/* The first child runs as soon as it is made. The others are made first
 * and started together: a child that runs takes a CPU from the making of
 * the next (eight children on two CPUs left the control thread a fifth
 * of one), so starting each at once made the last one's start grow with
 * the square of the count. One that cannot be made ends the fork: those
 * before it run, and err says how many. */
static int fork_children(struct vm *vm, unsigned count, const struct machine_state *m, uint16_t gen,
			 char *err, size_t errlen)
{
	struct fork_made made[GUEST_RAM_FORK_MAX];
	char why[400];
	unsigned n = 0;
	int ret = 0;

	while (n < count) {
		made[n].vm =
		    fork_make_child(vm, m, gen, n + 1, &made[n].owned, &ret, why, sizeof(why));
		if (!made[n].vm)
			break;
		if (++n == 1 && (ret = fork_start(vm, made, 0, 1, count, gen, err, errlen)))
			return ret;
	}
	if (n > 1 && fork_start(vm, made, 1, n, count, gen, err, errlen))
		return -EIO;
	if (n < count)
		return err_into(err, errlen, ret, "%s (%u of %u children run)", why, n, count);
	return 0;
}

static void *fork_slots_thread(void *arg)
{
	struct fork_slots *sl = arg;
	uint64_t t0 = histo_now_ns();

	sl->ret = vm_move_memory(sl->vm);
	sl->ns = histo_now_ns() - t0;
	return NULL;
}

static void *fork_close_shell(void *arg)
{
	/* Behind every thread of the VM and its children: a child's first
	 * instruction must not wait for this teardown's CPU time. */
	setpriority(PRIO_PROCESS, 0, 19); /* this thread alone, on Linux */
	vm_shell_destroy(arg);
	free(arg);
	return NULL;
}

/* The old KVM VM goes on a thread of its own: tearing down what it
 * mapped grows with guest size. */
static void fork_retire_shell(struct vm_shell *old)
{
	struct vm_shell *s = malloc(sizeof(*s));
	pthread_t t;

	if (s) {
		*s = *old;
		if (!pthread_create(&t, NULL, fork_close_shell, s)) {
			pthread_detach(t);
			return;
		}
		free(s);
	}
	vm_shell_destroy(old);
}

/* The forked VM over its fresh view in a KVM VM made ahead (vm_pool.h),
 * its vCPU as saved in this pause: nothing deleted, nothing that grows
 * with guest size. false if no shell is to be had (no pool, a machine
 * with an irqchip); a failure after the move stops the VM, saying why. */
static bool fork_parent_to_shell(struct fork_pause *fp, int *ret, char *err, size_t errlen)
{
	struct vm *vm = fp->vm;
	struct vm_shell shell, old;
	uint64_t t0 = histo_now_ns();

	if (!vm->cfg.pool || vm->machine->irqchip || !vm_pool_take(vm->cfg.pool, &shell))
		return false;
	*ret = vm_move_to_shell(vm, &shell, &old);
	fork_retire_shell(&old);
	if (!*ret)
		*ret = machine_state_restore_vcpu(vm, fp->m, err, errlen);
	else
		err_into(err, errlen, *ret, "%s", last_error());
	fp->res->slots_ns = histo_now_ns() - t0;
	if (*ret)
		vm_stop(vm, VMM_STATUS_INTERNAL, "moving to a fresh KVM VM at the fork: %s", err);
	fp->children_after = !*ret;
	return true;
}

/* The fork point, the forked VM parked: memory into the image, the VM
 * over a fresh view of it, in a KVM VM made ahead where it can
 * (fork_parent_to_shell: its children are made once it runs again); else
 * its own, whose slots are moved to the fresh view on a thread of their
 * own while the children are made and started: deleting a slot zaps
 * every KVM entry it had, which grows with guest size. A slot that
 * cannot be moved leaves the VM with no memory KVM can use: it is
 * stopped, saying why. */
static int fork_freeze_cb(void *arg, char *err, size_t errlen)
{
	struct fork_pause *fp = arg;
	struct fork_slots sl = {.vm = fp->vm};
	uint64_t t0 = histo_now_ns();
	pthread_t slots;
	bool threaded;
	int ret = vmem_fork_freeze(fp->vm->mem.vmem);

	if (ret)
		return fork_refused(fp->vm, ret, err, errlen);
	fp->res->view_ns = histo_now_ns() - t0;
	if (fork_parent_to_shell(fp, &ret, err, errlen))
		return ret;
	threaded = !pthread_create(&slots, NULL, fork_slots_thread, &sl);
	t0 = histo_now_ns();
	ret = fork_children(fp->vm, fp->res->count, fp->m, fp->res->generation, err, errlen);
	fp->res->children_ns = histo_now_ns() - t0;
	if (threaded)
		pthread_join(slots, NULL);
	else
		fork_slots_thread(&sl);
	fp->res->slots_ns = sl.ns;
	if (!sl.ret)
		return ret;
	err_into(err, errlen, sl.ret, "moving guest memory's KVM slots to the fork's view: %s",
		 last_error());
	vm_stop(fp->vm, VMM_STATUS_INTERNAL, "%s", err);
	return sl.ret;
}

/* Pause, save the machine, freeze memory into the image and make the
 * children, resume. */
static int fork_pause_and_freeze(struct vm *vm, struct machine_state *m, struct fork_result *res,
				 char *err, size_t errlen)
{
	struct fork_pause fp = {vm, m, res, false};
	struct vm_pause_parts p = {0};
	int ret = vm_pause_for(vm, fork_machine_cb, fork_freeze_cb, &fp, &p, err, errlen);
	uint64_t t0 = histo_now_ns();

	res->park_ns = p.park_ns;
	res->machine_ns = p.machine_ns;
	res->freeze_ns = p.freeze_ns;
	res->resume_ns = p.resume_ns;
	res->pause_ns = p.pause_ns;
	if (ret || !fp.children_after)
		return ret;
	ret = fork_children(vm, res->count, m, res->generation, err, errlen);
	res->children_ns = histo_now_ns() - t0;
	return ret;
}

int fork_vm(struct vm *vm, unsigned count, struct fork_result *res, char *err, size_t errlen)
{
	struct machine_state m = {0};
	int ret;

	*res = (struct fork_result){.request_ns = histo_now_ns(), .count = count};
	if (!count || count > GUEST_RAM_FORK_MAX)
		return err_into(err, errlen, -EINVAL, "count %u: expected 1 to %u", count,
				GUEST_RAM_FORK_MAX);
	if (!vm->cfg.fleet || !vm->mem.vmem)
		return err_into(err, errlen, -ENOTSUP, "%s",
				!vm->cfg.fleet ? "this VM cannot have children here"
					       : "fork needs --memory-manager=vmm");
	if (vm->forkid.generation == UINT16_MAX)
		return err_into(err, errlen, -EINVAL, "generation %u is the last",
				vm->forkid.generation);
	res->generation = vm->forkid.generation + 1;
	fleet_fork_begin(vm->cfg.fleet);
	if (vm->cfg.pool)
		vm_pool_reserve(vm->cfg.pool, count + 1); /* the forked VM may take one */
	ret = vmem_fork_check(vm->mem.vmem);
	if (ret) {
		fork_refused(vm, ret, err, errlen);
		goto out;
	}
	ret = fork_pause_and_freeze(vm, &m, res, err, errlen);
	machine_state_free(&m);
	if (vmem_fork_image(vm->mem.vmem)) {
		res->shared_pages = vmem_image_pages(vmem_fork_image(vm->mem.vmem));
		/* The forked VM's old view: unmapped once every child runs. */
		vmem_fork_retire(vm->mem.vmem);
	}
out:
	if (vm->cfg.pool)
		vm_pool_release(vm->cfg.pool);
	fleet_fork_end(vm->cfg.fleet);
	return ret;
}
