/* guest-kernel/gk_frame.c: the frame allocator (see gk_frame.h for the invariant). */
#include "gk_frame.h"
#include "gk_arch.h"
#include "gk_lib.h"

#define PAGE_WORDS (PAGE_SIZE / 8)

static void gk_frame_add_fresh(struct gk_frames *f, uint64_t start, uint64_t end)
{
	if (start < end && f->nr_fresh < FRAME_RANGES_MAX) {
		f->fresh[f->nr_fresh].start = start;
		f->fresh[f->nr_fresh].end = end;
		f->nr_fresh++;
	}
}

/* Cut [r->start, r->end) out of every fresh range, splitting where needed. */
static void gk_frame_exclude(struct gk_frames *f, const struct gk_mem_range *r)
{
	unsigned i, n = f->nr_fresh;

	for (i = 0; i < n; i++) {
		struct gk_mem_range *m = &f->fresh[i];
		uint64_t end = m->end;

		if (r->end <= m->start || r->start >= m->end)
			continue;
		if (r->start > m->start) {
			m->end = r->start;
			gk_frame_add_fresh(f, r->end, end);
		} else {
			m->start = r->end < end ? r->end : end;
		}
	}
}

int gk_frame_init(struct gk_frames *f, const struct gk_bootinfo *bi, uint64_t kernel_end,
		  struct gk_hcall *hc)
{
	struct gk_mem_range low = {0, ALIGN_UP(kernel_end, PAGE_SIZE)};
	uint64_t top = low.end, table, pages;
	unsigned i;

	if (low.end < VMM_RESERVED_END)
		low.end = VMM_RESERVED_END;
	for (i = 0; i < bi->nr_ram; i++)
		gk_frame_add_fresh(f, bi->ram[i].start, bi->ram[i].end);
	gk_frame_exclude(f, &low);
	/* Boot data the VMM puts below the kernel's end is excluded already. */
	for (i = 0; i < bi->nr_reserved; i++)
		if (bi->reserved[i].end > low.end)
			gk_frame_exclude(f, &bi->reserved[i]);
	f->hc = hc;
	f->discard = hc && bi->page_discard;
	f->copy = hc && bi->page_copy;
	/* Counts for every frame up to the highest free one: 2 bytes each,
	 * 0.05% of RAM, in one run of fresh (zero) frames. */
	for (i = 0; i < f->nr_fresh; i++)
		top = f->fresh[i].end > top ? f->fresh[i].end : top;
	pages = ALIGN_UP((top - low.end) / PAGE_SIZE * sizeof(uint16_t), PAGE_SIZE) / PAGE_SIZE;
	for (i = 0; i < f->nr_fresh && f->fresh[i].end - f->fresh[i].start < pages * PAGE_SIZE; i++)
		;
	if (i == f->nr_fresh)
		return -ENOMEM;
	table = f->fresh[i].start;
	f->fresh[i].start += pages * PAGE_SIZE;
	f->free = f->total = gk_frame_fresh_pages(f);
	gk_fref_init(&f->ref, (uint16_t *)(uintptr_t)table, low.end, top);
	return 0;
}

uint64_t gk_frame_fresh_pages(const struct gk_frames *f)
{
	uint64_t n = 0;
	unsigned i;

	for (i = f->cur; i < f->nr_fresh; i++)
		n += (f->fresh[i].end - f->fresh[i].start) / PAGE_SIZE;
	return n;
}

/* Make every page of the pending batch zero, then move it to ready. */
void gk_frame_flush(struct gk_frames *f)
{
	struct gk_frame_batch *b = f->pending;
	uint32_t i;

	if (!b || !b->count)
		return;
	if (f->discard &&
	    gk_hcall_call(f->hc, VMM_HC_DISCARD, b->count, (uint64_t)(uintptr_t)b->gpa, 0) == 0) {
		f->stats.discard_calls++;
	} else {
		for (i = 0; i < b->count; i++)
			gk_arch_zero_words((void *)(uintptr_t)b->gpa[i], PAGE_WORDS);
		f->stats.zeroed_locally += b->count;
	}
	b->filled = b->count;
	b->next = (uint64_t)(uintptr_t)f->ready;
	f->ready = b;
	f->pending = NULL;
}

