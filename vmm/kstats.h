/* vmm/kstats.h: KVM's binary statistics (KVM_GET_STATS_FD).
 *
 * Reads every single-valued counter of a VM or vCPU stats fd, by name:
 * exits, io_exits, insn_emulation, pf_taken, ... Histograms are skipped.
 */
#ifndef VMM_KSTATS_H
#define VMM_KSTATS_H

#include <stdint.h>

struct kstat {
	char name[64];
	uint64_t value;
};

struct kstats {
	int n;
	struct kstat *v;
};

/* 0 or -errno; an fd of -1 gives an empty set. */
int kstats_read(int stats_fd, struct kstats *out);
void kstats_free(struct kstats *s);

#endif
