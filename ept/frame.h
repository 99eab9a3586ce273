/* ept/frame.h: the frame store and the frame database.
 *
 * The store is one memfd; frame f is its page f. A VM's guest memory is a
 * region of the store: frames [base, base + pages), so that GPA page n of
 * that VM is normally frame base + n and its view of guest memory is one
 * host mapping (see DESIGN.md).
 *
 * One record per frame: its state, the (VM, GPA) that holds it (the
 * reverse map: every frame has one holder) and the swap slot that still
 * holds a copy of it. Frames are shared between VMs only through a fork
 * image, whose region every VM that maps the image maps (ept/vmem_fork.c):
 * such frames are marked SHARED for as long as the image lives.
 *
 * Frames that are free hold no memory: freeing punches the store page's
 * hole (FALLOC_FL_PUNCH_HOLE), which gives the memory back to the host and
 * makes the page read back as zeros, so no frame one guest wrote reaches
 * another un-zeroed. Free regions are kept on a free list (first fit).
 *
 * The host memory budget counts resident frames: frame_charge() refuses
 * past it.
 *
 * Thread-safe: every function takes the database's lock, so several VMs
 * (each with its own fault thread) share one store. Lock order: a VM's own
 * lock (vmem.c) first, then this one.
 */
#ifndef EPT_FRAME_H
#define EPT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_NONE     UINT32_MAX
#define FRAME_NO_SLOT  UINT32_MAX
#define FRAME_F_ORPHAN 0x01 /* its region was released while it was still held */

enum frame_state {
	FRAME_FREE = 0, /* hole in the store: reads as zeros, costs nothing */
	FRAME_IN_USE,	/* resident, held by one VM */
	FRAME_SHARED,	/* resident, in a fork image: mapped by every VM that maps it */
};

/* 16 bytes per frame: with the table's 8 bytes per page, under 1% of RAM. */
struct frame {
	uint8_t state; /* enum frame_state */
	uint8_t flags;
	uint16_t vm;	    /* reverse map: the VM id that holds it */
	uint32_t swap_slot; /* FRAME_NO_SLOT if none */
	uint64_t gpa;	    /* reverse map: the GPA it holds (valid if resident) */
};

struct frame_db;

/* A store of up to max_frames frames, at most budget_frames resident. */
int frame_db_create(struct frame_db **out, uint64_t max_frames, uint64_t budget_frames);
void frame_db_destroy(struct frame_db *db);

int frame_db_fd(const struct frame_db *db); /* the memfd, for mapping views */
/* Give store page f back to the host (or zero it), with no bookkeeping:
 * for a page written ahead of a frame_map_new that failed. 0 or -errno. */
int frame_store_zero(struct frame_db *db, uint64_t f);
/* The record of f, for tests: read it while no other thread changes f. */
struct frame *frame_get(struct frame_db *db, uint64_t f);

/* Regions: contiguous frames for one VM's guest memory. */
int frame_region_alloc(struct frame_db *db, uint64_t pages, uint64_t *base); /* -ENOSPC */
/* Give a region back once its holder unmapped its frames: they go back to
 * the free list (a frame still held is freed with its unmap). */
void frame_region_release(struct frame_db *db, uint64_t base, uint64_t pages);
/* The region's resident frames become a fork image's: SHARED, and
 * counted in stats.shared until they are unmapped. */
void frame_region_share(struct frame_db *db, uint64_t base, uint64_t pages);

/* Budget: take or return n resident frames. -ENOMEM if over budget. */
int frame_charge(struct frame_db *db, uint64_t n);
/* Raise the budget by n frames (a fork child brings its own memory size). */
void frame_db_add_budget(struct frame_db *db, uint64_t n);
void frame_uncharge(struct frame_db *db, uint64_t n);

/* Frame f now holds data for (vm, gpa): FREE -> IN_USE. Charges the
 * budget: -ENOMEM if over it; -EINVAL (f not in an allocated region) or
 * -EBUSY (f is held) as misuse, nothing changed. */
int frame_map_new(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa);
/* (vm, gpa) lets go of f, which is freed (its hole punched, uncharged).
 * -EINVAL, as misuse with nothing changed, if (vm, gpa) does not hold f. */
int frame_unmap(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa);
/* The same, for a frame whose region is released next (a VM going away):
 * its page goes back to the host with the region's, in one call per run
 * instead of one per frame. */
int frame_unmap_deferred(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa);

/* The swap slot that still holds a copy of resident frame f's content
 * (the swap cache), or FRAME_NO_SLOT. The slot is the pager's: whoever
 * frees the frame puts it first. */
uint32_t frame_swap_slot(struct frame_db *db, uint64_t f);
void frame_set_swap_slot(struct frame_db *db, uint64_t f, uint32_t slot);

/* Low watermark: when a charge leaves fewer than low frames free in the
 * budget, fn(arg) is called with the database's lock held, so it may only
 * signal (the reclaimer writes an eventfd). low 0 turns it off. */
typedef void (*frame_low_fn)(void *arg);
void frame_db_set_low_watermark(struct frame_db *db, uint64_t low, frame_low_fn fn, void *arg);

struct frame_db_stats {
	uint64_t max_frames;
	uint64_t budget_frames;
	uint64_t resident; /* IN_USE + SHARED */
	uint64_t peak_resident;
	uint64_t shared;	 /* frames of fork images */
	uint64_t free_in_budget; /* budget_frames - resident */
	uint64_t holes_punched;	 /* pages given back to the host */
	size_t metadata_bytes;	 /* frame records + free list */
	uint64_t misuse;	 /* calls refused as misuse (see frame.c), state unchanged */
};
void frame_db_stats(const struct frame_db *db, struct frame_db_stats *out);

/* Debug (tests): check every record and the free list against the
 * invariants (the state agrees with the counts, no resident frame on the
 * free list, ...). 0, or -EUCLEAN with the first broken one described in
 * why. Reads every record: O(max_frames). */
int frame_db_check(const struct frame_db *db, char *why, size_t len);

#endif
