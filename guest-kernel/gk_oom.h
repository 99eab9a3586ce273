/* guest-kernel/gk_oom.h: the OOM killer's choice.
 *
 * When a fault needs a frame and none is free even after the page cache
 * gave back what nobody maps, the kernel kills one process: the one with
 * the highest badness, which is what Linux's oom_badness computes without
 * swap:
 *
 *   badness = resident pages + page-table pages + adj * total pages / 1000
 *
 * adj is the process's SYS_OOM_ADJ value, -1000..1000 (Linux's
 * oom_score_adj): +1000 makes a process the first choice whatever its
 * size, -1000 exempts it, and values between shift the score by that
 * share of all memory. A process with a score below 1 but not exempt
 * scores 1, so it can still be chosen. Ties go to the lowest pid (the
 * earliest in the table), so the choice is reproducible.
 */
#ifndef GK_OOM_H
#define GK_OOM_H

#include <stdint.h>

#define OOM_ADJ_MIN (-1000)
#define OOM_ADJ_MAX 1000

struct gk_oom_candidate {
	int pid;
	int adj;
	uint64_t rss, pt_pages;
};

/* The score, or -1 for an exempt process (adj = -1000). */
int64_t gk_oom_badness(const struct gk_oom_candidate *c, uint64_t total_pages);
/* Index of the process to kill among n, or -1 if all are exempt. */
int gk_oom_choose(const struct gk_oom_candidate *c, unsigned n, uint64_t total_pages);

#endif
