/* ept/frame.c: the frame store and the frame database (see frame.h).
 *
 * Records: one array of struct frame, mapped MAP_NORESERVE, so that a huge
 * sparse store costs only the record pages touched. A record untouched since
 * the mapping reads as all zeros; its swap slot is filled in (FRAME_NO_SLOT)
 * the first time frame_get or frame_map_new hands it out, rather than
 * touching every record page up front.
 *
 * Free regions: a sorted array of extents, allocated first fit and merged
 * with their neighbours on release.
 *
 * Misuse (unmapping a pair that does not hold the frame, releasing a
 * region that is not allocated, ...) changes nothing, is counted in
 * stats.misuse and, where the function returns something, reported:
 * -EINVAL or -EBUSY. frame_db_check() verifies the invariants for tests.
 *
 * metadata_bytes: which record pages were touched is not known cheaply, so
 * it counts the records (16 bytes per frame) up to the end of the highest
 * region ever allocated, the rest of the array being untouched (the store
 * is sized for fork children), plus the free list as allocated.
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

#include "ept.h" /* the page size */

struct extent {
	uint64_t base, pages;
};

struct frame_db {
	pthread_mutex_t lock; /* every public function holds it */
	int fd;
	uint64_t max_frames, budget_frames;
	uint64_t charged;  /* budget taken: resident frames plus frame_charge() */
	uint64_t resident; /* frames not FREE */
	uint64_t peak_resident;
	uint64_t shared; /* frames SHARED */
	uint64_t holes_punched, misuse;
	struct frame *frames;
	size_t frames_bytes;
	uint64_t frames_high; /* end of the highest region ever allocated */
	struct extent *ext;   /* free extents, sorted by base, never adjacent */
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
}

static bool frame_record_untouched(const struct frame *fr)
{
	return fr->state == FRAME_FREE && !fr->swap_slot;
}

/* Give pages [f, f + n) of the store back to the host. If the host will not
 * punch, still zero them: no frame reaches another guest un-zeroed. */
static int frame_store_release(struct frame_db *db, uint64_t f, uint64_t n)
{
	static const char zero[EPT_PAGE_SIZE];

	if (!fallocate(db->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, f << EPT_PAGE_SHIFT,
		       n << EPT_PAGE_SHIFT))
		return 0;
	for (uint64_t i = 0; i < n; i++) {
		if (pwrite(db->fd, zero, EPT_PAGE_SIZE, (f + i) << EPT_PAGE_SHIFT) !=
		    (ssize_t)EPT_PAGE_SIZE)
			return -errno;
	}
	return -EOPNOTSUPP;
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

	return (n + EPT_PAGE_SIZE - 1) & ~(size_t)(EPT_PAGE_SIZE - 1);
}

int frame_db_create(struct frame_db **out, uint64_t max_frames, uint64_t budget_frames)
{
	struct frame_db *db;
	int ret;

	/* Frame numbers are 32-bit in the VMM's tables, FRAME_NONE aside. */
	if (!max_frames || max_frames > FRAME_NONE)
		return -EINVAL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->max_frames = max_frames;
	db->budget_frames = budget_frames;
	pthread_mutex_init(&db->lock, NULL);
	db->fd = memfd_create("frame-store", MFD_CLOEXEC);
	if (db->fd < 0) {
		ret = -errno;
		goto out_free;
	}
	if (ftruncate(db->fd, max_frames << EPT_PAGE_SHIFT) < 0) {
		ret = -errno;
		goto out_close;
	}
	db->frames_bytes =
	    (max_frames * sizeof(struct frame) + EPT_PAGE_SIZE - 1) & ~(EPT_PAGE_SIZE - 1);
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
	pthread_mutex_destroy(&db->lock);
	free(db);
	return ret;
}

