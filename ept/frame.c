/* ept/frame.c: the frame store and the frame database (see frame.h).
 *
 * Records: one array of struct frame, mapped MAP_NORESERVE, so that a huge
 * sparse store costs only the record pages touched. A record untouched since
 * the mapping reads as all zeros; its swap slot and LRU links are filled in
 * (FRAME_NO_SLOT, FRAME_NONE) the first time frame_get or frame_map_new
 * hands it out, rather than touching every record page up front.
 *
 * State follows the counts: refcount 0 is FREE, refcount == mapcount == 1 is
 * IN_USE, any other resident frame is SHARED (several views, or a reference
 * that is not a mapping: a snapshot, I/O). FRAME_IO is set by its owner
 * through frame_get and kept until the owner changes it or the last
 * reference goes.
 *
 * Reverse map: the first mapper is inline in the record; a frame with
 * mapcount > 1 has the other mapcount - 1 pairs in an overflow table, an
 * open-addressing (linear probing) hash table keyed by frame number whose
 * slots hold a growable array of (vm, gpa) pairs.
 *
 * Free regions: a sorted array of extents, allocated first fit and merged
 * with their neighbours on free.
 *
 * Misuse (unmapping a pair that does not map the frame, putting a reference
 * that is not there, freeing a region that is not allocated, ...) changes
 * nothing, is counted in stats.misuse and, where the function returns
 * something, reported: -EINVAL, -EBUSY or FRAME_MISUSE. frame_db_check()
 * verifies the invariants for tests.
 *
 * metadata_bytes: which record pages were touched is not known cheaply, so
 * it counts the records (32 bytes per frame) up to the end of the highest
 * region ever allocated, the rest of the array being untouched (the store
 * is sized for fork children), plus the overflow table, its arrays and the
 * free list as allocated.
 */
#include "frame.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FRAME_SHIFT 12
#define FRAME_BYTES (1ULL << FRAME_SHIFT)
#define RMAP_EMPTY  UINT64_MAX

struct rmap_slot {
	uint64_t f; /* RMAP_EMPTY if unused */
	struct frame_rmap *v;
	uint32_t n, cap;
};

struct extent {
	uint64_t base, pages;
};

struct frame_db {
	/* Every public function holds it: VMs of one process fault at once.
	 * Recursive, because frame_for_each_mapper's callback may unmap. */
	pthread_mutex_t lock;
	int fd;
	uint64_t max_frames, budget_frames;
	uint64_t charged;  /* budget taken: resident frames plus frame_charge() */
	uint64_t resident; /* frames with refcount > 0 */
	uint64_t peak_resident;
	uint64_t shared; /* resident frames whose counts make them SHARED */
	uint64_t holes_punched, misuse;
	struct frame *frames;
	size_t frames_bytes;
	uint64_t frames_high;	/* end of the highest region ever allocated */
	struct rmap_slot *rmap; /* overflow reverse map, rmap_cap slots (power of 2) */
	size_t rmap_cap, rmap_used, rmap_bytes;
	struct extent *ext; /* free extents, sorted by base, never adjacent */
	size_t nr_ext, ext_cap;
	uint64_t low_frames; /* low watermark: below it, low_fn is called */
	frame_low_fn low_fn;
	void *low_arg;
};

/* Records and the store */

static void frame_record_init(struct frame *fr)
{
	memset(fr, 0, sizeof(*fr));
	fr->swap_slot = FRAME_NO_SLOT;
	fr->lru_prev = FRAME_NONE;
	fr->lru_next = FRAME_NONE;
}

static bool frame_record_untouched(const struct frame *fr)
{
	return fr->state == FRAME_FREE && !fr->refcount && !fr->swap_slot && !fr->lru_prev &&
	       !fr->lru_next;
}

/* Give pages [f, f + n) of the store back to the host. If the host will not
 * punch, still zero them: no frame reaches another guest un-zeroed. */
static int frame_store_release(struct frame_db *db, uint64_t f, uint64_t n)
{
	static const char zero[FRAME_BYTES];

	if (!fallocate(db->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, f << FRAME_SHIFT,
		       n << FRAME_SHIFT))
		return 0;
	for (uint64_t i = 0; i < n; i++) {
		if (pwrite(db->fd, zero, FRAME_BYTES, (f + i) << FRAME_SHIFT) !=
		    (ssize_t)FRAME_BYTES)
			return -errno;
	}
	return -EOPNOTSUPP;
}

