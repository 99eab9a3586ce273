/* vmm/devices/hcall.h: the hypercall port (VMM_PORT_HCALL).
 *
 * The guest writes the GPA of a struct vmm_hcall; the block and every GPA
 * it names are checked against guest RAM. A malformed request gets
 * ret = -EINVAL and a message naming the GPA; a block outside RAM stops
 * the VM, since there is nowhere to put the answer.
 *
 * The device needs of its VM only guest RAM, the line console and a way
 * to stop it, so a test builds one without a VM.
 */
#ifndef VMM_HCALL_H
#define VMM_HCALL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm_abi.h"

struct guest_ram;
struct console;
struct ioport_bus;
struct devstate_table;

struct hcall_stats {
	uint64_t calls[VMM_HC_COPY + 1]; /* answered without error, by VMM_HC_* */
	uint64_t errors;
	uint64_t discarded_pages;
	uint64_t copied_pages;
};

/* stop(ctx, reason): the guest cannot go on (a block with no room for
 * the answer); the VM ends as a crash. */
typedef void (*hcall_stop_fn)(void *ctx, const char *reason);

#define HCALL_ERROR_MAX 256

struct hcall {
	struct guest_ram *mem;
	struct console *con;
	hcall_stop_fn stop;
	void *ctx;
	struct hcall_stats stats;
	char last_error[HCALL_ERROR_MAX]; /* why the last refused request was */
	FILE *log;			  /* where refusals are printed (stderr); NULL: not */
};

void hcall_init(struct hcall *h, struct guest_ram *mem, struct console *con, hcall_stop_fn stop,
		void *ctx);
void hcall_handle(struct hcall *h, uint32_t block_gpa);
/* Claim VMM_PORT_HCALL on io (a 4-byte OUT of the block's GPA), and the
 * device's row in states. */
int hcall_register(struct hcall *h, struct ioport_bus *io, struct devstate_table *states);

/* State (devstate.h), version HCALL_STATE_VERSION. A request is whole
 * within one exit, and a paused vCPU is between exits, so none is ever in
 * flight; what remains is the device's counters, struct hcall_stats:
 *   u64 calls[VMM_HC_LINE..VMM_HC_COPY], errors, discarded_pages, copied_pages
 * errors also decides whether the next bad request is printed. */
#define HCALL_STATE_VERSION 1
int hcall_save(const struct hcall *h, void *buf, size_t len, size_t *used);
int hcall_restore(struct hcall *h, const void *buf, size_t len, char *err, size_t errlen);

#endif
