/* vmm/fleet.c: the VMs of one vmm process, see fleet.h. */
#include "fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

void fleet_init(struct fleet *f, int out_fd, const char *console_dir)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->forks_done, NULL);
	f->out_fd = out_fd;
	f->console_dir = console_dir;
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
	*fd = *owned = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (*fd < 0) {
		snprintf(err, errlen, "--console-dir: %s: %s", path, strerror(errno));
		return -errno;
	}
	prefix[0] = '\0';
	return 0;
}

static void *fleet_child_thread(void *arg)
{
	struct fleet_child *c = arg;

	c->status = vm_run(c->vm);
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
	*c = (struct fleet_child){.vm = child, .fd = owned, .status = VMM_STATUS_INTERNAL};
	ret = pthread_create(&c->thread, NULL, fleet_child_thread, c);
	if (ret)
		vm_stop(child, VMM_STATUS_INTERNAL, "cannot start its thread: %s", strerror(ret));
	c->joinable = !ret;
	f->n++;
	pthread_mutex_unlock(&f->lock);
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

struct vm *fleet_child_vm(struct fleet *f, unsigned i)
{
	struct vm *vm;

	pthread_mutex_lock(&f->lock);
	vm = i < f->n ? f->child[i].vm : NULL;
	pthread_mutex_unlock(&f->lock);
	return vm;
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
	for (unsigned i = 0; i < fleet_count(f); i++) {
		struct vm *vm = f->child[i].vm;

		fprintf(out, "vmm: fork child %sexit %d: %s\n", vm->name, f->child[i].status,
			vm->reason);
	}
}

void fleet_destroy(struct fleet *f)
{
	fleet_wait(f);
	for (unsigned i = f->n; i-- > 0;) {
		vm_destroy(f->child[i].vm);
		free(f->child[i].vm);
		if (f->child[i].fd >= 0)
			close(f->child[i].fd);
	}
	f->n = 0;
	pthread_cond_destroy(&f->forks_done);
	pthread_mutex_destroy(&f->lock);
}
