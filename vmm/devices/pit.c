/* vmm/devices/pit.c: the in-kernel PIT, see pit.h. */
#include "pit.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "err.h"

#define PIT_FLAGS (KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON)

void pit_init(struct pit *p)
{
	memset(p, 0, sizeof(*p));
	p->vm_fd = -1;
}

int pit_create(struct pit *p, int vm_fd)
{
	struct kvm_pit_config cfg = {.flags = KVM_PIT_SPEAKER_DUMMY};

	if (ioctl(vm_fd, KVM_CREATE_PIT2, &cfg) < 0)
		return err_sys("vm", "KVM_CREATE_PIT2");
	p->vm_fd = vm_fd;
	return 0;
}

int pit_save(const struct pit *p, void *buf, size_t len, size_t *used)
{
	struct kvm_pit_state2 s = p->state;
	struct devstate_writer w;

	if (p->vm_fd >= 0 && !p->restored && ioctl(p->vm_fd, KVM_GET_PIT2, &s) < 0)
		return -errno;
	devstate_begin(&w, buf, len, PIT_STATE_VERSION);
	for (int i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &s.channels[i];
		const uint8_t f[] = {
		    c->count_latched, c->status_latched, c->status, c->read_state, c->write_state,
		    c->write_latch,   c->rw_mode,	 c->mode,   c->bcd,	   c->gate};

		devstate_put_u32(&w, c->count);
		devstate_put_u32(&w, c->latched_count);
		devstate_put_bytes(&w, f, sizeof(f));
	}
	devstate_put_u32(&w, s.flags);
	return devstate_end(&w, used);
}

static void pit_get_channel(struct devstate_reader *r, int i, struct kvm_pit_channel_state *c)
{
	const uint8_t *f;
	uint32_t latched;

	c->count = devstate_get_u32(r, "count");
	latched = devstate_get_u32(r, "latched_count");
	f = devstate_get_bytes(r, 10, "channel");
	if (!f)
		return;
	*c = (struct kvm_pit_channel_state){.count = c->count,
					    .latched_count = (uint16_t)latched,
					    .count_latched = f[0],
					    .status_latched = f[1],
					    .status = f[2],
					    .read_state = f[3],
					    .write_state = f[4],
					    .write_latch = f[5],
					    .rw_mode = f[6],
					    .mode = f[7],
					    .bcd = f[8],
					    .gate = f[9]};
	/* KVM gives a channel never programmed mode 0xff. */
	if (c->count > 0x10000 || latched > 0xffff || (c->mode > 5 && c->mode != 0xff) ||
	    c->rw_mode > 3 || c->read_state > 4 || c->write_state > 4 || c->count_latched > 3)
		devstate_fail(r,
			      "channel %d: count %#x, latched_count %#x, mode %u, rw_mode %u, "
			      "read_state %u, write_state %u, count_latched %u: expected at most "
			      "0x10000, 0xffff, 5 (or 0xff, never programmed), 3, 4, 4, 3",
			      i, c->count, latched, c->mode, c->rw_mode, c->read_state,
			      c->write_state, c->count_latched);
	if (c->status_latched > 1 || c->bcd > 1 || c->gate > 1)
		devstate_fail(r, "channel %d: status_latched %u, bcd %u, gate %u: expected 0 or 1",
			      i, c->status_latched, c->bcd, c->gate);
}

int pit_restore(struct pit *p, const void *buf, size_t len, char *err, size_t errlen)
{
	struct devstate_reader r;
	struct kvm_pit_state2 s;

	memset(&s, 0, sizeof(s));
	devstate_open(&r, "pit", PIT_STATE_VERSION, buf, len, err, errlen);
	for (int i = 0; i < 3; i++)
		pit_get_channel(&r, i, &s.channels[i]);
	s.flags = devstate_get_u32(&r, "flags");
	if (s.flags & ~PIT_FLAGS)
		devstate_fail(&r,
			      "flags %#x: expected only HPET_LEGACY (1) and SPEAKER_DATA_ON (2)",
			      s.flags);
	if (devstate_close(&r))
		return r.ret;
	p->state = s;
	p->restored = true;
	return 0;
}

int pit_commit(struct pit *p, char *err, size_t errlen)
{
	if (!p->restored)
		return 0;
	if (ioctl(p->vm_fd, KVM_SET_PIT2, &p->state) < 0)
		return err_into(err, errlen, -errno, "pit: KVM_SET_PIT2: %s", strerror(errno));
	p->restored = false;
	return 0;
}

DEVSTATE_OPS_COMMIT(pit_state_ops, "pit", struct pit, pit_save, pit_restore, pit_commit);

int pit_register(struct pit *p, struct devstate_table *states)
{
	return devstate_register(states, &pit_state_ops, p);
}
