/* ept/vmem_priv.h: one VM's memory inside ept/; not for other modules.
 *
 * The files that make it up call each other one way only, each using
 * those listed before it:
 *
 *   vmem_view.c    the view KVM maps: its ranges, its userfaultfd, which
 *                  pages map the VM's own frames and which a fork image's
 *   vmem.c         the core: the table and the frames behind it, the one
 *                  page installer (vmem_install), the page's content
 *                  wherever it is, fault-around bookkeeping, stopping
 *   vmem_snap.c    live snapshots (an observer of the installer)
 *   vmem_reclaim.c what the reclaimer does to a VM (scan, evict, kill)
 *   host.c         the VMs of one frame store
 *   vmem_fork.c    fork images, made at the fork point (the core reads and
 *                  copies pages out of them as out of swap)
 *   vmem_load.c    a lazy restore's loader thread: the rest of the source
 *                  in the background, and the working set it records
 *   fault.c        the fault thread: one resolver per fault class
 *   vmem_access.c  the VMM's own reads, writes, discards and copies
 *
 * struct vmem has one sub-struct per concern, each set up and torn down
 * by the file that owns it.
 */
#ifndef EPT_VMEM_PRIV_H
#define EPT_VMEM_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/types.h>

#include "ept.h"
#include "uffd.h"
#include "vmem.h"

#define VMEM_BLOCK_SHIFT 9 /* fault-around bookkeeping per 2 MiB of view */

struct vmem_block {
	uint16_t present; /* resident pages */
	uint16_t used;	  /* of those, faulted on or seen touched */
	uint16_t ahead;	  /* of those, filled ahead and not yet seen touched */
};

/* A fork image (vmem_fork.c makes it): a VM's frames as of the fork
 * point, which it and its children map write-protected and copy out of
 * on write. Held by every VM that maps it; the last one frees it. */
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
	bool marked;			     /* its frames counted as shared (vmem_fork_retire) */
};

/* The view (vmem_view.c): one MAP_SHARED mapping of the VM's region, or
 * of its image with the VM's own pages mapped over it one by one. */
struct vmem_view {
	uint8_t *base;
	struct uffd uffd;
	uint64_t reg_modes;	  /* its userfaultfd modes */
	bool can_wp;		  /* shmem write-protect: snapshots and fork can be armed */
	int pagemap_fd;		  /* /proc/self/pagemap: which view pages the guest touched */
	struct vmem_image *image; /* NULL: the view maps the VM's own region */
	uint64_t *own;		  /* with an image: view pages that map the VM's own frame */
	int continue_wp;	  /* UFFDIO_CONTINUE_MODE_WP: 1 works, 0 not tried, -1 refused */
	/* A view given up at the fork point, unmapped by a thread of its own
	 * (vmem_view_retire), joined before the next one or at the end. */
	struct {
		uint8_t *base;
		uint64_t bytes, reg_modes;
		pthread_t thread;
		bool running;
	} retired;
};

/* Fault-around bookkeeping (vmem.c keeps it, fault.c decides by it): per
 * 2 MiB block, what is resident and how much of it was filled ahead and
 * not yet seen used. */
struct vmem_around {
	struct vmem_block *block;
	uint64_t nr_blocks;
};

/* The fault thread (fault.c) and its policy. */
struct vmem_faults {
	pthread_t thread;
	bool running;
	int stop_fd; /* eventfd: tells the fault thread to leave */
	int handler_cpu;
	unsigned max_window;
	uint64_t seq_start;    /* first page of the last window */
	uint64_t seq_next;     /* page after the last window */
	unsigned seq_window;   /* grows while faults stream forward */
	uint64_t spurious_idx; /* page of the last spurious fault, see fault_present */
	void *zeros;	       /* VMEM_MAX_WINDOW pages of zeros, the source of UFFDIO_COPY */
};

/* What is not resident: swap (reclaim/'s pager) and a lazy restore's
 * source. Buffers are page-aligned for O_DIRECT. */
