/* vmm/devices/pit.h: the in-kernel 8254 PIT of a Linux machine
 * (KVM_CREATE_PIT2), at ports 0x40-0x43, its channel 0 on ISA IRQ 0, with
 * port 0x61's speaker gate (KVM_PIT_SPEAKER_DUMMY: KVM serves it too).
 *
 * Linux uses it at boot (to calibrate, and to check that the timer
 * interrupt arrives) and then runs on the LAPIC timer and kvm-clock. Like
 * irqchip.h, it lives in KVM: a snapshot reads it (KVM_GET_PIT2), a
 * restore parses it with no VM and pit_commit() sets it (KVM_SET_PIT2),
 * which restarts each counter from its count at that moment.
 *
 * State "pit", version PIT_STATE_VERSION: for each of the 3 channels,
 *   u32 count, u16 latched_count, then u8 count_latched, status_latched,
 *   status, read_state, write_state, write_latch, rw_mode, mode, bcd, gate;
 * then u32 flags. Not saved: each channel's count_load_time, a reading of
 * the saving host's clock, which KVM_SET_PIT2 replaces with its own.
 * Restore refuses a count past 0x10000, a mode past 5 (but 0xff, which
 * KVM gives a channel never programmed), an access mode
 * (rw_mode) past 3, a read or write state past 4 (KVM's word states), a
 * latch state past 3, status_latched, bcd or gate other than 0 or 1, flags
 * other than HPET_LEGACY and SPEAKER_DATA_ON.
 */
#ifndef VMM_PIT_H
#define VMM_PIT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/kvm.h>

#include "devstate.h"

#define PIT_STATE_VERSION 1

struct pit {
	int vm_fd;     /* -1 until pit_create */
	bool restored; /* state holds a restored one for pit_commit */
	struct kvm_pit_state2 state;
};

void pit_init(struct pit *p);
/* KVM_CREATE_PIT2, after the irqchip: 0 or -errno. */
int pit_create(struct pit *p, int vm_fd);
int pit_register(struct pit *p, struct devstate_table *states);

int pit_save(const struct pit *p, void *buf, size_t len, size_t *used);
int pit_restore(struct pit *p, const void *buf, size_t len, char *err, size_t errlen);
int pit_commit(struct pit *p, char *err, size_t errlen);

#endif
