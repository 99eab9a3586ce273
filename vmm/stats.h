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

#include <jansson.h>
#include <stdio.h>

#include "guest_ram.h"

struct vm;

/* Where the report goes: written to a temporary file beside the target
 * and renamed onto it once complete, so that a run that dies, or a report
 * that cannot be written, leaves the target as it was. */
struct stats_file {
	const char *path; /* the target; "-": stdout */
	char *tmp;	  /* the temporary file, NULL for stdout */
	FILE *f;
};

/* Before the run, so that a bad path is refused at once, not after the
 * guest ran: 0, -EINVAL if path names one of the run's inputs (NULL-
 * terminated; the same file by device and inode), or -errno. */
int stats_open(struct stats_file *sf, const char *path, const char *const *inputs);
/* Write the report and rename it into place: 0 or -errno. manager is the
 * one the run asked for: after a set-up failure vm may not have got as far
 * as setting up its memory. Releases sf either way. */
int stats_write_json(const struct vm *vm, enum guest_ram_manager manager, struct stats_file *sf);
/* Drop the report: the temporary file is removed, the target untouched. */
void stats_abandon(struct stats_file *sf);
/* The report as a jansson object (the caller owns it), for --stats-json
 * and the control socket's stat; NULL only without memory. */
json_t *stats_report_json(const struct vm *vm, enum guest_ram_manager manager);
/* One line for --stats-interval: faults by class, frames, metadata, RSS. */
void stats_print_line(const struct vm *vm, FILE *f);

#endif