static bool frame_counts_shared(const struct frame *fr)
{
	return fr->refcount && (fr->mapcount > 1 || fr->refcount > fr->mapcount);
}

/* Set the state from the counts after they changed from was_shared. */
static void frame_restate(struct frame_db *db, struct frame *fr, bool was_shared)
{
	bool shared = frame_counts_shared(fr);

	db->shared += shared - was_shared;
	if (fr->state != FRAME_IO)
		fr->state = shared ? FRAME_SHARED : FRAME_IN_USE;
}

/* Overflow reverse map */

static size_t rmap_home(const struct frame_db *db, uint64_t f)
{
	return (f * 0x9e3779b97f4a7c15ULL) >> 32 & (db->rmap_cap - 1);
}

static struct rmap_slot *rmap_find(const struct frame_db *db, uint64_t f)
{
	if (!db->rmap_cap)
		return NULL;
	for (size_t i = rmap_home(db, f);; i = (i + 1) & (db->rmap_cap - 1)) {
		if (db->rmap[i].f == f)
			return &db->rmap[i];
		if (db->rmap[i].f == RMAP_EMPTY)
			return NULL;
	}
}

static struct rmap_slot *rmap_place(struct frame_db *db, uint64_t f)
{
	size_t i = rmap_home(db, f);

	while (db->rmap[i].f != RMAP_EMPTY)
		i = (i + 1) & (db->rmap_cap - 1);
	return &db->rmap[i];
}

static int rmap_grow(struct frame_db *db)
{
	struct rmap_slot *old = db->rmap;
	size_t old_cap = db->rmap_cap, cap = old_cap ? old_cap * 2 : 64;
	struct rmap_slot *slots = malloc(cap * sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++)
		slots[i].f = RMAP_EMPTY;
	db->rmap = slots;
	db->rmap_cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i].f != RMAP_EMPTY)
			*rmap_place(db, old[i].f) = old[i];
	}
	free(old);
	db->rmap_bytes += (cap - old_cap) * sizeof(*slots);
	return 0;
}

/* The slot of f, made (empty) if f has none. */
static struct rmap_slot *rmap_get(struct frame_db *db, uint64_t f)
{
	struct rmap_slot *s = rmap_find(db, f);

	if (s)
		return s;
	if ((db->rmap_used + 1) * 2 > db->rmap_cap && rmap_grow(db))
		return NULL;
	s = rmap_place(db, f);
	*s = (struct rmap_slot){.f = f};
	db->rmap_used++;
	return s;
}

/* Remove a slot; later entries of its probe run shift back into the gap. */
static void rmap_delete(struct frame_db *db, struct rmap_slot *s)
{
	size_t mask = db->rmap_cap - 1, i = s - db->rmap, j = i;

	free(s->v);
	db->rmap_bytes -= (size_t)s->cap * sizeof(*s->v);
	db->rmap_used--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (db->rmap[j].f == RMAP_EMPTY)
			break;
		home = rmap_home(db, db->rmap[j].f);
		/* Stays if its home lies cyclically in (i, j]. */
		if ((i < j) ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		db->rmap[i] = db->rmap[j];
		i = j;
	}
	db->rmap[i].f = RMAP_EMPTY;
}

static int rmap_push(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	struct rmap_slot *s = rmap_get(db, f);

	if (!s)
		return -ENOMEM;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 4;
		struct frame_rmap *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			if (!s->n)
				rmap_delete(db, s);
			return -ENOMEM;
		}
		db->rmap_bytes += (size_t)(cap - s->cap) * sizeof(*v);
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct frame_rmap){.vm = vm, .gpa = gpa};
	return 0;
}

/* Take the mapper at index i out of f's overflow array into *out. */
static void rmap_take(struct frame_db *db, struct rmap_slot *s, uint32_t i, struct frame_rmap *out)
{
	if (out)
		*out = s->v[i];
	s->v[i] = s->v[--s->n];
	if (!s->n)
		rmap_delete(db, s);
}

