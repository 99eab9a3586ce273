/* vmm/snapshot/snapshot.h: snapshots of a running VM, and the sections a
 * restore reads back (restore.h; docs/snapshot.md).
 *
 * A snapshot (vmm snapshot --control S --out DIR) is taken in four steps:
 * arm the view's write-protection while the guest runs, pause, save the
 * machine (below) and freeze memory (ept/vmem.h: vmem_snap_*), resume. A
 * thread of the VM then writes every page as of the pause to DIR.tmp and
 * renames it to DIR. One snapshot at a time per VM: a second request while
 * one is written is refused.
 *
 * The machine's sections in the file (snapfile.h names them devices):
 *   "vm"       SNAPSHOT_VM_VERSION (2), devstate framing: u64 mem_bytes,
 *              u64 tsc_hz (what the guest was told at boot), u32 machine
 *              (machine.h: 0 vmm, 1 linux); version 1, without machine,
 *              is read as the vmm machine
 *   "vcpu0"    VCPU_STATE_VERSION: vcpu_state_to_bytes()
 *   "devices"  SNAPSHOT_DEVICES_VERSION: devstate_save_all() of the VM's
 *              device table (serial, console, exit, then the machine's:
 *              hypercalls for the vmm machine; irqchip, pit, kvmclock,
 *              acpi-pm and reset for a Linux machine; then forkid)
 *   "memory-hash"  only with --hash-memory: SNAPSHOT_MEMORY_HASH_VERSION,
 *              devstate framing: u64 XXH3-64 of all of guest RAM at the
 *              pause (snapshot_memory_hash), u64 the bytes hashed; a test
 *              aid, since hashing in the pause grows it with guest size
 */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapfile.h"

#define SNAPSHOT_DEV_VM		     "vm"
#define SNAPSHOT_DEV_VCPU	     "vcpu0"
#define SNAPSHOT_DEV_DEVICES	     "devices"
#define SNAPSHOT_VM_VERSION	     2
#define SNAPSHOT_DEVICES_VERSION     1
#define SNAPSHOT_DEV_MEMORY_HASH     "memory-hash"
#define SNAPSHOT_MEMORY_HASH_VERSION 1

struct vm;

/* Snapshots of a VM whose status stays readable by number. */
#define SNAPSHOT_HISTORY 8

/* What a snapshot of a VM is doing, or did last (vmm snapshot polls it). */
enum snapshot_phase { SNAPSHOT_NONE, SNAPSHOT_WRITING, SNAPSHOT_DONE, SNAPSHOT_FAILED };
struct snapshot_progress {
	uint64_t id; /* its number: a VM's snapshots count from 1; 0: none yet */
	enum snapshot_phase phase;
	char dir[4096];
	char error[400];
	uint64_t pages_total, pages_done; /* pages held at the pause, and saved */
	uint64_t bytes;			  /* page data written */
	uint64_t pause_ns;		  /* vCPUs stopped: park + machine + freeze + resume */
	uint64_t park_ns, machine_ns, freeze_ns, resume_ns;
	uint64_t arm_ns;		    /* before the pause */
	uint64_t rearmed, reprotected;	    /* protected again: before the pause, and in it */
	uint64_t write_ns;		    /* from the resume to the rename */
	uint64_t saved_by_fault, wp_faults; /* copy-before-write: pages the guest's writes saved */
	char io_via[32]; /* how page data is written: snap_writer_via (snapio.h) */
};

/* Snapshot the running VM into dir: arm, pause, save the machine, freeze,
 * resume, then write in a thread of the VM's own. Returns once the guest
 * runs again: 0 with the snapshot's id in *id (if not NULL), or -errno
 * with err: -EBUSY (a snapshot is being written), -EEXIST (dir or dir.tmp
 * exists), -ENOTSUP (no write-protect, or the kernel memory manager),
 * -ESRCH (the VM has stopped). */
int snapshot_start(struct vm *vm, const char *dir, bool hash_memory, uint64_t *id, char *err,
		   size_t errlen);
/* The progress of snapshot id, or with id 0 of the current or last one
 * (all zeros if none): 0, or -ENOENT if the VM has no snapshot id (never
 * had, or it is older than the last SNAPSHOT_HISTORY, which are kept). */
int snapshot_status(struct vm *vm, uint64_t id, struct snapshot_progress *out);
/* Make a snapshot being written give up at its next batch of pages: it
 * fails with "aborted: why" and its DIR.tmp is removed (one whose last
 * page is written is committed). Returns at once; snapshot_wait waits. */
void snapshot_abort(struct vm *vm, const char *why);
/* Wait until a snapshot being written is on disk (or has failed); its
 * status stays readable. */
void snapshot_wait(struct vm *vm);
/* The same, then free it (vm_destroy). */
void snapshot_finish(struct vm *vm);

struct guest_ram;
/* XXH3-64 of all of guest RAM in GPA order, read as the VMM reads it
 * (pages in swap or still in a snapshot count with their content): 0 or
 * -errno, with the page that could not be read in *bad_gpa (if not NULL). */
int snapshot_memory_hash(struct guest_ram *m, uint64_t *hash, uint64_t *bad_gpa);
/* Compare RAM with r's "memory-hash": 0, -ENOENT (none), -EINVAL (the
 * section is bad: another version, bad framing, another size), -EBADMSG
 * (differs, or a page cannot be read: the GPA named); err says. */
int snapshot_check_memory_hash(struct guest_ram *m, const struct snap_reader *r, char *err,
			       size_t errlen);

struct machine_state;
/* m as the machine's sections ("vm", "vcpu0", "devices") into w: 0 or
 * -errno, err says. snapshot_read_machine (restore.h) reads them back. */
int snapshot_write_machine(struct snap_writer *w, const struct machine_state *m, char *err,
			   size_t errlen);
/* The machine's sections of a paused VM into w (machine_state_save,
 * written): 0 or -errno, err says. */
int snapshot_save_machine(struct vm *vm, struct snap_writer *w, char *err, size_t errlen);

#endif
