/* vmm/fleet.c: the VMs of one vmm process, see fleet.h. */
#include "fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"

#define FLEET_FD_TABLE 1024

static void fleet_read_cpus(struct fleet *f)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			f->cpus[f->nr_cpus++] = cpu;
}

void fleet_expect_children(void)
{
	struct rlimit r;
	int fd, high, want = FLEET_FD_TABLE;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < (rlim_t)want)
		want = (int)r.rlim_cur;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	high = fcntl(fd, F_DUPFD_CLOEXEC, want - 1);
	if (high >= 0)
		close(high);
	close(fd);
}

void fleet_init(struct fleet *f, int out_fd, const char *console_dir)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->forks_done, NULL);
	f->out_fd = out_fd;
	f->console_dir = console_dir;
	vm_gate_init(&f->gate);
	fleet_read_cpus(f);
}

void fleet_hold(struct fleet *f, bool hold)
{
	vm_gate_set(&f->gate, !hold);
}

int fleet_next_cpu(struct fleet *f, int parent_cpu)
{
	unsigned turn, at = 0;

	if (!f->nr_cpus)
		return -1;
	while (at < f->nr_cpus && f->cpus[at] != parent_cpu)
		at++;
	pthread_mutex_lock(&f->lock);
	turn = ++f->cpu_turn;
	pthread_mutex_unlock(&f->lock);
	return f->cpus[(at + turn) % f->nr_cpus];
}

/* A child's console file is a regular file, checked before it is opened
 * (fd -1) and once it is: a FIFO or a device there would hold the fork,
 * and the control thread with it, or take its lines elsewhere. */
static int fleet_console_check(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if ((fd < 0 ? stat(path, &st) : fstat(fd, &st)) < 0) {
		if (fd < 0 && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "--console-dir: %s: %s", path, strerror(errno));
		return -EINVAL;
	}
	if (S_ISREG(st.st_mode))
		return 0;
	snprintf(err, errlen, "--console-dir: %s exists and is not a regular file: refusing it",
		 path);
	return -EINVAL;
}

