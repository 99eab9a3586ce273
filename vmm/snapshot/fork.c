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
	unsigned made;	     /* children made in the pause */
	struct vm_shell old; /* the VM's KVM VM before it moved into a shell */
	bool has_old;
};

/* The forked VM's KVM VM moved to its fresh view (fork_move_start). */
struct fork_move {
	struct fork_pause *fp;
	struct vm_shell shell;
	bool to_shell; /* into shell (its old KVM VM into fp->old); else its own
			  slots deleted and made again */
	bool threaded;
	pthread_t thread;
	int ret;
	uint64_t ns;
	char err[400];
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

/* Start made[from, to): each runs from here on, all at once (the gate
 * opens once the last thread is made). The first that cannot be
 * started ends it, with err saying how many run; the rest are destroyed. */
static int fork_start(struct vm *vm, struct fork_made *made, unsigned from, unsigned to,
		      unsigned count, uint16_t gen, char *err, size_t errlen)
{
	int ret = 0;

	fleet_hold(vm->cfg.fleet, to - from > 1);
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
	fleet_hold(vm->cfg.fleet, false);
	return ret;
}

/* Children from + 1 to `to` of count, made first and started together:
 * a child that runs takes a CPU from the making of the next (eight
 * children on two CPUs left the control thread a fifth of one), so
 * starting each at once made the last one's start grow with the square
 * of the count. One that cannot be made ends the fork: those before it
 * run, and err says how many. */
static int fork_children(struct vm *vm, unsigned from, unsigned to, unsigned count,
			 const struct machine_state *m, uint16_t gen, char *err, size_t errlen)
{
	struct fork_made made[GUEST_RAM_FORK_MAX];
	unsigned n = from;
	char why[400];
	int ret = 0;

	while (n < to) {
		made[n].vm =
		    fork_make_child(vm, m, gen, n + 1, &made[n].owned, &ret, why, sizeof(why));
		if (!made[n].vm)
			break;
		n++;
	}
	if (n > from && fork_start(vm, made, from, n, count, gen, err, errlen))
		return -EIO;
	if (n < to)
		return err_into(err, errlen, ret, "%s (%u of %u children run)", why, n, count);
	return 0;
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

/* The forked VM into the shell: its vCPU set as saved in this pause. */
static int fork_parent_to_shell(struct fork_move *mv)
{
	struct fork_pause *fp = mv->fp;
	int ret = vm_move_to_shell(fp->vm, &mv->shell, &fp->old);

	fp->has_old = true;
	if (ret)
		return err_into(mv->err, sizeof(mv->err), ret, "%s", last_error());
	return machine_state_restore_vcpu(fp->vm, fp->m, mv->err, sizeof(mv->err));
}

static void *fork_move_thread(void *arg)
{
	struct fork_move *mv = arg;
	uint64_t t0 = histo_now_ns();

	if (mv->to_shell)
		mv->ret = fork_parent_to_shell(mv);
	else if ((mv->ret = vm_move_memory(mv->fp->vm)))
		err_into(mv->err, sizeof(mv->err), mv->ret, "%s", last_error());
	mv->ns = histo_now_ns() - t0;
	return NULL;
}

/* The forked VM's KVM VM follows it to its fresh view, on a thread of
 * its own beside the children made in the pause: into a KVM VM made
 * ahead (vm_pool.h) where it can, which deletes nothing and does not
 * grow with guest size; else its own slots deleted and made again, which
 * zaps every KVM entry they had and grows with guest size. */
static void fork_move_start(struct fork_move *mv)
{
	struct vm *vm = mv->fp->vm;

	mv->to_shell =
	    vm->cfg.pool && !vm->machine->irqchip && vm_pool_take(vm->cfg.pool, &mv->shell);
	mv->threaded = !pthread_create(&mv->thread, NULL, fork_move_thread, mv);
	if (!mv->threaded)
		fork_move_thread(mv);
}

/* 0, or the move's error: the VM is then left with no memory KVM can
 * use, and is stopped, saying why. */
static int fork_move_finish(struct fork_move *mv, char *err, size_t errlen)
{
	if (mv->threaded)
		pthread_join(mv->thread, NULL);
	mv->fp->res->slots_ns = mv->ns;
	if (!mv->ret)
		return 0;
	err_into(err, errlen, mv->ret, "moving the VM to the fork's view of its memory: %s",
		 mv->err);
	vm_stop(mv->fp->vm, VMM_STATUS_INTERNAL, "%s", err);
	return mv->ret;
}

/* The fork point, the forked VM parked: memory into the image, the VM
 * over a fresh view of it (fork_move_start) while children are made and
 * started. With a shell, a single child is made here (it runs before the
 * VM does), and several after the pause, so that the VM's pause stays
 * short. Without, all of them, while the slots are moved. */
static int fork_freeze_cb(void *arg, char *err, size_t errlen)
{
	struct fork_pause *fp = arg;
	struct fork_move mv = {.fp = fp};
	uint64_t t0 = histo_now_ns();
	char why[512];
	unsigned now;
	int moved, ret = vmem_fork_freeze(fp->vm->mem.vmem);

	if (ret)
		return fork_refused(fp->vm, ret, err, errlen);
	fp->res->view_ns = histo_now_ns() - t0;
	fork_move_start(&mv);
	now = !mv.to_shell || fp->res->count == 1 ? fp->res->count : 0;
	t0 = histo_now_ns();
	ret =
	    fork_children(fp->vm, 0, now, fp->res->count, fp->m, fp->res->generation, err, errlen);
	fp->res->children_ns = histo_now_ns() - t0;
	fp->made = ret ? fp->res->count : now; /* no more after a failure */
	moved = fork_move_finish(&mv, why, sizeof(why));
	if (moved && !ret)
		return err_into(err, errlen, moved, "%s", why);
	return ret;
}

/* Pause, save the machine, freeze memory into the image and make the
 * children, resume. */
static int fork_pause_and_freeze(struct vm *vm, struct machine_state *m, struct fork_result *res,
				 char *err, size_t errlen)
{
	struct fork_pause fp = {.vm = vm, .m = m, .res = res};
	struct vm_pause_parts p = {0};
	int ret = vm_pause_for(vm, fork_machine_cb, fork_freeze_cb, &fp, &p, err, errlen);
	uint64_t t0 = histo_now_ns();

	res->park_ns = p.park_ns;
	res->machine_ns = p.machine_ns;
	res->freeze_ns = p.freeze_ns;
	res->resume_ns = p.resume_ns;
	res->pause_ns = p.pause_ns;
	if (!ret && fp.made < res->count) {
		ret = fork_children(vm, fp.made, res->count, res->count, m, res->generation, err,
				    errlen);
		res->children_ns += histo_now_ns() - t0;
	}
	/* Once the children are started: closing it zaps what it mapped,
	 * which would take the CPU and the mm from the children's set-up. */
	if (fp.has_old)
		fork_retire_shell(&fp.old);
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
