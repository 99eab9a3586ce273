/* vmm/devices/kvmclock.c: the VM's kvm-clock, see kvmclock.h. */
#include "kvmclock.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "err.h"

void kvmclock_init(struct kvmclock *c)
{
	memset(c, 0, sizeof(*c));
	c->vm_fd = -1;
}

void kvmclock_attach(struct kvmclock *c, int vm_fd)
{
	c->vm_fd = vm_fd;
}

int kvmclock_save(const struct kvmclock *c, void *buf, size_t len, size_t *used)
{
	struct kvm_clock_data d = {.clock = c->ns};
	struct devstate_writer w;

	if (c->vm_fd >= 0 && !c->restored && ioctl(c->vm_fd, KVM_GET_CLOCK, &d) < 0)
		return -errno;
	devstate_begin(&w, buf, len, KVMCLOCK_STATE_VERSION);
	devstate_put_u64(&w, d.clock);
	return devstate_end(&w, used);
}

int kvmclock_restore(struct kvmclock *c, const void *buf, size_t len, char *err, size_t errlen)
{
	struct devstate_reader r;
	uint64_t ns;

	devstate_open(&r, "kvmclock", KVMCLOCK_STATE_VERSION, buf, len, err, errlen);
	ns = devstate_get_u64(&r, "ns");
	if (devstate_close(&r))
		return r.ret;
	c->ns = ns;
	c->restored = true;
	return 0;
}

int kvmclock_commit(struct kvmclock *c, char *err, size_t errlen)
{
	struct kvm_clock_data d = {.clock = c->ns};

	if (!c->restored)
		return 0;
	if (ioctl(c->vm_fd, KVM_SET_CLOCK, &d) < 0)
		return err_into(err, errlen, -errno, "kvmclock: KVM_SET_CLOCK: %s",
				strerror(errno));
	c->restored = false;
	return 0;
}

DEVSTATE_OPS_COMMIT(kvmclock_state_ops, "kvmclock", struct kvmclock, kvmclock_save,
		    kvmclock_restore, kvmclock_commit);

int kvmclock_register(struct kvmclock *c, struct devstate_table *states)
{
	return devstate_register(states, &kvmclock_state_ops, c);
}
