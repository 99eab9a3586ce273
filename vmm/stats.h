/* vmm/stats.h: the --stats-json report.
 *
 * One JSON object: the exit status and reason, the guest's RESULT lines
 * (key=value pairs, numbers as numbers), the VMM's own counters, and
 * KVM's binary statistics for the VM and each vCPU.
 */
#ifndef VMM_STATS_H
#define VMM_STATS_H

struct vm;

/* Write the report to path ("-" for stdout): 0 or -errno. */
int stats_write_json(const struct vm *vm, const char *path);

#endif
