/* ept/frame.h: the frame store and the frame database.
 *
 * The store is one memfd; frame f is its page f. A VM's guest memory is a
 * region of the store: frames [base, base + pages), so that GPA page n of
 * that VM is normally frame base + n and its view of guest memory is one
 * host mapping (see DESIGN.md). Frames shared with another VM or a snapshot
 * are the exception, mapped one by one.
 *
 * One record per frame: state, reference count (owners: views, snapshots,
 * I/O), map count (views mapping it), reverse map (the first (vm, GPA) pair
 * inline, more in an overflow table), LRU links and swap slot.
 *
 * Frames that are free hold no memory: freeing punches the store page's
 * hole (FALLOC_FL_PUNCH_HOLE), which gives the memory back to the host and
 * makes the page read back as zeros, so no frame one guest wrote reaches
 * another un-zeroed. Free regions are kept on a free list (first fit).
 *
 * The host memory budget counts resident frames (in use or shared):
 * frame_charge() refuses past it.
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
#define FRAME_MISUSE   UINT32_MAX /* frame_unmap, frame_put_ref: refused, nothing changed */
#define FRAME_F_ORPHAN 0x01	  /* its region was released while others held it */

enum frame_state {
	FRAME_FREE = 0, /* hole in the store: reads as zeros, costs nothing */
	FRAME_IN_USE,	/* resident, mapped by one view */
	FRAME_SHARED,	/* resident, mapped by several views or a snapshot */
	FRAME_IO,	/* under swap or snapshot I/O */
};

/* 32 bytes per frame: with the table's 8 bytes per page, under 1% of RAM. */
struct frame {
	uint8_t state; /* enum frame_state */
	uint8_t flags;
	uint16_t vm; /* reverse map, first mapper: VM id */
	uint32_t refcount;
	uint32_t mapcount;
	uint32_t swap_slot;	     /* FRAME_NO_SLOT if none */
	uint64_t rmap_gpa;	     /* reverse map, first mapper: GPA (valid if mapcount > 0) */
	uint32_t lru_prev, lru_next; /* FRAME_NONE-terminated */
};

struct frame_rmap {
	uint16_t vm;
	uint64_t gpa;
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
void frame_region_free(struct frame_db *db, uint64_t base, uint64_t pages);  /* frees every frame */
/* Give a region back once its owner dropped its own references: frames no
 * one else holds are freed; a frame another VM maps or a snapshot keeps
 * stays resident, and is freed with its last reference. */
void frame_region_release(struct frame_db *db, uint64_t base, uint64_t pages);

/* Budget: take or return n resident frames. -ENOMEM if over budget. */
int frame_charge(struct frame_db *db, uint64_t n);
/* Raise the budget by n frames (a fork child brings its own memory size). */
void frame_db_add_budget(struct frame_db *db, uint64_t n);
void frame_uncharge(struct frame_db *db, uint64_t n);

/* Frame f now holds data and is mapped by (vm, gpa): FREE -> IN_USE,
 * refcount 1, mapcount 1. Charges the budget: -ENOMEM if over it. */
int frame_map_new(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa);
/* Another view maps f (sharing): mapcount and refcount +1, state SHARED. */
int frame_map_shared(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa);
/* (vm, gpa) no longer maps f: mapcount and refcount -1; the last reference
 * frees the frame (punches the hole, uncharges). Returns the new refcount,
 * or FRAME_MISUSE if (vm, gpa) does not map f. */
uint32_t frame_unmap(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa);
/* Extra references that are not mappings (a snapshot holding the frame). */
void frame_get_ref(struct frame_db *db, uint64_t f);
uint32_t frame_put_ref(struct frame_db *db, uint64_t f); /* FRAME_MISUSE if f has no extra ref */

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

/* Reverse map: call fn for each (vm, gpa) that maps f. */
typedef void (*frame_rmap_fn)(uint16_t vm, uint64_t gpa, void *arg);
void frame_for_each_mapper(struct frame_db *db, uint64_t f, frame_rmap_fn fn, void *arg);

struct frame_db_stats {
	uint64_t max_frames;
	uint64_t budget_frames;
	uint64_t resident; /* IN_USE + SHARED + IO */
	uint64_t peak_resident;
	uint64_t shared;
	uint64_t free_in_budget; /* budget_frames - resident */
	uint64_t holes_punched;	 /* pages given back to the host */
	size_t metadata_bytes;	 /* frame records + reverse-map overflow + free list */
	uint64_t misuse;	 /* calls refused as misuse (see frame.c), state unchanged */
};
void frame_db_stats(const struct frame_db *db, struct frame_db_stats *out);

/* Debug (tests): check every record and the free list against the
 * invariants (refcount >= mapcount, state agrees with the counts, reverse
 * map holds mapcount pairs, ...). 0, or -EUCLEAN with the first broken one
 * described in why. Reads every record: O(max_frames). */
int frame_db_check(const struct frame_db *db, char *why, size_t len);

#endif
