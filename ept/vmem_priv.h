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

/* A fork image (vmem_fork.c): a VM's frames as of the fork point, which
 * it and its children map write-protected and copy out of on write. */
struct vmem_image {
	struct frame_db *db;
	uint64_t base, pages;		    /* its frames: the forked VM's region at the fork */
	struct ept *table;		    /* the forked VM's table at the fork point */
	uint16_t owner;			    /* the VM id its frames' records name */
	const struct vmem_pager_ops *pager; /* its swap slots' */
	void *pager_arg;
	const struct vmem_source_ops *source; /* its snapshot pages' */
	void *source_arg;
	struct vmem_block *block;	     /* fault-around bookkeeping at the fork */
	uint64_t resident, swapped, sourced; /* its pages, by kind */
	int refs;			     /* VMs that map it (atomic) */
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

	/* Reclaim (NULL pager: none). Buffers are page-aligned for O_DIRECT. */
	const struct vmem_pager_ops *pager;
	void *pager_arg;
	uint8_t *evict_buf;	       /* VMEM_EVICT_MAX pages */
	uint8_t *page_buf;	       /* one page: the VMM's accesses to swapped pages */
	unsigned swap_ra, swap_ra_max; /* swap-in read-ahead window, its cap */
	uint64_t swap_ra_next;	       /* page after the last swap-in's window */
	unsigned snap_ra;	       /* lazy restore's read-ahead window (cap: swap_ra_max) */
	uint64_t snap_ra_next;	       /* page after the last lazy load's window */
	uint64_t *wss_idx;	       /* armed sample, ascending */
	uint8_t *wss_touched;
	unsigned wss_n;

	/* Lazy restore: where EPT_SW_SNAP entries' pages come from. */
	const struct vmem_source_ops *source;
	void *source_arg;

	/* Live snapshots (vmem_snap.c). */
	uint64_t reg_modes; /* the view's userfaultfd modes */
	bool can_wp;	    /* shmem write-protect: snapshots can be taken */
	enum vmem_snap_state snap_state;
	bool snap_ending; /* vmem_snap_end is unprotecting the view */
	struct vmem_snap_sink snap_sink;
	uint64_t *snap_dirty;	/* armed: pages mapped writable since arming */
	uint64_t *snap_saved;	/* frozen: pages saved */
	struct ept *snap_table; /* frozen: the table as of the freeze */
	uint64_t snap_cursor;	/* the next GPA vmem_snap_save looks at */
	uint8_t *snap_buf;	/* one page, aligned */
	char snap_err[256];	/* why the snapshot failed */
	struct vmem_snap_stats snap;

	/* Fork (vmem_fork.c): the image the view maps, NULL if none, and which
	 * view pages map the VM's own region instead. */
	struct vmem_image *image;
	uint64_t *remapped;

	struct vmem_stats stats;
};