void frame_db_destroy(struct frame_db *db)
{
	if (!db)
		return;
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

static bool frame_region_valid(const struct frame_db *db, uint64_t base, uint64_t pages)
{
	uint64_t end = base + pages;

	return pages && end <= db->max_frames && end > base && !ext_overlaps(db, base, pages);
}

/* Runs of frames no one holds go back to the free list; a frame still
 * held stays resident as an orphan and goes back with its unmap. */
static void frame_region_release_locked(struct frame_db *db, uint64_t base, uint64_t pages)
{
	uint64_t end = base + pages, run = base;

	if (!frame_region_valid(db, base, pages)) {
		db->misuse++;
		return;
	}
	for (uint64_t f = base; f <= end; f++) {
		if (f < end && db->frames[f].state == FRAME_FREE)
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

void frame_region_share(struct frame_db *db, uint64_t base, uint64_t pages)
{
	pthread_mutex_lock(&db->lock);
	if (!frame_region_valid(db, base, pages)) {
		db->misuse++;
		pthread_mutex_unlock(&db->lock);
		return;
	}
	for (uint64_t f = base; f < base + pages; f++)
		if (db->frames[f].state == FRAME_IN_USE) {
			db->frames[f].state = FRAME_SHARED;
			db->shared++;
		}
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

/* Holding frames */

static int frame_map_new_locked(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	struct frame *fr;

	if (f >= db->max_frames || ext_overlaps(db, f, 1)) {
		db->misuse++;
		return -EINVAL;
	}
	fr = &db->frames[f];
	if (fr->state != FRAME_FREE) {
		db->misuse++;
		return -EBUSY;
	}
	if (frame_charge_locked(db, 1))
		return -ENOMEM;
	frame_record_init(fr);
	fr->state = FRAME_IN_USE;
	fr->vm = vm;
	fr->gpa = gpa;
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

/* Resident frame f held by (vm, gpa), or NULL (counted as misuse). */
static struct frame *frame_held(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	struct frame *fr = f < db->max_frames ? &db->frames[f] : NULL;

	if (!fr || fr->state == FRAME_FREE || fr->vm != vm || fr->gpa != gpa) {
		db->misuse++;
		return NULL;
	}
	return fr;
}

static int frame_unmap_locked(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa,
			      bool defer)
{
	struct frame *fr = frame_held(db, f, vm, gpa);
	bool orphan;

	if (!fr)
		return -EINVAL;
	orphan = fr->flags & FRAME_F_ORPHAN;
	db->shared -= fr->state == FRAME_SHARED;
	db->resident--;
	db->charged--;
	frame_record_init(fr);
	/* Deferred: the region's release punches it, with its neighbours. */
	if ((defer && !orphan) || !frame_store_release(db, f, 1))
		db->holes_punched++;
	/* Its region went while it was held: it is free for anyone now. */
	if (orphan && ext_insert(db, f, 1))
		db->misuse++;
	return 0;
}

int frame_unmap(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	int r;

	pthread_mutex_lock(&db->lock);
	r = frame_unmap_locked(db, f, vm, gpa, false);
	pthread_mutex_unlock(&db->lock);
	return r;
}

int frame_unmap_deferred(struct frame_db *db, uint64_t f, uint16_t vm, uint64_t gpa)
{
	int r;

	pthread_mutex_lock(&db->lock);
	r = frame_unmap_locked(db, f, vm, gpa, true);
	pthread_mutex_unlock(&db->lock);
	return r;
}

uint32_t frame_swap_slot(struct frame_db *db, uint64_t f)
{
	uint32_t slot = FRAME_NO_SLOT;

	pthread_mutex_lock(&db->lock);
	if (f < db->max_frames && db->frames[f].state != FRAME_FREE)
		slot = db->frames[f].swap_slot;
	pthread_mutex_unlock(&db->lock);
	return slot;
}

void frame_set_swap_slot(struct frame_db *db, uint64_t f, uint32_t slot)
{
	pthread_mutex_lock(&db->lock);
	if (f < db->max_frames && db->frames[f].state != FRAME_FREE)
		db->frames[f].swap_slot = slot;
	else
		db->misuse++;
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
	    .metadata_bytes = frame_records_bytes(db) + db->ext_cap * sizeof(*db->ext),
	    .misuse = db->misuse,
	};
	pthread_mutex_unlock((pthread_mutex_t *)&db->lock);
}

/* Debug */

static int frame_check_record(const struct frame_db *db, uint64_t f, char *why, size_t len)
{
	const struct frame *fr = &db->frames[f];

	if (fr->state > FRAME_SHARED)
		snprintf(why, len, "frame %lu: state %u unknown", f, fr->state);
	else if (fr->state != FRAME_FREE && ext_overlaps(db, f, 1))
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
	uint64_t resident = 0, shared = 0;
	int ret;

	for (uint64_t f = 0; f < db->max_frames; f++) {
		const struct frame *fr = &db->frames[f];

		ret = frame_check_record(db, f, why, len);
		if (ret)
			return ret;
		resident += fr->state != FRAME_FREE;
		shared += fr->state == FRAME_SHARED;
	}
	if (resident != db->resident || shared != db->shared || db->charged < resident) {
		snprintf(why, len,
			 "counted %lu resident, %lu shared; db says %lu, %lu (charged %lu)",
			 resident, shared, db->resident, db->shared, db->charged);
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