struct vmem_backing {
	const struct vmem_pager_ops *pager; /* NULL: no reclaim */
	void *pager_arg;
	const struct vmem_source_ops *source; /* NULL: no lazy restore */
	void *source_arg;
	uint8_t *evict_buf;	       /* VMEM_EVICT_MAX pages */
	uint8_t *page_buf;	       /* one page: the VMM's accesses, copies out of the image */
	unsigned swap_ra, swap_ra_max; /* swap-in read-ahead window, its cap */
	uint64_t swap_ra_next;	       /* page after the last swap-in's window */
	unsigned snap_ra, snap_ra_max; /* lazy restore's read-ahead window, its cap */
	uint64_t snap_ra_next;	       /* page after the last lazy load's window */
};

/* Working-set sampling (vmem_reclaim.c). */
struct vmem_wss {
	uint64_t *idx; /* armed sample, ascending */
	uint8_t *touched;
	unsigned n;
};

/* A live snapshot (vmem_snap.c). */
struct vmem_snap {
	enum vmem_snap_state state;
	bool ending; /* vmem_snap_end is unprotecting the view */
	struct vmem_snap_sink sink;
	uint64_t *dirty;   /* armed: pages mapped writable since arming */
	uint64_t *saved;   /* frozen: pages saved */
	struct ept *table; /* frozen: the table as of the freeze */
	uint64_t cursor;   /* the next GPA vmem_snap_save looks at */
	uint8_t *buf;	   /* VMEM_EVICT_MAX pages, aligned: a run read from the store */
	char err[256];	   /* why the snapshot failed */
	struct vmem_snap_stats stats;
};

/* A lazy restore's loader thread (vmem_load.c). */
struct vmem_load {
	pthread_t thread;
	bool started;
	bool stop; /* atomic: the VM goes */
	struct vmem_loader cfg;
	uint8_t *buf; /* VMEM_MAX_WINDOW pages, aligned */
};

/* Told of every change vmem_install makes, with v's lock held: a live
 * snapshot subscribes while it is armed or frozen (vmem_snap.c). */
struct vmem_observer {
	/* Page idx is about to change; content: its current 4 KiB if the
	 * caller has them, else NULL (read where the page is). */
	void (*before)(struct vmem *v, uint64_t idx, const void *content);
	/* Pages [first, first + n) were mapped writable into the view. */
	void (*mapped)(struct vmem *v, uint64_t first, uint64_t n);
};

struct vmem {
	struct frame_db *db;
	uint16_t vm_id;
	int nr_ranges;
	struct vmem_range range[VMEM_MAX_RANGES];
	uint64_t range_first[VMEM_MAX_RANGES]; /* view page index of each range */
	uint64_t pages;			       /* view size in pages */
	uint64_t base_frame; /* the VM's region: fresh page i is frame base_frame + i */
	struct ept *table;
	pthread_mutex_t lock; /* everything here but the fault thread's identity */
	vmem_fatal_fn on_fatal;
	void *arg;
	bool fatal;
	const struct vmem_observer *observer; /* NULL: no one */

	struct vmem_view view;
	struct vmem_around around;
	struct vmem_faults fault;
	struct vmem_backing back;
	struct vmem_wss wss;
	struct vmem_snap snap;
	struct vmem_load load;
	struct vmem_stats stats;
};

/* ---- bitmaps and page indices ------------------------------------------ */

