/* vmm/guest_counters.h: the guest kernel's first-level counters, read from
 * the page the device tree names (include/vmm_abi.h, "guest-counters").
 *
 * The guest writes the page as a seqlock while it runs; the VMM reads it
 * with its own accessors (guest_ram_read: no exit, no fault on the
 * guest's side) whenever it reports: vmm stat, --stats-json and
 * --stats-interval. Nothing in the page is trusted: a copy is taken,
 * twice around its sequence number, and checked (guest_counters_check)
 * before a number of it is shown. A page that is all zero is "not
 * written" (a guest that does not publish); one that fails a check is
 * bad, counted and not shown; one the guest was writing during every try
 * is torn, counted apart.
 */
#ifndef VMM_GUEST_COUNTERS_H
#define VMM_GUEST_COUNTERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm_abi.h"

struct guest_ram;

#define GUEST_COUNTERS_TRIES 4 /* reads of a page the guest keeps writing */

/* The reader's own tallies, updated atomically: reports come from the
 * control thread, the clock and the main thread alike. */
struct guest_counters {
	uint64_t reads, bad, torn;
};

enum guest_counters_state { GC_VALID, GC_ABSENT, GC_BAD, GC_TORN };

/* Check a copy of the page (len bytes): GC_VALID with *out filled,
 * GC_ABSENT for an all-zero page, GC_BAD with *why naming the first
 * thing wrong, GC_TORN if the guest was writing it (seq odd). ram_pages:
 * the guest's RAM in pages, the most it can manage. */
enum guest_counters_state guest_counters_check(const void *page, size_t len, uint64_t ram_pages,
					       struct vmm_guest_counters *out, const char **why);
/* Read the page at gpa from m and check it, counting in gc. */
enum guest_counters_state guest_counters_read(struct guest_counters *gc, const struct guest_ram *m,
					      uint64_t gpa, struct vmm_guest_counters *out,
					      const char **why);
/* The "first_level" object of the report: how the reads went and, when
 * the page is valid, the counters. NULL only without memory. */
json_t *guest_counters_json(struct guest_counters *gc, const struct guest_ram *m, uint64_t gpa);
/* " guest_faults=anon/file/cow/stack cow_copies=N procs=N" for
 * --stats-interval, or nothing while the page is not valid. */
void guest_counters_print(struct guest_counters *gc, const struct guest_ram *m, uint64_t gpa,
			  FILE *f);

#endif
