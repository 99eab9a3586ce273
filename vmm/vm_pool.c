/* vmm/vm_pool.c: KVM VMs made ahead of time, see vm_pool.h. */
#include "vm_pool.h"

#include <errno.h>
#include <string.h>

/* Ready or being made: what a fork under way still has to take, else
 * want. The refill waits until the fork is over: a shell made while the
 * fork's own children are set up takes a CPU from them. */
static unsigned pool_target(const struct vm_pool *p)
{
	return p->forking ? p->extra : p->want;
}

/* One maker: a shell at a time while the pool is short, the lock dropped
 * while it is made. */
static void *pool_thread(void *arg)
{
	struct vm_pool *p = arg;
	struct vm_shell s;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		if (p->failed || p->n + p->making >= pool_target(p)) {
			pthread_cond_wait(&p->changed, &p->lock);
			continue;
		}
		p->making++;
		pthread_mutex_unlock(&p->lock);
		int ret = vm_shell_make(&s, p->normalise_cpuid);

		pthread_mutex_lock(&p->lock);
		p->making--;
		if (ret)
			p->failed = true; /* said once by vm_shell_make; forks make their own */
		else
			p->shell[p->n++] = s;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int vm_pool_start(struct vm_pool *p, unsigned want, bool normalise_cpuid, unsigned nr_cpus)
{
	int ret = 0;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	p->want = want > VM_POOL_MAX ? VM_POOL_MAX : want;
	p->normalise_cpuid = normalise_cpuid;
	if (!p->want)
		return 0;
	nr_cpus = nr_cpus ? nr_cpus : 1;
	while (!ret && p->nr_threads < nr_cpus && p->nr_threads < VM_POOL_THREADS) {
		ret = -pthread_create(&p->thread[p->nr_threads], NULL, pool_thread, p);
		p->nr_threads += !ret;
	}
	return p->nr_threads ? 0 : ret;
}

void vm_pool_reserve(struct vm_pool *p, unsigned count)
{
	pthread_mutex_lock(&p->lock);
	p->extra = count > VM_POOL_MAX ? VM_POOL_MAX : count;
	p->forking = true;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
}

void vm_pool_release(struct vm_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->extra = 0;
	p->forking = false;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
}

bool vm_pool_take(struct vm_pool *p, struct vm_shell *out)
{
	bool got = false;

	pthread_mutex_lock(&p->lock);
	while (p->nr_threads && !p->stopping && !p->n && !p->failed &&
	       (p->making || pool_target(p)))
		pthread_cond_wait(&p->changed, &p->lock);
	if (p->n) {
		*out = p->shell[--p->n];
		p->extra -= p->extra > 0;
		got = true;
		pthread_cond_broadcast(&p->changed); /* a maker refills */
	}
	pthread_mutex_unlock(&p->lock);
	return got;
}

void vm_pool_stop(struct vm_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nr_threads; i++)
		pthread_join(p->thread[i], NULL);
	while (p->n)
		vm_shell_destroy(&p->shell[--p->n]);
	p->nr_threads = 0;
	pthread_cond_destroy(&p->changed);
	pthread_mutex_destroy(&p->lock);
}
