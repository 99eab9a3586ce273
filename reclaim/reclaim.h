/* reclaim/reclaim.h: overcommit for every VM of one host.
 *
 * The reclaimer keeps the host memory budget (the frame store's) by moving
 * cold pages to its own swap file, and is the pager behind every VM's
 * non-resident pages (vmem_pager_ops). Pieces:
 *   - replacement: one Clock hand per VM over its view pages (the access
 *     bit is the view PTE, see vmem_scan); the VM with the most resident
 *     pages gives first;
 *   - watermarks: below low free frames a background thread evicts until
 *     high are free; a fault that finds no frame reclaims directly;
 *   - swap: a swap map (slot reference counts) over a swap file (I/O and
 *     checksums), see swapmap.h and swapfile.h;
 *   - working-set estimation: each period, n random pages of each VM are
 *     invalidated and those touched by the next period are counted;
 *   - OOM: when nothing can be freed, the VM with the most resident pages
 *     that is not protected is stopped (if every VM is protected, the one
 *     whose fault found no frame).
 *
 * Lock order: the reclaimer's VM list, then a VM's lock, then the
 * reclaimer's I/O lock (swap map and file), then the frame database.
 */
#ifndef RECLAIM_RECLAIM_H
#define RECLAIM_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "histo.h"
#include "swapfile.h"
#include "vmem.h"
#include "wss.h"

#define RECLAIM_DEFAULT_WSS_MS	    1000
#define RECLAIM_DEFAULT_WSS_SAMPLES 400

struct reclaimer;

struct reclaim_config {
	struct frame_db *db;
	struct swapfile *swap;	/* opened (swapfile.h), now the reclaimer's; NULL: no
				 * swap, the budget is a hard limit */
	unsigned wss_period_ms; /* 0: no working-set sampling */
	unsigned wss_samples;
	uint64_t seed;
};

/* -errno with err saying what is wrong. The swap file is the reclaimer's
 * from here on, whatever the outcome. */
int reclaim_create(struct reclaimer **out, const struct reclaim_config *c, char *err, size_t len);
/* Every VM must have left first. */
void reclaim_destroy(struct reclaimer *r);

/* The pager for vmem_config (arg: the reclaimer), or NULL without swap. */
const struct vmem_pager_ops *reclaim_pager(const struct reclaimer *r);
int reclaim_add_vm(struct reclaimer *r, struct vmem *v, bool oom_protect);
/* Before vmem_destroy: the reclaimer no longer touches v. */
void reclaim_remove_vm(struct reclaimer *r, struct vmem *v);
/* The background thread (watermarks, sampling). */
int reclaim_start(struct reclaimer *r);
/* Close the working-set sampling period now: collect every VM's sample,
 * estimate, and arm the next one. The thread does this every period; a
 * caller with sampling off (wss_period_ms 0) drives it (tests). */
void reclaim_sample(struct reclaimer *r);

struct reclaim_stats {
	bool swap;
	const char *swap_path, *swap_io; /* "io_uring" or "sync" */
	bool swap_direct;		 /* O_DIRECT, or buffered with the fallback */
	uint64_t swap_slots, swap_used;
	uint64_t low_frames, high_frames;
	uint64_t wakeups;	   /* background passes started below low */
	uint64_t direct;	   /* reclaim calls from the fault path */
	uint64_t scans, scanned;   /* vmem_scan calls, pages examined */
	uint64_t evicted, written; /* pages evicted; of those written to swap */
	uint64_t swap_full;	   /* evictions refused: no free slot */
	uint64_t oom_kills;
	uint64_t swap_reads, swap_read_errors, checksum_failures, swap_writes;
	struct histo pass_ns;	     /* one reclaim pass (a batch), scan and evict */
	struct histo swapin_read_ns; /* swap file read of one page */
	size_t metadata_bytes;	     /* swap map, checksums, per-VM state */
};
void reclaim_get_stats(struct reclaimer *r, struct reclaim_stats *out);

struct reclaim_vm_stats {
	struct wss_estimate wss; /* the last period's */
	uint64_t wss_periods;
	bool oom_protect, oom_killed;
};
int reclaim_vm_stats(struct reclaimer *r, const struct vmem *v, struct reclaim_vm_stats *out);

#endif
