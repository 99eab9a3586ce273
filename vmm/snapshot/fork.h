/* vmm/snapshot/fork.h: fork a running VM into children in this process.
 *
 * Pause, save the vCPU and the devices as bytes (as a snapshot does, but
 * into memory), freeze memory into a fork image (ept/vmem.h: vmem_fork_*)
 * with the VM moved onto a fresh view of it, resume: nothing grows with
 * guest size, and nothing is armed beforehand. Each
 * child is then a new KVM VM whose RAM is a view of the image, whose vCPU
 * and devices are set from those bytes, and whose fork-id port says
 * (generation + 1, index 1..count). The children run in the fleet
 * (fleet.h), sharing every frame with each other and with the forked VM
 * until one of them writes it.
 *
 * A VM can be forked once: a forked VM and its children have an image,
 * and a second one is refused (the note in docs/fork.md says why).
 */
#ifndef VMM_SNAPSHOT_FORK_H
#define VMM_SNAPSHOT_FORK_H

#include <stddef.h>
#include <stdint.h>

struct vm;

struct fork_result {
	unsigned count;
	uint16_t generation; /* the children's */
	uint64_t request_ns; /* CLOCK_MONOTONIC when asked */
	uint64_t pause_ns;   /* vCPUs stopped: park + machine + freeze + resume */
	uint64_t park_ns, machine_ns, freeze_ns, resume_ns;
	uint64_t view_ns;      /* of the freeze: the image made, the fresh view mapped */
	uint64_t slots_ns;     /* the KVM memory slots moved to it (beside the children) */
	uint64_t children_ns;  /* of the freeze: the children made and started */
	uint64_t shared_pages; /* the image's frames */
};

/* Fork vm into count children (1..GUEST_RAM_FORK_MAX): 0, or -errno with
 * err saying why (-EINVAL count, -ENOTSUP no fleet or no vmm manager or no
 * write-protect, -EALREADY forked already, -EBUSY a snapshot is under
 * way, -ESRCH stopped). Each child runs as soon as it is made; if one
 * cannot be made, those before it run and err says how many. */
int fork_vm(struct vm *vm, unsigned count, struct fork_result *res, char *err, size_t errlen);

#endif
