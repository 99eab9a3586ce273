/* ept/host.c: the frame store and VM ids of one process, see host.h. */
#include "host.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct host {
	struct frame_db *db;
	pthread_mutex_t lock; /* the VM ids */
	unsigned nr_vms;
	uint64_t id_used[HOST_MAX_VMS / 64]; /* bit n: VM id n + 1 is taken */
};

int host_create(struct host **out, uint64_t max_frames, uint64_t budget_frames)
{
	struct host *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return -ENOMEM;
	ret = frame_db_create(&h->db, max_frames, budget_frames);
	if (ret) {
		free(h);
		return ret;
	}
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return 0;
}

int host_destroy(struct host *h)
{
	if (!h)
		return 0;
	if (h->nr_vms)
		return -EBUSY;
	frame_db_destroy(h->db);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}

struct frame_db *host_frames(const struct host *h)
{
	return h->db;
}

/* A free VM id (1 .. HOST_MAX_VMS), taken; 0 if none is left. */
static uint16_t host_take_id(struct host *h)
{
	for (unsigned i = 0; i < HOST_MAX_VMS; i++)
		if (!(h->id_used[i / 64] & (1ULL << (i % 64)))) {
			h->id_used[i / 64] |= 1ULL << (i % 64);
			return i + 1;
		}
	return 0;
}

static void host_put_id(struct host *h, uint16_t id)
{
	h->id_used[(id - 1) / 64] &= ~(1ULL << ((id - 1) % 64));
}

int host_vm_create(struct host *h, const struct vmem_config *cfg, struct vmem **out)
{
	struct vmem_config c = *cfg;
	int ret;

	pthread_mutex_lock(&h->lock);
	c.vm_id = host_take_id(h);
	pthread_mutex_unlock(&h->lock);
	if (!c.vm_id)
		return -ENOSPC;
	c.db = h->db;
	ret = vmem_create(out, &c);
	pthread_mutex_lock(&h->lock);
	if (ret)
		host_put_id(h, c.vm_id);
	else
		h->nr_vms++;
	pthread_mutex_unlock(&h->lock);
	return ret;
}

void host_vm_destroy(struct host *h, struct vmem *v)
{
	uint16_t id;

	if (!v)
		return;
	id = vmem_id(v);
	vmem_destroy(v);
	pthread_mutex_lock(&h->lock);
	host_put_id(h, id);
	h->nr_vms--;
	pthread_mutex_unlock(&h->lock);
}
