/* ept/vmem.h: one VM's guest-physical memory, managed by the VMM.
 *
 * Guest RAM is a region of the frame store (frame_region_alloc); the view
 * KVM sees is one MAP_SHARED mapping of that region, registered with
 * userfaultfd, so the first guest touch of a page the VMM has not filled
 * reaches the fault handler thread (fault.c) as a second-level fault. The
 * handler consults the table (ept.h), classifies the fault, fills a window
 * of neighbouring pages in one UFFDIO call, records the frames and counts
 * the fault by class with its service time. How the files of this module
 * divide the work, and which way they call: vmem_priv.h.
 *
 * The VMM's own accesses (loader, boot data, hypercalls) use pread/pwrite
 * on the store, never the view (vmem_access.c): they take no fault, and
 * reading a page that is not there reads zeros without allocating it.
 */
#ifndef EPT_VMEM_H
#define EPT_VMEM_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "histo.h"

#define VMEM_MAX_RANGES 2
#define VMEM_MAX_WINDOW 512 /* pages per fault: 2 MiB */

struct vmem_range {
	uint64_t gpa;
	uint64_t size;
};

/* Called from the fault thread when the VM cannot go on (budget exhausted). */
typedef void (*vmem_fatal_fn)(void *arg, const char *msg);

struct vmem;

/* The pager behind pages that are not resident: reclaim/ implements it,
 * this module calls it (the dependency runs reclaim -> ept). Slots are the
 * pager's; a table swap entry holds one reference, and so does a frame
 * whose content a slot still holds (frame_swap_slot). */
struct vmem_pager_ops {
	/* Read slots[i] into pages[i] (4 KiB, aligned), i < n, and verify
	 * them. 0, or -errno with msg saying what failed: slot, file, offset.
	 * Called with v's lock. */
	int (*swap_in)(void *arg, struct vmem *v, const uint32_t *slots, void *const *pages,
		       unsigned n, char *msg, size_t len);
	/* Drop one reference to slot. */
	void (*swap_put)(void *arg, uint32_t slot);
	/* The budget is full and v needs a frame for gpa: free frames (any
	 * VM's) and return how many were freed. 0: nothing could be freed and
	 * the pager's OOM policy stopped v itself (vmem_kill, naming gpa).
	 * Called without v's lock. */
	uint64_t (*reclaim)(void *arg, struct vmem *v, uint64_t gpa, uint64_t want);
};

/* Where a lazily restored page comes from: the vmm's snapshot reader
 * implements it. A table entry EPT_SW_SNAP holds the source's page index. */
struct vmem_source_ops {
	/* Read page index into page (4 KiB, aligned) and verify it: 0, or
	 * -errno with msg naming the file and offset. Called with v's lock,
	 * from the fault thread or a VMM access. */
	int (*load)(void *arg, uint64_t index, void *page, char *msg, size_t len);
	/* Optional: indices [index, index + n) (n <= VMEM_MAX_WINDOW) into
	 * pages, verified, in as few reads as the source can. Called without
	 * v's lock, from the loader thread (vmem_loader_start). */
	int (*load_run)(void *arg, uint64_t index, unsigned n, void *pages, char *msg, size_t len);
};

struct vmem_config {
	struct frame_db *db;
	uint16_t vm_id;
	const struct vmem_range *ranges;
	int nr_ranges;
	int handler_cpu;     /* pin the fault thread there; -1: do not pin */
	unsigned max_window; /* fault-around cap in pages, 1..VMEM_MAX_WINDOW */
	vmem_fatal_fn on_fatal;
	void *arg;
	/* NULL: no reclaim, the budget is a hard limit. Else the view is also
	 * registered for MINOR faults (the reclaimer's access bit). */
	const struct vmem_pager_ops *pager;
	void *pager_arg;
	unsigned swap_readahead; /* swap-in and lazy-load read-ahead cap, 1..VMEM_EVICT_MAX; 0: 1 */
	/* NULL: none. Else pages set with vmem_set_source_page come from it
	 * on first touch (a lazy restore from a snapshot file). */
	const struct vmem_source_ops *source;
	void *source_arg;
	/* NULL: a VM of its own. Else a fork child: its memory starts as the
	 * image's, shared until written (vmem_fork_freeze). */
	struct vmem_image *image;
};

enum fault_class {
	FAULT_ZERO,	/* first touch of an anonymous page */
	FAULT_COW,	/* write to a shared frame */
	FAULT_SWAPIN,	/* page is in swap */
	FAULT_SNAPLOAD, /* page is in a snapshot file */
	FAULT_INVALID,	/* outside guest RAM: counted by the VMM from KVM exits */
	FAULT_NR_CLASSES
};

