/* ept/host.h: what every VM of one process shares.
 *
 * The host owns the frame store and its database (frame.h), and so the
 * host memory budget, and hands out VM ids. VMs are created on it and
 * destroyed from it; each VM has its own table, view and fault thread
 * (vmem.h). Concurrency: each VM's fault thread takes its VM's lock, then
 * the frame database's (frame.h): one lock discipline, no global lock on
 * the fault path, so VMs fault in parallel.
 */
#ifndef EPT_HOST_H
#define EPT_HOST_H

#include <stdint.h>

#include "frame.h"
#include "vmem.h"

#define HOST_MAX_VMS 1024

struct host;

/* A store of max_frames frames, at most budget_frames resident. */
int host_create(struct host **out, uint64_t max_frames, uint64_t budget_frames);
/* -EBUSY (and nothing freed) while VMs live on it. */
int host_destroy(struct host *h);
struct frame_db *host_frames(const struct host *h);

/* A VM on the host: cfg->db and cfg->vm_id are the host's to fill in.
 * -ENOSPC past HOST_MAX_VMS, or whatever vmem_create says. */
int host_vm_create(struct host *h, const struct vmem_config *cfg, struct vmem **out);
/* The VM goes and drops only its own references (vmem_destroy). */
void host_vm_destroy(struct host *h, struct vmem *v);

#endif
