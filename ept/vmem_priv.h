/* ept/vmem_priv.h: what vmem.c and fault.c share; not for other modules. */
#ifndef EPT_VMEM_PRIV_H
#define EPT_VMEM_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "ept.h"
#include "uffd.h"
#include "vmem.h"

#define VMEM_BLOCK_SHIFT 9 /* fault-around bookkeeping per 2 MiB of view */

struct vmem_block {
	uint16_t present; /* resident pages */
	uint16_t used;	  /* of those, faulted on or seen touched */
	uint16_t ahead;	  /* of those, filled ahead and not yet seen touched */
};

struct vmem {
	struct frame_db *db;
	uint16_t vm_id;
	int nr_ranges;
	struct vmem_range range[VMEM_MAX_RANGES];
	uint64_t range_first[VMEM_MAX_RANGES]; /* view page index of each range */
	uint64_t pages;			       /* view size in pages */
	uint64_t base_frame; /* the VM's region: fresh page i is frame base_frame + i */
	uint8_t *view;
	struct ept *table;
	struct uffd uffd;
	int pagemap_fd; /* /proc/self/pagemap: which view pages the guest touched */
	void *zeros;	/* VMEM_MAX_WINDOW pages of zeros, the source of UFFDIO_COPY */

	pthread_mutex_t lock; /* table, frames of this VM, stats, policy */
	pthread_t thread;
	bool running;
	int stop_fd; /* eventfd: tells the fault thread to leave */
	int handler_cpu;
	vmem_fatal_fn on_fatal;
	void *arg;
	bool fatal;
	uint64_t spurious_idx; /* page of the last spurious fault, see fault_present */

	/* Fault-around policy: a streaming detector and, per 2 MiB block, what
	 * is resident and how much of it was filled ahead and not yet seen
	 * used (see fault.c). */
	unsigned max_window;
	uint64_t seq_start;  /* first page of the last window */
	uint64_t seq_next;   /* page after the last window */
	unsigned seq_window; /* grows while faults stream forward */
	struct vmem_block *block;
	uint64_t nr_blocks;

	struct vmem_stats stats;
};

static inline uint64_t vmem_idx_gpa(const struct vmem *v, uint64_t idx)
{
	int i = v->nr_ranges - 1;

	while (i > 0 && idx < v->range_first[i])
		i--;
	return v->range[i].gpa + ((idx - v->range_first[i]) << EPT_PAGE_SHIFT);
}

/* View page index of gpa, or -1 if gpa is not RAM. */
int64_t vmem_gpa_idx(const struct vmem *v, uint64_t gpa);
/* The frame a page the VM never had gets (its own region's page idx). */
uint64_t vmem_fresh_frame(const struct vmem *v, uint64_t idx);
/* Record that view page idx now holds frame data (charges the budget);
 * ahead: filled by fault-around, not asked for. */
int vmem_page_populated(struct vmem *v, uint64_t idx, bool ahead);
bool vmem_page_present(const struct vmem *v, uint64_t idx);

void *fault_thread(void *arg);

#endif