struct vmem_class_stats {
	uint64_t events;	  /* faults */
	uint64_t pages;		  /* pages mapped by them (fault-around) */
	struct histo ns;	  /* service time of a fault */
	struct histo ns_per_page; /* the same over the pages it mapped: windows vary 1 to 512 */
};

/* Who loaded pages in bulk (vmem_load_run). */
enum vmem_load_kind {
	VMEM_LOAD_EAGER,      /* an eager restore, before the guest runs */
	VMEM_LOAD_PREFETCH,   /* a working set, loaded first */
	VMEM_LOAD_BACKGROUND, /* the loader thread, while the guest runs */
	VMEM_LOAD_AHEAD,      /* read ahead of a lazy load's fault (fault.c) */
	VMEM_LOAD_NR
};

struct vmem_stats {
	struct vmem_class_stats cls[FAULT_NR_CLASSES];
	uint64_t loaded[VMEM_LOAD_NR]; /* pages loaded in bulk, by whom */
	uint64_t load_mapped;	       /* of those, mapped into the view at once */
	uint64_t vmm_filled_pages;     /* written by the VMM: kernel image, boot data */
	uint64_t discarded_pages;
	uint64_t copied_pages;
	uint64_t resident_pages;  /* frames of this VM */
	uint64_t spurious;	  /* faults already resolved when read */
	uint64_t minor;		  /* MINOR faults: a store page mapped again (UFFDIO_CONTINUE) */
	uint64_t swap_outs;	  /* pages written to swap and dropped */
	uint64_t clean_drops;	  /* pages dropped whose swap copy was still valid: no I/O */
	uint64_t zero_drops;	  /* pages of zeros dropped: their next touch is a zero fill */
	uint64_t swapped_pages;	  /* table entries that name a swap slot */
	uint64_t swap_ahead;	  /* pages swap-in read ahead of the fault */
	uint64_t direct_reclaims; /* faults that had to free frames first */
	uint64_t ahead_filled;	  /* pages fault-around filled before the guest asked */
	uint64_t ahead_used;	  /* of those, seen used by the guest since */
	uint64_t source_pages;	  /* table entries that still name a source page (lazy restore) */
	uint64_t source_ahead;	  /* of the source's pages, read ahead of the fault */
	uint64_t shared_pages;	  /* pages mapped from a fork image, not copied yet */
	uint64_t cow_pages;	  /* pages copied out of a fork image on a write */
	uint64_t remapped_pages;  /* view pages mapped over the image one by one */
	size_t table_bytes;	  /* second-level table */
	size_t policy_bytes;	  /* fault-around bookkeeping */
	const char *uffd_via;	  /* "syscall" or "/dev/userfaultfd" */
	const char *share_via;	  /* how a read of an image page is mapped: "continue-wp" (one
				     ioctl, 6.4+), "continue+writeprotect" (three, 6.1), "none yet" */
};

struct vmem;

int vmem_create(struct vmem **out, const struct vmem_config *cfg);
/* Start the fault thread: from here on the guest may run. */
int vmem_start(struct vmem *v);
/* Stop the fault thread and free everything; only this VM's references
 * to frames and slots go. */
void vmem_destroy(struct vmem *v);

uint16_t vmem_id(const struct vmem *v);

/* Host address of range i of the view (for the KVM memory slot). */
void *vmem_view(const struct vmem *v, int i);

/* VMM accesses. -EFAULT if [gpa, gpa + len) is not all RAM; -ENOMEM if a
 * write would exceed the host memory budget. */
int vmem_read(struct vmem *v, uint64_t gpa, void *buf, size_t len);
int vmem_write(struct vmem *v, uint64_t gpa, const void *buf, size_t len);
/* Give pages back: the frames are freed and the pages read as zeros. */
int vmem_discard(struct vmem *v, uint64_t gpa, uint64_t len);
int vmem_copy_page(struct vmem *v, uint64_t dst, uint64_t src);

void vmem_get_stats(struct vmem *v, struct vmem_stats *out);

/* Lazy restore: before vmem_start, gpa's page (4 KiB aligned) becomes page
 * index of the source, read and verified on its first touch by the guest
 * (a FAULT_SNAPLOAD) or the VMM. 0, -EINVAL (no source, unaligned),
 * -EFAULT (outside RAM), -EEXIST (the page holds content already). */
int vmem_set_source_page(struct vmem *v, uint64_t gpa, uint64_t index);

