/* guest-kernel/gk_frame.h: guest-physical page frames for tables and tasks.
 *
 * Invariant: a frame handed out reads zero. Never-used frames are zero
 * already (the VMM and QEMU hand out zeroed memory). A freed frame waits
 * in a pending batch; the batch is made zero all at once, by one
 * VMM_HC_DISCARD when the VMM offers "page-discard" (the VMM drops the
 * frames and zero-fills them on next touch), else by rep stosq, and then
 * becomes reusable. Page copies are batched the same way (VMM_HC_COPY).
 *
 * A batch lives in a frame of its own: header plus up to FRAME_BATCH
 * GPAs. Once emptied, its few written words are cleared and it is handed
 * out like any other frame.
 */
#ifndef GK_FRAME_H
#define GK_FRAME_H

#include <stdbool.h>
#include <stdint.h>
#include <vmm_abi.h>
#include "gk_bootinfo.h"
#include "gk_fref.h"
#include "gk_hcall.h"
#include "gk_lib.h"

#define FRAME_BATCH	 64 /* <= VMM_HC_MAX_PAGES */
#define FRAME_RANGES_MAX 32

struct gk_frame_batch {
	uint64_t next;	 /* GPA of the next ready batch */
	uint32_t count;	 /* entries in gpa[] still to hand out */
	uint32_t filled; /* entries ever written: what reuse must clear */
	uint64_t gpa[FRAME_BATCH];
};

struct gk_frame_stats {
	uint64_t allocs, frees, discard_calls, copy_calls, zeroed_locally;
};

struct gk_frames {
	struct gk_fref ref; /* per-frame reference counts, for user memory */
	uint64_t total;	    /* frames the allocator manages */
	uint64_t free;	    /* of which not handed out (fresh, pending or ready) */
	struct gk_mem_range fresh[FRAME_RANGES_MAX]; /* never handed out, so zero */
	unsigned nr_fresh, cur;
	struct gk_frame_batch *pending; /* freed, not yet zero */
	struct gk_frame_batch *ready;	/* zero, reusable */
	struct gk_hcall *hc;
	bool discard, copy; /* the VMM's page-discard / page-copy features */
	unsigned nr_copies;
	struct vmm_page_pair copies[FRAME_BATCH]; /* GPA = address: kernel image */
	struct gk_frame_stats stats;
};

/* Free RAM: bi's RAM minus [0, kernel_end), below VMM_RESERVED_END, and
 * bi's boot data; the reference-count table is taken from it. hc may be
 * NULL (no hypercalls). -ENOMEM if the table does not fit. */
int gk_frame_init(struct gk_frames *f, const struct gk_bootinfo *bi, uint64_t kernel_end,
		  struct gk_hcall *hc);
uint64_t gk_frame_fresh_pages(const struct gk_frames *f);
uint64_t gk_frame_alloc(struct gk_frames *f); /* 0: out of memory */
/* Up to n zero frames at consecutive GPAs from *pa on; returns how many
 * (0: out of memory). Fault-around fills a window from a few such runs. */
uint64_t gk_frame_alloc_run(struct gk_frames *f, uint64_t n, uint64_t *pa);
/* The fault path's fast case, in two steps: gk_frame_run_peek gives the GPA
 * of n consecutive zero frames without taking them (0 when recycled frames
 * wait to go first, or the current fresh range is shorter); the caller uses
 * a prefix of them and gk_frame_run_take takes exactly those. */
static inline uint64_t gk_frame_run_peek(const struct gk_frames *f, uint64_t n)
{
	const struct gk_mem_range *r = &f->fresh[f->cur];

	if (f->ready || f->cur == f->nr_fresh || r->end - r->start < n * PAGE_SIZE)
		return 0;
	return r->start;
}

static inline void gk_frame_run_take(struct gk_frames *f, uint64_t used)
{
	f->fresh[f->cur].start += used * PAGE_SIZE;
	f->stats.allocs += used;
	f->free -= used;
}
void gk_frame_free(struct gk_frames *f, uint64_t pa);
/* A user frame has one more mapping (or cache reference): 0, or
 * -EOVERFLOW. Frames outside the allocator (image pages) are not counted. */
static inline int gk_frame_share(struct gk_frames *f, uint64_t pa)
{
	return gk_fref_managed(&f->ref, pa) ? gk_fref_get(&f->ref, pa) : 0;
}
/* One reference less; the last frees the frame. */
static inline void gk_frame_put(struct gk_frames *f, uint64_t pa)
{
	if (gk_fref_managed(&f->ref, pa) && gk_fref_put(&f->ref, pa))
		gk_frame_free(f, pa);
}
/* Whether a write may take the frame over without a copy: it is a user
 * frame and this is its only reference. */
static inline bool gk_frame_exclusive(const struct gk_frames *f, uint64_t pa)
{
	return gk_fref_managed(&f->ref, pa) && gk_fref_count(&f->ref, pa) == 1;
}
void gk_frame_flush(struct gk_frames *f);
/* Queue a copy of page src to page dst; done by gk_frame_copy_flush at the latest. */
void gk_frame_copy(struct gk_frames *f, uint64_t dst, uint64_t src);
void gk_frame_copy_flush(struct gk_frames *f);

#endif
