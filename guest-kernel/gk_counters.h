/* guest-kernel/gk_counters.h: the first level's counters, for the VMM.
 *
 * The counters live in their modules (faults, page cache, processes,
 * TLB, frames); gk_counters_fill gathers them into the ABI's struct
 * vmm_guest_counters. Where the device tree names a guest-counters page
 * (vmm_abi.h), gk_counters_publish writes them there as a seqlock: at
 * every process switch, and from the trap path at most every
 * COUNTERS_INTERVAL_US, so the VMM's view is never older than that while
 * processes run. The same numbers close the run on the COUNTERS line.
 */
#ifndef GK_COUNTERS_H
#define GK_COUNTERS_H

#include <stdint.h>
#include <vmm_abi.h>

#define COUNTERS_INTERVAL_US 1000

struct gk_kernel;

struct gk_counters {
	struct vmm_guest_counters *page; /* NULL: no page to publish to */
	uint64_t interval;		 /* TSC cycles between publications */
	uint64_t last;			 /* TSC of the last one */
};

/* gpa: the page the device tree names, 0 for none. */
void gk_counters_init(struct gk_kernel *k, uint64_t gpa);
void gk_counters_fill(struct gk_kernel *k, struct vmm_guest_counters *c);
void gk_counters_publish(struct gk_kernel *k);
/* Publish if the last publication is older than the interval. */
void gk_counters_tick(struct gk_kernel *k, uint64_t tsc);
/* `COUNTERS key=value ...` on the console. */
void gk_counters_line(struct gk_kernel *k);

#endif