static inline bool vmem_bit(const uint64_t *map, uint64_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static inline void vmem_bit_set(uint64_t *map, uint64_t i)
{
	map[i / 64] |= 1ULL << (i % 64);
}

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
/* The inverse: page idx's frame goes (the caller put its swap copy first,
 * or handed it on) and its table entry becomes entry (0: empty). */
void vmem_page_unpopulated(struct vmem *v, uint64_t idx, uint64_t entry);
/* Fault-around bookkeeping: present page idx, whose entry was e, goes. */
void vmem_block_forget(struct vmem *v, uint64_t idx, uint64_t e);
bool vmem_page_present(const struct vmem *v, uint64_t idx);
/* A frame or a swap slot: the page has content (fault-around must not
 * fill it as a fresh page). */
bool vmem_page_held(const struct vmem *v, uint64_t idx);

/* Pages idx..idx+n of the view that the host maps (pagemap bit 63):
 * present[i]. -errno if pagemap cannot be read. */
int vmem_view_present(const struct vmem *v, uint64_t first, unsigned n, bool *present);
/* Zap the view's PTEs of [first, first + n): the next touch faults. */
void vmem_view_zap(struct vmem *v, uint64_t first, uint64_t n);
/* A WSS-sampled page was seen touched. */
void vmem_wss_seen(struct vmem *v, uint64_t idx);
/* Drop view page idx: its frame or swap slot goes back. */
void vmem_page_drop(struct vmem *v, uint64_t idx);
/* The budget is full and gpa needs a frame: let the pager free frames,
 * with v's lock dropped meanwhile. false: no pager, or nothing could be
 * freed (the pager then stopped v). */
bool vmem_reclaim_unlocked(struct vmem *v, uint64_t gpa);
/* A VM being stopped gives every frame and slot back: the number of
 * frames freed. */
uint64_t vmem_drop_all(struct vmem *v);
/* Put swap slot (a table entry's or a frame's cache reference). */
void vmem_slot_put(struct vmem *v, uint32_t slot);

/* The content of view page idx wherever it is, into buf (4 KiB, aligned):
 * its frame, its swap slot or the source (both verified), or zeros. 0, or
 * -errno with why. */
int vmem_page_content(struct vmem *v, uint64_t idx, void *buf, char *why, size_t len);

/* Live snapshot hooks (vmem_snap.c), called with v's lock. */
/* Page idx is about to change, or to be mapped writable: save it first if
 * the snapshot still needs it. content: its current 4 KiB if the caller
 * has them, else NULL (read where the page is). */
void vmem_snap_keep(struct vmem *v, uint64_t idx, const void *content);
/* Pages [first, first + n) were just mapped writable into the view. */
void vmem_snap_mapped(struct vmem *v, uint64_t first, uint64_t n);
/* A write-protect fault at view page idx. */
void vmem_snap_wp_fault(struct vmem *v, uint64_t idx);

/* Fork images (vmem_fork.c), with v's lock. */
/* Whether the view maps page idx from v's own region (always, without an
 * image). */
bool vmem_remapped(const struct vmem *v, uint64_t idx);
/* Whether entry e at gpa is the image's (not v's own frame or slot). */
bool vmem_image_owns(const struct vmem *v, uint64_t gpa, uint64_t e);
/* Map view pages [first, first + n) from v's own region, registered. */
int vmem_fork_privatise(struct vmem *v, uint64_t first, uint64_t n);
/* The content of page idx (the image's) into v->page_buf; a failure
 * stops the VM, naming the GPA (the guest never sees the page). */
int vmem_image_read(struct vmem *v, uint64_t idx);
/* Page idx, whose entry e is the image's, becomes v's own page holding
 * content: mapped writable into the view (map: UFFDIO_COPY, which wakes
 * the vCPU) or only stored. -ENOMEM: no frame (reclaim and retry). */
int vmem_fork_break(struct vmem *v, uint64_t idx, uint64_t e, const void *content, bool map);
/* Before a VMM write: page idx becomes v's own, copied from the image
 * (not mapped); a no-op unless it is the image's. */
int vmem_fork_own_page(struct vmem *v, uint64_t idx);
/* A discard of page idx: true if it was the image's (and is now empty). */
bool vmem_fork_drop(struct vmem *v, uint64_t idx);
/* Write-protect (wp) view pages [first, first + n), or lift it from the
 * remapped ones only: the image's must stay protected. A mapping at a
 * time: the view is several once pages are broken out. */
int vmem_fork_protect(struct vmem *v, uint64_t first, uint64_t n, bool wp);
/* The VM is being stopped: cut its view from the store and wake it. */
void vmem_fork_sever(struct vmem *v);
/* The fork point (vmem_fork_freeze): v's region becomes an image. */
int vmem_fork_make_image(struct vmem *v);
/* A child's view of img, at creation. */
int vmem_fork_child_init(struct vmem *v, struct vmem_image *img);
void vmem_image_put(struct vmem_image *img);

void fault_mark_used(struct vmem *v, uint64_t idx);
/* Stop the VM with msg: on_fatal, then the view is unregistered. */
void fault_stop_vm(struct vmem *v, const char *msg);
void *fault_thread(void *arg);

#endif
