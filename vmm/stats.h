/* vmm/stats.h: the --stats-json report.
 *
 * One JSON object: the exit status and reason, the guest's RESULT lines
 * (key=value pairs: integers as JSON integers, anything else as strings),
 * the VMM's own counters, and KVM's binary statistics for the VM and each
 * vCPU. Written with jansson, so that whatever the guest printed it is
 * valid JSON.
 */
#ifndef VMM_STATS_H
#define VMM_STATS_H

#include <stdio.h>

#include "gmem.h"

struct vm;

/* Open the report's file ("-": stdout) before the run, so that a bad path
 * is refused at once, not after the guest ran: NULL with a message. */
FILE *stats_open(const char *path);
/* Write the report to f and close it (path names it in messages): 0 or
 * -errno. manager is the one the run asked for: after a set-up failure vm
 * may not have got as far as setting up its memory. */
int stats_write_json(const struct vm *vm, enum gmem_manager manager, FILE *f, const char *path);
/* One line for --stats-interval: faults by class, frames, metadata, RSS. */
void stats_print_line(const struct vm *vm, FILE *f);

#endif
