/* vmm/snapshot/restore.h: a new VM from a snapshot (vmm restore DIR).
 *
 * snapshot_restore_vm (below) puts the pieces together, in this order:
 *   snapshot_read_machine     the sections "vm", "vcpu0" and "devices"
 *                             (snapshot.h) read and checked, no VM needed
 *   machine_state_restore_devices  the devices set to their saved state: plain
 *                             structures, so before /dev/kvm is opened
 *   -- KVM, guest RAM of the snapshot's size, the vCPU with its CPUID --
 *   snapshot_load_eager       every data page read, checked and written
 *     or snapshot_set_lazy    every data page left to the source
 *                             (snapshot_source_ops): read on first touch
 *   machine_state_restore_vcpu     the vCPU's registers, MSRs and the rest
 * so that everything the file can get wrong is a usage error (exit 2) on
 * any host, except a page's data, which is checked when it is read: by an
 * eager restore before the guest runs (exit 2), by a lazy one when the
 * guest first touches it (the fault path stops the VM: exit 3).
 *
 * Messages go into err, one sentence naming the file (and the section or
 * the offset and GPA), as snapfile.h's do.
 */
#ifndef VMM_SNAPSHOT_RESTORE_H
#define VMM_SNAPSHOT_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_ram.h"
#include "machine_state.h"
#include "snapfile.h"
#include "vmem.h"

struct vm;
struct vcpu_state;

/* 0, -EINVAL naming the section and what was wrong (missing, another
 * version, bad framing, a mem_bytes other than the file's), -ENOMEM.
 * machine_state_free releases m whatever the outcome. */
int snapshot_read_machine(const struct snap_reader *r, struct machine_state *m, char *err,
			  size_t errlen);
/* How a restore loads memory, beyond --lazy or --eager. */
struct snapshot_load_opts {
	bool no_background;    /* --no-background: a lazy restore loads on touch only */
	unsigned record_ws_ms; /* --record-ws MS: record the working set (wsfile.h) */
	const uint64_t *ws;    /* DIR/working-set, read and checked (snap_ws_read) */
	uint64_t ws_pages;     /* its pages: loaded first, before the guest runs */
};

/* Pages of data (SNAP_KIND_DATA) in r: what an eager restore makes resident. */
uint64_t snapshot_data_pages(const struct snap_reader *r);
/* Read every data page of r and write it to mem (zero pages are left: RAM
 * starts zeroed): the file in order, 2 MiB a read, each page checked
 * against its hash, then installed with its neighbours in one write to the
 * frame store and mapped into the view in bulk (vmem_load_run), so that
 * the guest takes no fault on a restored page. 0, -EBADMSG naming offset
 * and GPA, -EIO, -ENOMEM. */
int snapshot_load_eager(struct guest_ram *mem, const struct snap_reader *r, char *err,
			size_t errlen);
/* Make each data page of r a source page of mem (vmem_set_source_page);
 * mem was created with snapshot_source_ops and r as its source. Then, as
 * o says (NULL: nothing more): the working set o->ws loaded first, in
 * bulk and mapped; the loader thread started (vmem_loader_start), which
 * loads the rest in GPA order while the guest runs and records the
 * working set after o->record_ws_ms. */
int snapshot_set_lazy(struct guest_ram *mem, const struct snap_reader *r,
		      const struct snapshot_load_opts *o, char *err, size_t errlen);
/* The source of a lazy restore: arg is the struct snap_reader. */
extern const struct vmem_source_ops snapshot_source_ops;

struct vm_config;
/* A VM from the snapshot r instead of a kernel, in the two steps of vm.h:
 * cfg->mem_bytes is the snapshot's, cfg->kernel and cfg->cmdline unused.
 * No kernel is loaded and no boot data written: guest memory, the vCPU
 * and the devices come from r, which must stay open while the VM lives
 * (lazy: its pages are read as the guest touches them; eager: all before
 * the guest runs). 0 or an enum vmm_status, as vm_create. */
int snapshot_restore_vm(struct vm *vm, const struct vm_config *cfg, struct snap_reader *r,
			bool lazy);

#endif