/* Remove (vm, gpa) from f's reverse map: 0, or -ENOENT if it is not there. */
static int rmap_remove(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	struct frame *fr = &db->frames[f];
	struct rmap_slot *s = fr->mapcount > 1 ? rmap_find(db, f) : NULL;
	struct frame_rmap last;

	if (fr->mapcount && fr->vm == vm && fr->rmap_gpa == gpa) {
		if (s) {
			/* Promote an overflow mapper to the inline pair. */
			rmap_take(db, s, s->n - 1, &last);
			fr->vm = last.vm;
			fr->rmap_gpa = last.gpa;
		}
		return 0;
	}
	for (uint32_t i = 0; s && i < s->n; i++) {
		if (s->v[i].vm == vm && s->v[i].gpa == gpa) {
			rmap_take(db, s, i, NULL);
			return 0;
		}
	}
	return -ENOENT;
}

/* Free list */

static int ext_reserve(struct frame_db *db, size_t n)
{
	size_t cap = db->ext_cap ? db->ext_cap : 16;
	struct extent *e;

	if (n <= db->ext_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	e = realloc(db->ext, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	db->ext = e;
	db->ext_cap = cap;
	return 0;
}

/* Index of the first extent whose end lies above f. */
static size_t ext_search(const struct frame_db *db, uint64_t f)
{
	size_t lo = 0, hi = db->nr_ext;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (db->ext[mid].base + db->ext[mid].pages <= f)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool ext_overlaps(const struct frame_db *db, uint64_t base, uint64_t pages)
{
	size_t i = ext_search(db, base);

	return i < db->nr_ext && db->ext[i].base < base + pages;
}

static void ext_remove(struct frame_db *db, size_t i)
{
	memmove(&db->ext[i], &db->ext[i + 1], (db->nr_ext - i - 1) * sizeof(*db->ext));
	db->nr_ext--;
}

/* Return [base, base + pages), known not to overlap the list, to it. */
static int ext_insert(struct frame_db *db, uint64_t base, uint64_t pages)
{
	size_t i = ext_search(db, base);
	bool join_prev = i > 0 && db->ext[i - 1].base + db->ext[i - 1].pages == base;
	bool join_next = i < db->nr_ext && db->ext[i].base == base + pages;

	if (join_prev && join_next) {
		db->ext[i - 1].pages += pages + db->ext[i].pages;
		ext_remove(db, i);
	} else if (join_prev) {
		db->ext[i - 1].pages += pages;
	} else if (join_next) {
		db->ext[i].base = base;
		db->ext[i].pages += pages;
	} else {
		if (ext_reserve(db, db->nr_ext + 1))
			return -ENOMEM;
		memmove(&db->ext[i + 1], &db->ext[i], (db->nr_ext - i) * sizeof(*db->ext));
		db->ext[i] = (struct extent){base, pages};
		db->nr_ext++;
	}
	return 0;
}

/* The database */

static void frame_db_init_lock(struct frame_db *db)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&db->lock, &a);
	pthread_mutexattr_destroy(&a);
}

void frame_db_add_budget(struct frame_db *db, uint64_t n)
{
	pthread_mutex_lock(&db->lock);
	db->budget_frames += n;
	pthread_mutex_unlock(&db->lock);
}

/* The records of frames that a region has ever covered: the rest of the
 * mapping was never touched (it is sized for fork children to come). */
static size_t frame_records_bytes(const struct frame_db *db)
{
	size_t n = db->frames_high * sizeof(struct frame);

	return (n + FRAME_BYTES - 1) & ~(size_t)(FRAME_BYTES - 1);
}

int frame_db_create(struct frame_db **out, uint64_t max_frames, uint64_t budget_frames)
{
	struct frame_db *db;
	int ret;

	/* LRU links are 32-bit with FRAME_NONE as the terminator. */
	if (!max_frames || max_frames > FRAME_NONE)
		return -EINVAL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->max_frames = max_frames;
	db->budget_frames = budget_frames;
	frame_db_init_lock(db);
	db->fd = memfd_create("frame-store", MFD_CLOEXEC);
	if (db->fd < 0) {
		ret = -errno;
		goto out_free;
	}
	if (ftruncate(db->fd, max_frames << FRAME_SHIFT) < 0) {
		ret = -errno;
		goto out_close;
	}
	db->frames_bytes =
	    (max_frames * sizeof(struct frame) + FRAME_BYTES - 1) & ~(FRAME_BYTES - 1);
	db->frames = mmap(NULL, db->frames_bytes, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (db->frames == MAP_FAILED) {
		ret = -errno;
		goto out_close;
	}
	ret = ext_insert(db, 0, max_frames);
	if (ret)
		goto out_unmap;
	*out = db;
	return 0;

out_unmap:
	munmap(db->frames, db->frames_bytes);
out_close:
	close(db->fd);
out_free:
	free(db);
	return ret;
}

void frame_db_destroy(struct frame_db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->rmap_cap; i++) {
		if (db->rmap[i].f != RMAP_EMPTY)
			free(db->rmap[i].v);
	}
	free(db->rmap);
	free(db->ext);
	munmap(db->frames, db->frames_bytes);
	close(db->fd);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

int frame_store_zero(struct frame_db *db, uint64_t f)
{
	int ret = frame_store_release(db, f, 1);

	return ret == -EOPNOTSUPP ? 0 : ret;
}

int frame_db_fd(const struct frame_db *db)
{
	return db->fd;
}

static struct frame *frame_get_locked(struct frame_db *db, uint64_t f)
{
	struct frame *fr;

	if (f >= db->max_frames)
		return NULL;
	fr = &db->frames[f];
	if (frame_record_untouched(fr))
		frame_record_init(fr);
	return fr;
}

struct frame *frame_get(struct frame_db *db, uint64_t f)
{
	struct frame *r;

	pthread_mutex_lock(&db->lock);
	r = frame_get_locked(db, f);
	pthread_mutex_unlock(&db->lock);
	return r;
}

/* Regions */

static int frame_region_alloc_locked(struct frame_db *db, uint64_t pages, uint64_t *base)
{
	if (!pages)
		return -EINVAL;
	for (size_t i = 0; i < db->nr_ext; i++) {
		struct extent *e = &db->ext[i];

		if (e->pages < pages)
			continue;
		*base = e->base;
		if (e->base + pages > db->frames_high)
			db->frames_high = e->base + pages;
		e->base += pages;
		e->pages -= pages;
		if (!e->pages)
			ext_remove(db, i);
		return 0;
	}
	return -ENOSPC;
}

int frame_region_alloc(struct frame_db *db, uint64_t pages, uint64_t *base)
{
	int r;

	pthread_mutex_lock(&db->lock);
	r = frame_region_alloc_locked(db, pages, base);
	pthread_mutex_unlock(&db->lock);
	return r;
}

/* Drop every reference to resident frame f, without touching the store;
 * was_shared: whether f was counted as shared. */
static void frame_forget(struct frame_db *db, uint64_t f, bool was_shared)
{
	struct frame *fr = &db->frames[f];
	struct rmap_slot *s = fr->mapcount > 1 ? rmap_find(db, f) : NULL;

	if (s)
		rmap_delete(db, s);
	db->shared -= was_shared;
	db->resident--;
	db->charged--;
	frame_record_init(fr);
}

static void frame_region_free_locked(struct frame_db *db, uint64_t base, uint64_t pages)
{
	uint64_t end = base + pages, freed = 0;

	if (!pages || end > db->max_frames || end < base || ext_overlaps(db, base, pages)) {
		db->misuse++;
		return;
	}
	/* Make room in the free list first: past this point nothing fails. */
	if (ext_reserve(db, db->nr_ext + 1)) {
		db->misuse++;
		return;
	}
	for (uint64_t f = base; f < end; f++) {
		if (db->frames[f].refcount) {
			frame_forget(db, f, frame_counts_shared(&db->frames[f]));
			freed++;
		}
	}
	/* One punch over the whole region: it coalesces every resident run and
	 * also zeroes pages written through a view without a record. */
	if (!frame_store_release(db, base, pages))
		db->holes_punched += freed;
	ext_insert(db, base, pages);
}

void frame_region_free(struct frame_db *db, uint64_t base, uint64_t pages)
{
	pthread_mutex_lock(&db->lock);
	frame_region_free_locked(db, base, pages);
	pthread_mutex_unlock(&db->lock);
}

/* Runs of frames no one holds go back to the free list; a frame still
 * held (mapped by another VM, kept by a snapshot) stays resident as an
 * orphan and goes back with its last reference (frame_release). */
static void frame_region_release_locked(struct frame_db *db, uint64_t base, uint64_t pages)
{
	uint64_t end = base + pages, run = base;

	if (!pages || end > db->max_frames || end < base || ext_overlaps(db, base, pages)) {
		db->misuse++;
		return;
	}
	for (uint64_t f = base; f <= end; f++) {
		if (f < end && !db->frames[f].refcount)
			continue;
		if (f > run && !frame_store_release(db, run, f - run) &&
		    ext_insert(db, run, f - run))
			db->misuse++;
		if (f < end)
			db->frames[f].flags |= FRAME_F_ORPHAN;
		run = f + 1;
	}
}

void frame_region_release(struct frame_db *db, uint64_t base, uint64_t pages)
{
	pthread_mutex_lock(&db->lock);
	frame_region_release_locked(db, base, pages);
	pthread_mutex_unlock(&db->lock);
}

/* Budget */

static int frame_charge_locked(struct frame_db *db, uint64_t n)
{
	if (n > db->budget_frames - db->charged || db->charged > db->budget_frames)
		return -ENOMEM;
	db->charged += n;
	if (db->low_fn && db->budget_frames - db->charged < db->low_frames)
		db->low_fn(db->low_arg);
	return 0;
}

int frame_charge(struct frame_db *db, uint64_t n)
{
	int r;

	pthread_mutex_lock(&db->lock);
	r = frame_charge_locked(db, n);
	pthread_mutex_unlock(&db->lock);
	return r;
}

static void frame_uncharge_locked(struct frame_db *db, uint64_t n)
{
	if (n > db->charged - db->resident) {
		db->misuse++;
		return;
	}
	db->charged -= n;
}

void frame_uncharge(struct frame_db *db, uint64_t n)
{
	pthread_mutex_lock(&db->lock);
	frame_uncharge_locked(db, n);
	pthread_mutex_unlock(&db->lock);
}

void frame_db_set_low_watermark(struct frame_db *db, uint64_t low, frame_low_fn fn, void *arg)
{
	pthread_mutex_lock(&db->lock);
	db->low_frames = low;
	db->low_fn = low ? fn : NULL;
	db->low_arg = arg;
	pthread_mutex_unlock(&db->lock);
}

/* Mapping and references */

/* Resident frame f, or NULL (counted as misuse) if f is free or out of range. */
static struct frame *frame_resident(struct frame_db *db, uint64_t f)
{
	if (f >= db->max_frames || !db->frames[f].refcount) {
		db->misuse++;
		return NULL;
	}
	return &db->frames[f];
}

static void frame_release(struct frame_db *db, uint64_t f, bool was_shared)
{
	bool orphan = db->frames[f].flags & FRAME_F_ORPHAN;

	frame_forget(db, f, was_shared);
	if (!frame_store_release(db, f, 1))
		db->holes_punched++;
	/* Its region went while others held it: it is free for anyone now. */
	if (orphan && ext_insert(db, f, 1))
		db->misuse++;
}

static int frame_map_new_locked(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	struct frame *fr;

	if (f >= db->max_frames || ext_overlaps(db, f, 1)) {
		db->misuse++;
		return -EINVAL;
	}
	fr = &db->frames[f];
	if (fr->refcount) {
		db->misuse++;
		return -EBUSY;
	}
	if (frame_charge(db, 1))
		return -ENOMEM;
	frame_record_init(fr);
	fr->state = FRAME_IN_USE;
	fr->vm = vm;
	fr->rmap_gpa = gpa;
	fr->refcount = 1;
	fr->mapcount = 1;
	db->resident++;
	if (db->resident > db->peak_resident)
		db->peak_resident = db->resident;
	return 0;
}

int frame_map_new(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	int r;

	pthread_mutex_lock(&db->lock);
	r = frame_map_new_locked(db, f, vm, gpa);
	pthread_mutex_unlock(&db->lock);
	return r;
}

static int frame_map_shared_locked(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	struct frame *fr = frame_resident(db, f);
	bool was_shared;

	if (!fr)
		return -EINVAL;
	if (fr->refcount == FRAME_MISUSE - 1)
		return -EOVERFLOW;
	was_shared = frame_counts_shared(fr);
	if (!fr->mapcount) {
		fr->vm = vm;
		fr->rmap_gpa = gpa;
	} else if (rmap_push(db, f, vm, gpa)) {
		return -ENOMEM;
	}
	fr->mapcount++;
	fr->refcount++;
	frame_restate(db, fr, was_shared);
	return 0;
}

int frame_map_shared(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	int r;

	pthread_mutex_lock(&db->lock);
	r = frame_map_shared_locked(db, f, vm, gpa);
	pthread_mutex_unlock(&db->lock);
	return r;
}

/* Drop one reference to resident f (the caller checked it may): the new
 * refcount. */
static uint32_t frame_drop(struct frame_db *db, uint64_t f, bool was_shared)
{
	struct frame *fr = &db->frames[f];

	if (!--fr->refcount) {
		frame_release(db, f, was_shared);
		return 0;
	}
	frame_restate(db, fr, was_shared);
	return fr->refcount;
}

static uint32_t frame_unmap_locked(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	struct frame *fr = frame_resident(db, f);
	bool was_shared;

	if (!fr)
		return FRAME_MISUSE;
	was_shared = frame_counts_shared(fr);
	if (rmap_remove(db, f, vm, gpa)) {
		db->misuse++;
		return FRAME_MISUSE;
	}
	fr->mapcount--;
	return frame_drop(db, f, was_shared);
}

uint32_t frame_unmap(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	uint32_t r;

	pthread_mutex_lock(&db->lock);
	r = frame_unmap_locked(db, f, vm, gpa);
	pthread_mutex_unlock(&db->lock);
	return r;
}

static void frame_get_ref_locked(struct frame_db *db, uint64_t f)
{
	struct frame *fr = frame_resident(db, f);
	bool was_shared;

	if (!fr)
		return;
	if (fr->refcount == FRAME_MISUSE - 1) {
		db->misuse++;
		return;
	}
	was_shared = frame_counts_shared(fr);
	fr->refcount++;
	frame_restate(db, fr, was_shared);
}

void frame_get_ref(struct frame_db *db, uint64_t f)
{
	pthread_mutex_lock(&db->lock);
	frame_get_ref_locked(db, f);
	pthread_mutex_unlock(&db->lock);
}

static uint32_t frame_put_ref_locked(struct frame_db *db, uint64_t f)
{
	struct frame *fr = frame_resident(db, f);

	if (!fr)
		return FRAME_MISUSE;
	if (fr->refcount == fr->mapcount) {
		db->misuse++;
		return FRAME_MISUSE;
	}
	return frame_drop(db, f, frame_counts_shared(fr));
}

uint32_t frame_put_ref(struct frame_db *db, uint64_t f)
{
	uint32_t r;

	pthread_mutex_lock(&db->lock);
	r = frame_put_ref_locked(db, f);
	pthread_mutex_unlock(&db->lock);
	return r;
}

/* Overflow mappers last to first, then the inline one: fn may unmap the
 * (vm, gpa) it is given (the array only moves already-visited pairs), but
 * no other mapping of f. */
static void frame_for_each_mapper_locked(struct frame_db *db, uint64_t f, frame_rmap_fn fn,
					 void *arg)
{
	struct frame *fr;

	if (f >= db->max_frames)
		return;
	fr = &db->frames[f];
	for (uint32_t i = fr->mapcount; i > 1; i--) {
		struct rmap_slot *s = rmap_find(db, f);

		if (!s || i - 2 >= s->n)
			break;
		fn(s->v[i - 2].vm, s->v[i - 2].gpa, arg);
	}
	if (fr->mapcount)
		fn(fr->vm, fr->rmap_gpa, arg);
}

uint32_t frame_swap_slot(struct frame_db *db, uint64_t f)
{
	uint32_t slot = FRAME_NO_SLOT;

	pthread_mutex_lock(&db->lock);
	if (f < db->max_frames && db->frames[f].refcount)
		slot = db->frames[f].swap_slot;
	pthread_mutex_unlock(&db->lock);
	return slot;
}

void frame_set_swap_slot(struct frame_db *db, uint64_t f, uint32_t slot)
{
	pthread_mutex_lock(&db->lock);
	if (frame_resident(db, f))
		db->frames[f].swap_slot = slot;
	pthread_mutex_unlock(&db->lock);
}

void frame_for_each_mapper(struct frame_db *db, uint64_t f, frame_rmap_fn fn, void *arg)
{
	pthread_mutex_lock(&db->lock);
	frame_for_each_mapper_locked(db, f, fn, arg);
	pthread_mutex_unlock(&db->lock);
}

void frame_db_stats(const struct frame_db *db, struct frame_db_stats *out)
{
	pthread_mutex_lock((pthread_mutex_t *)&db->lock);
	*out = (struct frame_db_stats){
	    .max_frames = db->max_frames,
	    .budget_frames = db->budget_frames,
	    .resident = db->resident,
	    .shared = db->shared,
	    /* budget_frames - resident when every charge is a frame */
	    .free_in_budget = db->budget_frames > db->charged ? db->budget_frames - db->charged : 0,
	    .holes_punched = db->holes_punched,
	    .peak_resident = db->peak_resident,
	    .metadata_bytes =
		frame_records_bytes(db) + db->rmap_bytes + db->ext_cap * sizeof(*db->ext),
	    .misuse = db->misuse,
	};
	pthread_mutex_unlock((pthread_mutex_t *)&db->lock);
}

/* Debug */

static int frame_check_record(const struct frame_db *db, uint64_t f, char *why, size_t len)
{
	const struct frame *fr = &db->frames[f];
	const struct rmap_slot *s = rmap_find(db, f);
	uint32_t extra = s ? s->n : 0;

	if (fr->refcount < fr->mapcount)
		snprintf(why, len, "frame %lu: refcount %u < mapcount %u", f, fr->refcount,
			 fr->mapcount);
	else if (fr->state > FRAME_IO)
		snprintf(why, len, "frame %lu: state %u unknown", f, fr->state);
	else if ((fr->state == FRAME_FREE) != !fr->refcount)
		snprintf(why, len, "frame %lu: state %u with refcount %u", f, fr->state,
			 fr->refcount);
	else if (fr->state == FRAME_IN_USE && frame_counts_shared(fr))
		snprintf(why, len, "frame %lu: IN_USE with refcount %u mapcount %u", f,
			 fr->refcount, fr->mapcount);
	else if (fr->state == FRAME_SHARED && !frame_counts_shared(fr))
		snprintf(why, len, "frame %lu: SHARED with refcount %u mapcount %u", f,
			 fr->refcount, fr->mapcount);
	else if ((s && !s->n) || extra != (fr->mapcount > 1 ? fr->mapcount - 1 : 0))
		snprintf(why, len, "frame %lu: mapcount %u, %u overflow mappers", f, fr->mapcount,
			 extra);
	else if (fr->refcount && ext_overlaps(db, f, 1))
		snprintf(why, len, "frame %lu: resident but on the free list", f);
	else
		return 0;
	return -EUCLEAN;
}

static int frame_check_free_list(const struct frame_db *db, char *why, size_t len)
{
	for (size_t i = 0; i < db->nr_ext; i++) {
		const struct extent *e = &db->ext[i];

		if (!e->pages || e->base + e->pages > db->max_frames ||
		    (i && db->ext[i - 1].base + db->ext[i - 1].pages >= e->base)) {
			snprintf(why, len,
				 "free extent %zu [%lu, +%lu) empty, unsorted, unmerged or out of "
				 "the store",
				 i, e->base, e->pages);
			return -EUCLEAN;
		}
	}
	return 0;
}

static int frame_db_check_locked(const struct frame_db *db, char *why, size_t len)
{
	uint64_t resident = 0, shared = 0, overflowed = 0;
	int ret;

	for (uint64_t f = 0; f < db->max_frames; f++) {
		const struct frame *fr = &db->frames[f];

		ret = frame_check_record(db, f, why, len);
		if (ret)
			return ret;
		resident += !!fr->refcount;
		shared += frame_counts_shared(fr);
		overflowed += fr->mapcount > 1;
	}
	if (resident != db->resident || shared != db->shared || overflowed != db->rmap_used ||
	    db->charged < resident) {
		snprintf(why, len,
			 "counted %lu resident, %lu shared, %lu overflowed; db says %lu, %lu, %lu "
			 "(charged %lu)",
			 resident, shared, overflowed, db->resident, db->shared, db->rmap_used,
			 db->charged);
		return -EUCLEAN;
	}
	return frame_check_free_list(db, why, len);
}

int frame_db_check(const struct frame_db *db, char *why, size_t len)
{
	int ret;

	pthread_mutex_lock((pthread_mutex_t *)&db->lock);
	ret = frame_db_check_locked(db, why, len);
	pthread_mutex_unlock((pthread_mutex_t *)&db->lock);
	return ret;
}