int fleet_console(struct fleet *f, const char *id, int *fd, int *owned, char *prefix, size_t len,
		  char *err, size_t errlen)
{
	char path[4096];

	*owned = -1;
	if (!f->console_dir) {
		*fd = f->out_fd;
		snprintf(prefix, len, "[%s] ", id);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/vm-%s.log", f->console_dir, id);
	/* O_NONBLOCK: a FIFO there would hold the open until someone reads
	 * it, and the fork and the control thread with it. */
	if (fleet_console_check(-1, path, err, errlen))
		return -EINVAL;
	*fd = *owned = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
	if (*fd < 0) {
		int ret = -errno;

		snprintf(err, errlen, "--console-dir: %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fleet_console_check(*fd, path, err, errlen) || fcntl(*fd, F_SETFL, 0) < 0) {
		close(*fd);
		*fd = *owned = -1;
		return -EINVAL;
	}
	prefix[0] = '\0';
	return 0;
}

/* The child has stopped: keep its summary, then give back everything it
 * holds, outside the lock (its fault thread and vCPU are joined there). */
static void fleet_release(struct fleet_child *c)
{
	struct fleet *f = c->fleet;
	struct vm *vm = c->vm;

	pthread_mutex_lock(&f->lock);
	snprintf(c->reason, sizeof(c->reason), "%s", vm->reason);
	snprintf(c->name, sizeof(c->name), "%s", vm->name);
	c->generation = vm->forkid.generation;
	c->index = vm->forkid.index;
	c->first_run_ns = __atomic_load_n(&vm->stats.first_run_ns, __ATOMIC_RELAXED);
	c->vm = NULL;
	pthread_mutex_unlock(&f->lock);
	vm_destroy(vm);
	free(vm);
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_lock(&f->lock);
	c->fd = -1;
	c->released = true;
	pthread_mutex_unlock(&f->lock);
}

static void *fleet_child_thread(void *arg)
{
	struct fleet_child *c = arg;

	c->status = vm_run(c->vm);
	fleet_release(c);
	return NULL;
}

int fleet_start(struct fleet *f, struct vm *child, int owned)
{
	struct fleet_child *c;
	int ret;

	pthread_mutex_lock(&f->lock);
	if (f->n == GUEST_RAM_FORK_MAX) {
		pthread_mutex_unlock(&f->lock);
		vm_destroy(child);
		free(child);
		if (owned >= 0)
			close(owned);
		return -ENOSPC;
	}
	c = &f->child[f->n];
	*c = (struct fleet_child){
	    .fleet = f, .vm = child, .fd = owned, .status = VMM_STATUS_INTERNAL, .cpu = child->cpu};
	if (f->stopping)
		vm_stop(child, f->stop_status, "%s", f->stop_reason);
	/* Its first instruction does not wait for this thread's. */
	vm_run_start(child, &f->gate);
	ret = pthread_create(&c->thread, NULL, fleet_child_thread, c);
	if (ret)
		vm_stop(child, VMM_STATUS_INTERNAL, "cannot start its thread: %s", strerror(ret));
	c->joinable = !ret;
	f->n++;
	pthread_mutex_unlock(&f->lock);
	if (ret) {
		c->status = vm_run(child); /* joins the vCPU thread, stopped above */
		fleet_release(c);
	}
	return -ret;
}

unsigned fleet_count(struct fleet *f)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->n;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fleet_visit(struct fleet *f, void (*fn)(void *arg, const struct fleet_child *c), void *arg)
{
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->n; i++)
		fn(arg, &f->child[i]);
	pthread_mutex_unlock(&f->lock);
}

unsigned fleet_stop_all(struct fleet *f, int status, const char *reason)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	if (!f->stopping) {
		f->stopping = true;
		f->stop_status = status;
		snprintf(f->stop_reason, sizeof(f->stop_reason), "%s", reason);
	}
	for (unsigned i = 0; i < f->n; i++)
		if (f->child[i].vm)
			vm_stop(f->child[i].vm, status, "%s", reason);
	n = f->n;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fleet_fork_begin(struct fleet *f)
{
	pthread_mutex_lock(&f->lock);
	f->forking++;
	pthread_mutex_unlock(&f->lock);
}

void fleet_fork_end(struct fleet *f)
{
	pthread_mutex_lock(&f->lock);
	if (!--f->forking)
		pthread_cond_broadcast(&f->forks_done);
	pthread_mutex_unlock(&f->lock);
}

/* A child still to join, once no fork is under way; NULL: none. */
static struct fleet_child *fleet_next_to_join(struct fleet *f)
{
	struct fleet_child *c = NULL;

	pthread_mutex_lock(&f->lock);
	while (f->forking)
		pthread_cond_wait(&f->forks_done, &f->lock);
	for (unsigned i = 0; i < f->n && !c; i++)
		if (f->child[i].joinable)
			c = &f->child[i];
	pthread_mutex_unlock(&f->lock);
	return c;
}

void fleet_wait(struct fleet *f)
{
	struct fleet_child *c;

	while ((c = fleet_next_to_join(f))) {
		pthread_join(c->thread, NULL);
		c->joinable = false;
	}
}

void fleet_report(struct fleet *f, FILE *out)
{
	fleet_wait(f);
	for (unsigned i = 0; i < f->n; i++)
		fprintf(out, "vmm: fork child %sexit %d: %s\n", f->child[i].name,
			f->child[i].status, f->child[i].reason);
}

void fleet_destroy(struct fleet *f)
{
	fleet_wait(f);
	f->n = 0;
	vm_gate_destroy(&f->gate);
	pthread_cond_destroy(&f->forks_done);
	pthread_mutex_destroy(&f->lock);
}