static inline bool vmem_bit(const uint64_t *map, uint64_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static inline void vmem_bit_set(uint64_t *map, uint64_t i)
{
	map[i / 64] |= 1ULL << (i % 64);
}

static inline void vmem_bit_clear(uint64_t *map, uint64_t i)
{
	map[i / 64] &= ~(1ULL << (i % 64));
}

static inline uint64_t *vmem_bitmap_new(uint64_t pages)
{
	return calloc((pages + 63) / 64, sizeof(uint64_t));
}

static inline uint64_t vmem_idx_gpa(const struct vmem *v, uint64_t idx)
{
	int i = v->nr_ranges - 1;

	while (i > 0 && idx < v->range_first[i])
		i--;
	return v->range[i].gpa + ((idx - v->range_first[i]) << EPT_PAGE_SHIFT);
}

/* A page as one look at the table found it: what a fault or an access
 * works from, computed once (vmem_page_at). */
struct vmem_page {
	uint64_t idx, gpa;
	uint64_t entry; /* the table's, 0 if it holds nothing */
	bool image;	/* the entry is the fork image's, not the VM's own */
};

/* ---- the view (vmem_view.c) -------------------------------------------- */

/* View page index of gpa, or -1 if gpa is not RAM. */
int64_t vmem_gpa_idx(const struct vmem *v, uint64_t gpa);
/* Host address of view page idx. */
uint64_t vmem_view_addr(const struct vmem *v, uint64_t idx);
/* Map the view (its first frame: the VM's region, or an image's) and
 * register it; child: it maps an image (MINOR and WP from the start). */
int vmem_view_open(struct vmem *v, uint64_t first_frame, bool child);
void vmem_view_close(struct vmem *v);
/* The fork point: a fresh view of the same frames at a new address,
 * registered as a child's is (MISSING, MINOR and WP), so that nothing of
 * the old one (its PTEs, KVM's entries) carries over and nothing has to
 * be write-protected: every first touch is a fault. O(1) in guest size.
 * The old mapping is kept in v->view.retired. */
int vmem_view_renew(struct vmem *v);
/* Undo vmem_view_renew (the fork failed after it): the old view back. */
void vmem_view_unrenew(struct vmem *v);
/* Unmap the retired view on a thread of its own, in 2 MiB pieces at the
 * lowest priority, so that no mmap of a child's view waits long behind
 * it; off the path to anyone's next instruction. */
void vmem_view_retire(struct vmem *v);
/* Whether page requests with CONTINUE can map write-protected (6.4+), as
 * a string for the statistics. */
const char *vmem_view_share_via(const struct vmem *v);
/* Whether view page idx maps v's own frame (always, without an image). */
bool vmem_view_maps_own(const struct vmem *v, uint64_t idx);
/* Map view pages [first, first + n) from v's own region, registered. */
int vmem_view_map_own(struct vmem *v, uint64_t first, uint64_t n);
/* Write-protect (wp) view pages [first, first + n), or lift it; an
 * image's pages stay protected whatever is asked. Lifting wakes a writer
 * waiting there. */
int vmem_view_protect(struct vmem *v, uint64_t first, uint64_t n, bool wp);
/* Pages first..first+n of the view that the host maps (pagemap bit 63):
 * present[i]. -errno if pagemap cannot be read. */
int vmem_view_present(const struct vmem *v, uint64_t first, unsigned n, bool *present);
/* Zap the view's PTEs of [first, first + n): the next touch faults. */
void vmem_view_zap(struct vmem *v, uint64_t first, uint64_t n);
/* The VM is being stopped: a vCPU waiting on a fault wakes, and the
 * kernel serves its retry from memory no other VM sees. */
void vmem_view_release(struct vmem *v);
/* Whether entry e at gpa is the image's (not v's own frame or slot). */
bool vmem_image_owns(const struct vmem *v, uint64_t gpa, uint64_t e);
/* v maps img from now on (a child at creation): one reference more. */
int vmem_image_attach(struct vmem *v, struct vmem_image *img);
void vmem_image_put(struct vmem_image *img);

/* ---- the core (vmem.c) ------------------------------------------------- */

/* Everything vmem_create made; the fault thread has stopped, and every
 * feature has let go of its part (vmem_destroy, fault.c). */
void vmem_free(struct vmem *v);

void vmem_page_at(const struct vmem *v, uint64_t idx, struct vmem_page *p);
bool vmem_page_present(const struct vmem *v, uint64_t idx);
/* A frame or a swap slot: the page has content (fault-around must not
 * fill it as a fresh page). */
bool vmem_page_held(const struct vmem *v, uint64_t idx);

enum vmem_fill {
	VMEM_FILL_ZERO,	     /* a fresh page of zeros: the faulting page mapped, the window's
				stored (or all of it mapped, for a stream) */
	VMEM_FILL_COPY,	     /* map content into the view (UFFDIO_COPY) */
	VMEM_FILL_BREAK,     /* a page broken out of a fork image: content into its own
				frame, then mapped over the image's (CONTINUE; wakes) */
	VMEM_FILL_STORE,     /* write content into the page's frame, the view left alone */
	VMEM_FILL_CONTINUE,  /* the frame holds it already: map it again (UFFDIO_CONTINUE) */
	VMEM_FILL_UNPROTECT, /* mapped already: lift write-protection (wakes the writer) */
	VMEM_FILL_SHARE,     /* an image's page, mapped write-protected for reads (wakes) */
	VMEM_FILL_IN_PLACE,  /* the caller changes the frame's bytes itself, next */
	VMEM_FILL_EMPTY,     /* the page goes: its frame or slot back, zeros from now on */
};

/* What vmem_install does to a page (and, for ZERO, the window around it). */
struct vmem_install {
	enum vmem_fill fill;
	const void *content; /* COPY, BREAK, STORE: the page's new 4 KiB */
	bool record;	     /* give the page a frame of its own first */
	bool wake;	     /* COPY, CONTINUE: wake the thread waiting on the page */
	/* ZERO: the window [lo, hi) around the page, shrunk to what could be
	 * recorded, and how many of its other pages may be filled ahead. */
	uint64_t lo, hi;
	unsigned ahead;
	bool stream; /* ZERO: map the whole window, not only the page */
};
/* The one way a page changes: the observer told before, a frame recorded
 * (charging the budget), the fill, the observer told of what is mapped.
 * 0, or -errno: -ENOMEM when no frame could be had (reclaim and retry),
 * with nothing changed. */
int vmem_install(struct vmem *v, const struct vmem_page *p, struct vmem_install *in);
/* A page read ahead of a swap-in or lazy load: recorded and stored, the
 * view left alone (the guest's touch maps it). false: it keeps its entry. */
bool vmem_install_ahead(struct vmem *v, uint64_t idx, const void *content);

/* vmem_load_run with v's lock held, from view page idx (the run checked
 * to be RAM of one range); the fault thread's read-ahead calls it. */
int vmem_load_locked(struct vmem *v, uint64_t idx, unsigned n, const void *content,
		     const uint64_t *index, enum vmem_load_kind kind, bool map);

/* The content of the page wherever it is, into buf (4 KiB, aligned): its
 * frame, its swap slot or the source (both verified), or zeros. 0, or
 * -errno with why. */
int vmem_page_content(struct vmem *v, const struct vmem_page *p, void *buf, char *why, size_t len);
/* The same into v->back.page_buf, for a page the guest or the VMM needs:
 * a failure stops the VM with "GPA ...: what: why". */
int vmem_page_fetch(struct vmem *v, const struct vmem_page *p, const char *what);

/* All of len bytes at off of fd, through pread or vmem_pwrite: 0 or -errno. */
int vmem_pio(ssize_t (*io)(int, void *, size_t, off_t), int fd, void *buf, size_t len, off_t off);
ssize_t vmem_pwrite(int fd, void *buf, size_t len, off_t off);

/* Fault-around bookkeeping: a page filled ahead was seen used. */
void vmem_mark_used(struct vmem *v, uint64_t idx);
/* The page, whose entry was e, is no longer resident. */
void vmem_block_forget(struct vmem *v, uint64_t idx, uint64_t e);
/* The page's frame goes (its content saved elsewhere first) and its
 * entry becomes entry (0: empty). */
void vmem_page_unpopulated(struct vmem *v, uint64_t idx, uint64_t entry);
/* Put swap slot (a table entry's or a frame's cache reference). */
void vmem_slot_put(struct vmem *v, uint32_t slot);
/* The budget is full and gpa needs a frame: let the pager free frames,
 * with v's lock dropped meanwhile. false: no pager, or nothing could be
 * freed (the pager then stopped v). */
bool vmem_reclaim_unlocked(struct vmem *v, uint64_t gpa);
/* Stop the VM with msg: on_fatal once, then the view is released. */
void vmem_stop_guest(struct vmem *v, const char *msg);
/* A VM being stopped gives every frame and slot back: the frames freed. */
uint64_t vmem_drop_all(struct vmem *v);

/* ---- live snapshots (vmem_snap.c), with v's lock ----------------------- */

/* The VM goes: what a snapshot still holds, freed. */
void vmem_snap_fini(struct vmem *v);
/* The arming or freeze failed: say why once. */
void vmem_snap_fail(struct vmem *v, const char *what, const char *why);
/* A write-protect fault at page p: saved first if the snapshot still
 * needs it, then writable (which wakes the writer). 0 or -errno. */
int vmem_snap_wp_fault(struct vmem *v, const struct vmem_page *p);

/* ---- the loader thread (vmem_load.c) ------------------------------------ */

/* The VM goes: the loader thread stops and its buffer goes. */
void vmem_loader_fini(struct vmem *v);

/* ---- reclaim (vmem_reclaim.c) ------------------------------------------ */

/* The VM goes: the working-set sample, freed. */
void vmem_wss_fini(struct vmem *v);

#endif
