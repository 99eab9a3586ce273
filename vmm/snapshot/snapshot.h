/* vmm/snapshot/snapshot.h: snapshots of a running VM, and VMs restored
 * from them (docs/snapshot.md).
 *
 * A snapshot (vmm snapshot --control S --out DIR) is taken in four steps:
 * arm the view's write-protection while the guest runs, pause, save the
 * machine (below) and freeze memory (ept/vmem.h: vmem_snap_*), resume. A
 * thread of the VM then writes every page as of the pause to DIR.tmp and
 * renames it to DIR. One snapshot at a time per VM: a second request while
 * one is written is refused.
 *
 * The machine's sections in the file (snapfile.h names them devices):
 *   "vm"       SNAPSHOT_VM_VERSION, devstate framing: u64 mem_bytes,
 *              u64 tsc_hz (what the guest was told at boot)
 *   "vcpu0"    VCPU_STATE_VERSION: vcpu_state_to_bytes()
 *   "devices"  SNAPSHOT_DEVICES_VERSION: devstate_save_all() of the VM's
 *              device table (serial, console, exit, hypercalls)
 */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "snapfile.h"

#define SNAPSHOT_DEV_VM		 "vm"
#define SNAPSHOT_DEV_VCPU	 "vcpu0"
#define SNAPSHOT_DEV_DEVICES	 "devices"
#define SNAPSHOT_VM_VERSION	 1
#define SNAPSHOT_DEVICES_VERSION 1

struct vm;

/* Write the machine's sections of a paused VM into w: 0 or -errno, err says. */
int snapshot_save_machine(struct vm *vm, struct snap_writer *w, char *err, size_t errlen);
/* Set a created, not yet run VM to the machine of r: vCPU, devices. 0, or
 * -EINVAL naming the section and what was wrong. */
int snapshot_restore_machine(struct vm *vm, const struct snap_reader *r, char *err,
			     size_t errlen);

#endif