/* An emptied batch frame: only its header and used slots were written. */
static uint64_t gk_frame_recycle_batch(struct gk_frame_batch *b)
{
	gk_arch_zero_words(b, 2 + b->filled);
	return (uint64_t)(uintptr_t)b;
}

static uint64_t gk_frame_take(struct gk_frames *f)
{
	struct gk_frame_batch *b = f->ready;

	if (b) {
		if (b->count)
			return b->gpa[--b->count];
		f->ready = (struct gk_frame_batch *)(uintptr_t)b->next;
		return gk_frame_recycle_batch(b);
	}
	for (; f->cur < f->nr_fresh; f->cur++) {
		struct gk_mem_range *r = &f->fresh[f->cur];

		if (r->start < r->end) {
			r->start += PAGE_SIZE;
			return r->start - PAGE_SIZE;
		}
	}
	return 0;
}

uint64_t gk_frame_alloc(struct gk_frames *f)
{
	uint64_t pa = gk_frame_take(f);

	if (!pa && f->pending) {
		/* Dry: make the freed frames usable now rather than fail. */
		if (f->pending->count) {
			gk_frame_flush(f);
			pa = gk_frame_take(f);
		} else {
			pa = gk_frame_recycle_batch(f->pending);
			f->pending = NULL;
		}
	}
	if (pa) {
		f->stats.allocs++;
		f->free--;
	}
	return pa;
}

uint64_t gk_frame_alloc_run(struct gk_frames *f, uint64_t n, uint64_t *pa)
{
	struct gk_mem_range *r = &f->fresh[f->cur];
	uint64_t avail;

	/* Recycled frames come one at a time, and go first. */
	if (f->ready || f->cur == f->nr_fresh || r->start == r->end) {
		*pa = gk_frame_alloc(f);
		return *pa ? 1 : 0;
	}
	avail = (r->end - r->start) / PAGE_SIZE;
	n = n < avail ? n : avail;
	*pa = r->start;
	r->start += n * PAGE_SIZE;
	f->stats.allocs += n;
	f->free -= n;
	return n;
}

void gk_frame_free(struct gk_frames *f, uint64_t pa)
{
	f->stats.frees++;
	f->free++;
	if (!f->pending) {
		uint64_t b = gk_frame_take(f);

		if (!b) {
			/* No frame for a batch: zero this one and let it be the batch. */
			gk_arch_zero_words((void *)(uintptr_t)pa, PAGE_WORDS);
			f->pending = (struct gk_frame_batch *)(uintptr_t)pa;
			return;
		}
		f->pending = (struct gk_frame_batch *)(uintptr_t)b;
	}
	f->pending->gpa[f->pending->count++] = pa;
	f->pending->filled = f->pending->count;
	if (f->pending->count == FRAME_BATCH)
		gk_frame_flush(f);
}

void gk_frame_copy(struct gk_frames *f, uint64_t dst, uint64_t src)
{
	f->copies[f->nr_copies].dst = dst;
	f->copies[f->nr_copies].src = src;
	if (++f->nr_copies == FRAME_BATCH)
		gk_frame_copy_flush(f);
}

void gk_frame_copy_flush(struct gk_frames *f)
{
	unsigned i;

	if (!f->nr_copies)
		return;
	if (f->copy && gk_hcall_call(f->hc, VMM_HC_COPY, f->nr_copies,
				     (uint64_t)(uintptr_t)f->copies, 0) == 0) {
		f->stats.copy_calls++;
	} else {
		for (i = 0; i < f->nr_copies; i++)
			gk_arch_copy_words((void *)(uintptr_t)f->copies[i].dst,
					   (const void *)(uintptr_t)f->copies[i].src, PAGE_WORDS);
	}
	f->nr_copies = 0;
}
