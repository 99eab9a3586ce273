/* vmm/devices/kvmclock.h: the VM's kvm-clock (KVM_GET_CLOCK,
 * KVM_SET_CLOCK), what a Linux guest's clocks run on.
 *
 * kvm-clock is the guest's nanosecond clock: KVM keeps its value per VM
 * and gives each vCPU the parameters to read it from its TSC. A restored
 * or forked VM sets it to its value at the pause, so that the guest's
 * monotonic clock goes on from where it was (the time the VM spent saved
 * does not pass for it) and its wall clock, which Linux keeps as an
 * offset from it, never goes back. The vCPU's TSC goes on the same way
 * (vcpu_state.h), so the two stay in step.
 *
 * State "kvmclock", version KVMCLOCK_STATE_VERSION: u64 ns, the clock at
 * the pause. Any value is a clock; restore refuses only bad framing.
 * kvmclock_commit() sets it once the vCPU is restored.
 */
#ifndef VMM_KVMCLOCK_H
#define VMM_KVMCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devstate.h"

#define KVMCLOCK_STATE_VERSION 1

struct kvmclock {
	int vm_fd;     /* -1 until kvmclock_attach */
	bool restored; /* ns holds a restored clock for kvmclock_commit */
	uint64_t ns;
};

void kvmclock_init(struct kvmclock *c);
void kvmclock_attach(struct kvmclock *c, int vm_fd);
int kvmclock_register(struct kvmclock *c, struct devstate_table *states);

int kvmclock_save(const struct kvmclock *c, void *buf, size_t len, size_t *used);
int kvmclock_restore(struct kvmclock *c, const void *buf, size_t len, char *err, size_t errlen);
int kvmclock_commit(struct kvmclock *c, char *err, size_t errlen);

#endif