/* Bulk load, a restore's (before the guest runs, or while it does): the n
 * pages from gpa (n <= VMEM_MAX_WINDOW, in one range of RAM) get content
 * (n pages, verified by the caller). Each that holds nothing, or is the
 * source page index[i] (index NULL: any), gets a frame of its own,
 * charged to the budget, filled with one write to the store for the run;
 * other pages are left as they are. map: the view maps them at once
 * (UFFDIO_CONTINUE over the run, or MADV_POPULATE_WRITE), so that the
 * guest's first touch takes no fault of ours nor the host's; else that is
 * left to the guest's touch (a host minor fault), so that what the guest
 * used stays visible (pagemap). kind: who asks, for the counts. Returns
 * the pages installed, or -errno: -EFAULT not RAM, -ENOMEM the budget is
 * full (a prefix may be in; EAGER and PREFETCH ask the pager to reclaim
 * first). */
int vmem_load_run(struct vmem *v, uint64_t gpa, unsigned n, const void *content,
		  const uint64_t *index, enum vmem_load_kind kind, bool map);

/* The loader thread of a lazy restore (vmem_load.c), started once, after
 * the source pages are set. It stops with the VM (vmem_destroy). */
struct vmem_loader {
	bool rest; /* load every source page left, in GPA order (BACKGROUND) */
	/* > 0: record_ms after the guest starts (vmem_start), the pages the
	 * guest has touched (view PTEs present) go to on_touched, ascending
	 * GPAs, called from the thread without v's lock. Until then the rest
	 * is loaded without being mapped, so that the record is the guest's
	 * touches; after it (and without a record), mapped. */
	unsigned record_ms;
	void (*on_touched)(void *arg, const uint64_t *gpa, uint64_t n);
	void *arg;
};
int vmem_loader_start(struct vmem *v, const struct vmem_loader *l);

/* Live snapshots (vmem_snap.c): copy-before-write, so that the guest runs
 * while its memory as of one instant goes to a sink.
 *   vmem_snap_arm     guest running: write-protect the view in chunks; a
 *                     write meanwhile is let through and remembered
 *   vmem_snap_rearm   guest running: protect those again, once
 *   vmem_snap_freeze  vCPUs parked: the snapshot point. Protect again what
 *                     was written since arming, and clone the table (O(1))
 *   vmem_snap_save    a writer thread, repeatedly: save pages in GPA order
 *   vmem_snap_end     done or given up: unprotect, back to normal
 * Between freeze and end, the first change to a page not saved yet (a
 * guest write, a first touch of a page the view does not map, a VMM write
 * or discard) saves it first, from the fault thread. Every page the table
 * held at the freeze is saved once, with its content at the freeze: from
 * its frame, its swap slot or the source. */
struct vmem_snap_sink {
	/* Keep page gpa's content (4 KiB): 0, or -errno with msg. Called
	 * with v's lock, by the fault thread or vmem_snap_save's caller. */
	int (*save)(void *arg, uint64_t gpa, const void *page, char *msg, size_t len);
	void *arg;
};
enum vmem_snap_state { VMEM_SNAP_IDLE, VMEM_SNAP_ARMED, VMEM_SNAP_FROZEN, VMEM_SNAP_FAILED };
struct vmem_snap_stats {
	enum vmem_snap_state state;
	const char *wp_via;	  /* "userfaultfd-wp", or why snapshots cannot be taken */
	uint64_t snapshots;	  /* frozen and ended */
	uint64_t arm_ns;	  /* write-protecting the view, guest running */
	uint64_t armed_pages;	  /* view pages write-protected by arming */
	uint64_t freeze_ns;	  /* the freeze's share of the pause */
	uint64_t rearmed;	  /* pages written while arming, protected again before the pause */
	uint64_t reprotected;	  /* pages written while armed, protected again in the freeze */
	uint64_t total;		  /* pages to save, as of the freeze */
	uint64_t pending;	  /* of those, not saved yet */
	uint64_t saved_by_writer; /* saved by vmem_snap_save */
	uint64_t saved_by_fault;  /* saved by the fault thread before a change */
	uint64_t wp_faults;	  /* write-protect faults served */
	uint64_t unprotect_ns;	  /* vmem_snap_end */
};
/* 0; -ENOTSUP (the kernel has no write-protect for shmem: wp_via says),
 * -EBUSY (a snapshot is under way), -ESRCH (the VM is stopping). */
int vmem_snap_arm(struct vmem *v, const struct vmem_snap_sink *sink);
/* Guest running, armed: protect again what was written since arming, so
 * that the freeze has only what is written from here to the pause left
 * to protect, however long arming took. 0, -EINVAL if not armed. */
int vmem_snap_rearm(struct vmem *v);
/* 0, or -EINVAL if not armed, -ENOMEM. */
int vmem_snap_freeze(struct vmem *v);
/* Save up to max pages: 1 while pages are left, 0 once all are saved,
 * -errno if a save failed (msg says; the snapshot has failed). */
int vmem_snap_save(struct vmem *v, unsigned max, char *msg, size_t len);
void vmem_snap_end(struct vmem *v);
void vmem_snap_get_stats(struct vmem *v, struct vmem_snap_stats *out);

