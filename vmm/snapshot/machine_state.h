/* vmm/snapshot/machine_state.h: a VM's machine (its vCPU, its devices and
 * the "vm" section's fields) as one value, whether it was read from a
 * snapshot's sections (restore.h) or captured from a paused VM in memory
 * (a snapshot writes it, a fork hands it to its children as it is).
 */
#ifndef VMM_SNAPSHOT_MACHINE_STATE_H
#define VMM_SNAPSHOT_MACHINE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "machine.h"

struct vm;
struct vcpu_state;

/* The machine of a snapshot, as read from its sections or captured. */
struct machine_state {
	uint64_t mem_bytes, tsc_hz; /* section "vm" */
	enum machine_id machine;    /* section "vm" (version 1: MACHINE_VMM) */
	struct vcpu_state *vcpu;    /* section "vcpu0", parsed (allocated) */
	const void *devices;	    /* section "devices": devstate_save_all's bytes, in r */
	size_t devices_len;
	void *devices_owned; /* devices, when captured (not in a file): freed with m */
	/* For messages: the file (NULL for a fork's machine, made in
	 * memory) and where its sections' bytes are in it. */
	const char *path;
	uint64_t vcpu_off, devices_off;
};

/* Where a message about a section's bytes points: "FILE: offset N
 * (section "name", byte B)", or without a file (path NULL) the section
 * and byte alone. Into buf (len bytes); returns buf. */
const char *machine_state_where(char *buf, size_t len, const char *path, uint64_t off,
				const char *name, size_t byte);

/* The machine of a paused VM (vCPU, devices, the "vm" section's fields),
 * in memory: what a snapshot file's sections hold, and what a fork hands
 * its children as it is. 0 or -errno, err says; machine_state_free
 * releases m whatever the outcome. */
int machine_state_save(struct vm *vm, struct machine_state *m, char *err, size_t errlen);
void machine_state_free(struct machine_state *m);

/* Restored in two steps, the VM built between them (vm.h): */
/* devstate_restore_all on the VM's table: 0 or -EINVAL, naming the
 * file's offset, the section and the device. */
int machine_state_restore_devices(struct vm *vm, const struct machine_state *m, char *err,
				  size_t errlen);
/* On a created vCPU that has not run, memory in place: the saved state and
 * vm->tsc_hz, then the devices whose state lives in KVM (devstate.h's
 * commit: the irqchip, PIT and kvm-clock of a Linux machine). 0, or
 * -errno (-EINVAL: KVM refused a value), naming the file's offset and the
 * section. */
int machine_state_restore_vcpu(struct vm *vm, const struct machine_state *m, char *err,
			       size_t errlen);

#endif