/* Fork: the VM's memory as of one instant becomes an image that the VM
 * and its children map, sharing every frame until one of them writes it.
 *   vmem_fork_check   whether the VM can be forked (nothing changes)
 *   vmem_fork_freeze  vCPUs parked: the fork point, O(1) in guest size.
 *                     The VM's region becomes the image, and the VM goes
 *                     on over a fresh view of it at a new address (as a
 *                     child does: no PTE, every first touch a fault), so
 *                     nothing is write-protected; its writes from here on
 *                     copy pages into a new region of its own. The caller
 *                     moves its KVM memory slots to vmem_view() before
 *                     the VM runs again
 *   vmem_fork_retire  once the children run: the image's frames counted
 *                     as shared in the store (a pass over its frame
 *                     records, 0.35 ms at 1 GiB here), and the old view
 *                     unmapped off the caller's path (a thread of its own)
 *   vmem_fork_image   the image, for vmem_config.image of each child
 * A VM that has an image (a forked VM or a child) cannot be forked again,
 * and its image pages are never evicted. -ENOTSUP (no shmem write-protect
 * or MINOR faults), -EALREADY (forked already), -EBUSY (a snapshot is
 * under way), -ESRCH (stopping). A failed freeze changes nothing. */
struct vmem_image;
int vmem_fork_check(struct vmem *v);
int vmem_fork_freeze(struct vmem *v);
void vmem_fork_retire(struct vmem *v);
struct vmem_image *vmem_fork_image(struct vmem *v);
uint64_t vmem_image_pages(const struct vmem_image *img); /* frames held */

/* What the reclaimer does to a VM (reclaim/). Each takes the VM's lock. */

uint64_t vmem_pages(const struct vmem *v); /* view size in pages */
/* Clock test of view pages [first, first + n), n <= VMEM_MAX_WINDOW:
 * state[i] = VMEM_PAGE_ABSENT (not resident), _IDLE (resident, not
 * touched since the last scan), _TOUCHED, or _PINNED (resident but not
 * evictable: shared). Then every view PTE in the window is zapped, so the
 * next guest touch of each page is a fault (MINOR: mapped again at once)
 * and the next scan sees it. */
enum vmem_page_state { VMEM_PAGE_ABSENT, VMEM_PAGE_IDLE, VMEM_PAGE_TOUCHED, VMEM_PAGE_PINNED };
int vmem_scan(struct vmem *v, uint64_t first, unsigned n, uint8_t *state);

/* Where evicted pages go: store n pages (GPAs, 4 KiB contents) and fill
 * slots[i]; return how many were stored (a prefix; fewer: swap is full),
 * or -errno. Called with the VM's lock held. */
struct vmem_evict_sink {
	int (*store)(void *arg, struct vmem *v, const uint64_t *gpa, void *const *pages, unsigned n,
		     uint32_t *slots);
	/* Whether page still equals what slot holds: then it is dropped clean. */
	bool (*same)(void *arg, uint32_t slot, const void *page);
	void *arg;
};
struct vmem_evict_result {
	unsigned evicted; /* swapped out or dropped clean */
	unsigned written; /* of those, written to swap */
	unsigned skipped; /* no longer resident or evictable, or swap full */
};
#define VMEM_EVICT_MAX 64
/* Evict view pages idx[0..n) (ascending, n <= VMEM_EVICT_MAX) to swap.
 * The page's PTE is zapped first, so a guest touch during the eviction
 * waits on the VM's lock and then finds the swap entry. */
int vmem_evict(struct vmem *v, const uint64_t *idx, unsigned n, const struct vmem_evict_sink *sink,
	       struct vmem_evict_result *res);
/* Resident frames of this VM (cheap). */
uint64_t vmem_resident(struct vmem *v);
/* OOM: stop the VM with msg (as a fatal fault does) and free every frame it
 * holds alone; returns how many. */
uint64_t vmem_kill(struct vmem *v, const char *msg);

/* Working-set sampling: arm zaps the view PTEs of idx[0..n) (ascending,
 * n <= VMEM_WSS_MAX) and remembers them; collect counts those touched
 * since, out of those that were resident or in swap when armed. */
#define VMEM_WSS_MAX 4096
int vmem_wss_arm(struct vmem *v, const uint64_t *idx, unsigned n);
void vmem_wss_collect(struct vmem *v, unsigned *sampled, unsigned *touched);
/* Pages the VM holds, resident or in swap: what the estimate scales by. */
uint64_t vmem_allocated(struct vmem *v);
/* The VMM saw the guest access a GPA outside RAM (a KVM MMIO exit): such
 * accesses never reach the fault thread, so they are counted from there. */
void vmem_count_invalid(struct vmem *v);
const char *fault_class_name(enum fault_class c);

#endif
