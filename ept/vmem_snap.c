/* ept/vmem_snap.c: live snapshots of a VM's memory, see vmem.h.
 *
 * Copy-before-write: the guest keeps its frames, and a page the snapshot
 * still needs is saved (to the sink) before anything changes it. Every
 * change to a page goes through the core's installer (vmem_install), and
 * the snapshot observes it from arming to the end (snap_observer):
 *   - a page the view maps is write-protected (userfaultfd WP), so a guest
 *     write is a WP fault, served by lifting the protection (an install);
 *   - a page the view does not map is a MISSING fault (zero fill, swap-in,
 *     lazy load) or, for one the store holds, a MINOR fault: the view is
 *     registered for MINOR faults from arming on;
 *   - the VMM's own writes and discards are installs too.
 *
 * Protecting the whole view walks every host and KVM entry, which grows
 * with guest size, so it is done before the pause, while the guest runs:
 * a write meanwhile is let through and its page remembered (dirty). The
 * pause then protects only those pages again, and clones the table
 * (O(1)): the clone says which pages the snapshot holds, the saved bitmap
 * which of them are saved.
 */
#include "vmem_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#define SNAP_CHUNK 512 /* pages protected or unprotected per lock hold */

void vmem_snap_fail(struct vmem *v, const char *what, const char *why)
{
	if (v->snap.state == VMEM_SNAP_FAILED)
		return;
	snprintf(v->snap.err, sizeof(v->snap.err), "%s: %s", what, why);
	v->snap.state = VMEM_SNAP_FAILED;
}

static bool snap_pending(const struct vmem *v, uint64_t idx)
{
	return !vmem_bit(v->snap.saved, idx) && ept_get(v->snap.table, vmem_idx_gpa(v, idx));
}

/* Save page p, whose content is still the snapshot's: from content, or
 * read where the page is now (its frame, swap slot or source). */
static int snap_save_page(struct vmem *v, const struct vmem_page *p, const void *content)
{
	char why[200], what[32];
	int ret = 0;

	if (!content) {
		ret = vmem_page_content(v, p, v->snap.buf, why, sizeof(why));
		content = v->snap.buf;
	}
	if (!ret)
		ret = v->snap.sink.save(v->snap.sink.arg, p->gpa, content, why, sizeof(why));
	if (ret) {
		snprintf(what, sizeof(what), "GPA %#lx", (unsigned long)p->gpa);
		vmem_snap_fail(v, what, why);
		return ret;
	}
	vmem_bit_set(v->snap.saved, p->idx);
	v->snap.stats.pending--;
	return 0;
}

/* Frozen: a page about to change is saved first if still needed. */
static void snap_before_change(struct vmem *v, uint64_t idx, const void *content)
{
	struct vmem_page p;

	if (v->snap.state != VMEM_SNAP_FROZEN || !snap_pending(v, idx))
		return;
	vmem_page_at(v, idx, &p);
	if (!snap_save_page(v, &p, content))
		v->snap.stats.saved_by_fault++;
}

/* Armed: a page mapped writable will have to be protected again. */
static void snap_mapped(struct vmem *v, uint64_t first, uint64_t n)
{
	if (v->snap.state != VMEM_SNAP_ARMED)
		return;
	for (uint64_t i = first; i < first + n; i++)
		vmem_bit_set(v->snap.dirty, i);
}

static const struct vmem_observer snap_observer = {
    .before = snap_before_change,
    .mapped = snap_mapped,
};

/* Armed: let the write through and remember the page. Frozen: save the
 * page first. Otherwise a protection left over: lift it. */
int vmem_snap_wp_fault(struct vmem *v, const struct vmem_page *p)
{
	v->snap.stats.wp_faults++;
	return vmem_install(v, p, &(struct vmem_install){.fill = VMEM_FILL_UNPROTECT});
}

static int snap_alloc(struct vmem *v)
{
	v->snap.dirty = vmem_bitmap_new(v->pages);
	v->snap.saved = vmem_bitmap_new(v->pages);
	if (!v->snap.buf)
		v->snap.buf = aligned_alloc(EPT_PAGE_SIZE, VMEM_EVICT_MAX * EPT_PAGE_SIZE);
	return v->snap.dirty && v->snap.saved && v->snap.buf ? 0 : -ENOMEM;
}

static void snap_release(struct vmem *v)
{
	free(v->snap.dirty);
	free(v->snap.saved);
	ept_destroy(v->snap.table);
	v->snap.dirty = v->snap.saved = NULL;
	v->snap.table = NULL;
}

void vmem_snap_fini(struct vmem *v)
{
	snap_release(v);
	free(v->snap.buf);
	v->snap.buf = NULL;
}

/* With v's lock: arming needs every first touch of a page the store holds
 * to be a fault, not the kernel's own minor fault. */
static int snap_begin(struct vmem *v, const struct vmem_snap_sink *sink)
{
	struct vmem_view *w = &v->view;
	struct vmem_snap_stats *st = &v->snap.stats;
	int ret;

	if (!w->can_wp)
		return -ENOTSUP;
	if (v->snap.state == VMEM_SNAP_ARMED || v->snap.state == VMEM_SNAP_FROZEN || v->snap.ending)
		return -EBUSY;
	if (v->fatal)
		return -ESRCH;
	snap_release(v);
	ret = snap_alloc(v);
	if (!ret && !(w->reg_modes & UFFDIO_REGISTER_MODE_MINOR)) {
		ret = uffd_register_modes(&w->uffd, w->base, v->pages << EPT_PAGE_SHIFT,
					  w->reg_modes | UFFDIO_REGISTER_MODE_MINOR);
		if (!ret)
			w->reg_modes |= UFFDIO_REGISTER_MODE_MINOR;
	}
	if (ret) {
		snap_release(v);
		return ret;
	}
	v->snap.sink = *sink;
	v->snap.err[0] = '\0';
	st->arm_ns = st->freeze_ns = st->unprotect_ns = 0;
	st->rearmed = st->reprotected = st->total = st->pending = 0;
	st->saved_by_writer = st->saved_by_fault = st->wp_faults = 0;
	v->snap.state = VMEM_SNAP_ARMED;
	v->observer = &snap_observer;
	return 0;
}

/* Protect (wp) or unprotect the whole view, a chunk per hold of v's lock
 * so that faults are served between chunks. Protecting stops with -EINTR
 * once the snapshot is no longer armed; unprotecting goes on through
 * errors (a protection left over is lifted at its fault). */
static int snap_protect_view(struct vmem *v, bool wp)
{
	int ret = 0;

	for (uint64_t first = 0; !ret && first < v->pages; first += SNAP_CHUNK) {
		uint64_t n = v->pages - first < SNAP_CHUNK ? v->pages - first : SNAP_CHUNK;

		pthread_mutex_lock(&v->lock);
		if (wp)
			ret = v->snap.state == VMEM_SNAP_ARMED
				  ? vmem_view_protect(v, first, n, true)
				  : -EINTR;
		else if (!v->fatal)
			vmem_view_protect(v, first, n, false);
		pthread_mutex_unlock(&v->lock);
	}
	return ret;
}

int vmem_snap_arm(struct vmem *v, const struct vmem_snap_sink *sink)
{
	uint64_t t0 = histo_now_ns();
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = snap_begin(v, sink);
	pthread_mutex_unlock(&v->lock);
	if (ret)
		return ret; /* nothing begun: another snapshot's state stays */
	ret = snap_protect_view(v, true);
	pthread_mutex_lock(&v->lock);
	v->snap.stats.arm_ns = histo_now_ns() - t0;
	v->snap.stats.armed_pages = ret ? 0 : v->pages;
	if (ret && v->snap.state == VMEM_SNAP_ARMED)
		vmem_snap_fail(v, "write-protecting the view", strerror(-ret));
	pthread_mutex_unlock(&v->lock);
	if (ret)
		vmem_snap_end(v);
	return ret;
}

/* Protect again what was written since arming (or since the last
 * rearm, whose pages are forgotten: they are protected again). Counted in
 * *count. */
static int snap_reprotect(struct vmem *v, bool forget, uint64_t *count)
{
	uint64_t i = 0;
	int ret = 0;

	while (!ret && i < v->pages) {
		uint64_t n = 0;

		if (!v->snap.dirty[i / 64] && i % 64 == 0) {
			i += 64;
			continue;
		}
		while (i + n < v->pages && vmem_bit(v->snap.dirty, i + n))
			n++;
		if (n)
			ret = vmem_view_protect(v, i, n, true);
		for (uint64_t k = i; forget && !ret && k < i + n; k++)
			vmem_bit_clear(v->snap.dirty, k);
		*count += n;
		i += n ? n : 1;
	}
	return ret;
}

int vmem_snap_rearm(struct vmem *v)
{
	int ret = -EINVAL;

	pthread_mutex_lock(&v->lock);
	if (v->snap.state == VMEM_SNAP_ARMED)
		ret = snap_reprotect(v, true, &v->snap.stats.rearmed);
	if (ret && v->snap.state == VMEM_SNAP_ARMED)
		vmem_snap_fail(v, "write-protecting the view again", strerror(-ret));
	pthread_mutex_unlock(&v->lock);
	return ret;
}

int vmem_snap_freeze(struct vmem *v)
{
	uint64_t t0 = histo_now_ns();
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->snap.state != VMEM_SNAP_ARMED || !v->snap.sink.save)
		ret = v->snap.state == VMEM_SNAP_FAILED ? -EIO : -EINVAL;
	if (!ret)
		ret = snap_reprotect(v, false, &v->snap.stats.reprotected);
	if (!ret && !(v->snap.table = ept_clone(v->table)))
		ret = -ENOMEM;
	if (ret) {
		vmem_snap_fail(v, "freezing memory", strerror(-ret));
	} else {
		v->snap.stats.total = v->snap.stats.pending =
		    v->stats.resident_pages + v->stats.shared_pages + v->stats.swapped_pages +
		    v->stats.source_pages;
		v->snap.cursor = 0;
		v->snap.state = VMEM_SNAP_FROZEN;
	}
	v->snap.stats.freeze_ns = histo_now_ns() - t0;
	pthread_mutex_unlock(&v->lock);
	return ret;
}

struct snap_batch {
	const struct vmem *v;
	uint64_t gpa[VMEM_EVICT_MAX];
	unsigned n, max;
};

static int snap_collect(uint64_t gpa, uint64_t entry, void *arg)
{
	struct snap_batch *b = arg;
	int64_t idx = vmem_gpa_idx(b->v, gpa);

	(void)entry;
	if (idx >= 0 && !vmem_bit(b->v->snap.saved, idx))
		b->gpa[b->n++] = gpa;
	return b->n == b->max;
}

/* Pages p[0..n) that sit in neighbouring frames of the store, read with
 * one pread into the buffer: how many (at least 1, or 0 if p[0] is not
 * resident or the read fails: then page by page). */
static unsigned snap_read_run(struct vmem *v, const struct vmem_page *p, unsigned n)
{
	uint64_t f = ept_frame(p[0].entry);
	unsigned run = 1;

	if (!ept_present(p[0].entry))
		return 0;
	while (run < n && ept_present(p[run].entry) && ept_frame(p[run].entry) == f + run)
		run++;
	if (run == 1 || vmem_pio(pread, frame_db_fd(v->db), v->snap.buf,
				 (size_t)run << EPT_PAGE_SHIFT, (off_t)f << EPT_PAGE_SHIFT))
		return 0;
	return run;
}

/* The next pages the snapshot still needs, from the cursor on: saved, then
 * their range unprotected (every page in it is saved or was not held).
 * Runs of resident neighbours are read from the store in one pread. */
static int snap_save_batch(struct vmem *v, unsigned max)
{
	struct snap_batch b = {.v = v, .max = max < VMEM_EVICT_MAX ? max : VMEM_EVICT_MAX};
	int64_t first, last;
	int more = ept_for_each(v->snap.table, v->snap.cursor, UINT64_MAX, snap_collect, &b);
	struct vmem_page p[VMEM_EVICT_MAX];

	for (unsigned i = 0; i < b.n; i++)
		vmem_page_at(v, vmem_gpa_idx(v, b.gpa[i]), &p[i]);
	for (unsigned i = 0, run; i < b.n; i += run ? run : 1) {
		run = snap_read_run(v, &p[i], b.n - i);
		for (unsigned k = 0; k < (run ? run : 1); k++) {
			const void *content =
			    run ? v->snap.buf + ((size_t)k << EPT_PAGE_SHIFT) : NULL;

			if (snap_save_page(v, &p[i + k], content))
				return -EIO;
			v->snap.stats.saved_by_writer++;
		}
	}
	if (b.n) {
		first = vmem_gpa_idx(v, b.gpa[0]);
		last = vmem_gpa_idx(v, b.gpa[b.n - 1]);
		vmem_view_protect(v, first, last - first + 1, false);
		v->snap.cursor = b.gpa[b.n - 1] + EPT_PAGE_SIZE;
	}
	return more ? 1 : 0;
}

int vmem_snap_save(struct vmem *v, unsigned max, char *msg, size_t len)
{
	int ret;

	pthread_mutex_lock(&v->lock);
	if (v->fatal && v->snap.state == VMEM_SNAP_FROZEN)
		vmem_snap_fail(v, "saving memory", "the VM stopped before all of it was saved");
	if (v->snap.state == VMEM_SNAP_FROZEN)
		ret = snap_save_batch(v, max ? max : 1);
	else
		ret = v->snap.state == VMEM_SNAP_FAILED ? -EIO : -EINVAL;
	if (ret < 0)
		snprintf(msg, len, "%s",
			 v->snap.state == VMEM_SNAP_FAILED ? v->snap.err : "not frozen");
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* Without a pager or a source, MINOR faults were for the snapshot only: the kernel
 * maps store pages itself again (a MINOR fault still queued finds the
 * view unregistered for it, and the fault thread just wakes it). */
static void snap_drop_minor(struct vmem *v)
{
	struct vmem_view *w = &v->view;
	uint64_t modes = w->reg_modes & ~(uint64_t)UFFDIO_REGISTER_MODE_MINOR;

	if (v->back.pager || v->back.source || w->image || v->fatal || modes == w->reg_modes)
		return;
	if (!uffd_register_modes(&w->uffd, w->base, v->pages << EPT_PAGE_SHIFT, modes))
		w->reg_modes = modes;
}

void vmem_snap_end(struct vmem *v)
{
	uint64_t t0 = histo_now_ns();
	bool complete;

	pthread_mutex_lock(&v->lock);
	if (v->snap.state == VMEM_SNAP_IDLE) {
		pthread_mutex_unlock(&v->lock);
		return;
	}
	complete = v->snap.state == VMEM_SNAP_FROZEN && !v->snap.stats.pending;
	v->snap.state = VMEM_SNAP_IDLE;
	v->observer = NULL;
	snap_release(v);
	snap_drop_minor(v);
	v->snap.ending = true; /* no new snapshot until the view is unprotected */
	pthread_mutex_unlock(&v->lock);
	snap_protect_view(v, false);
	pthread_mutex_lock(&v->lock);
	v->snap.ending = false;
	v->snap.stats.unprotect_ns = histo_now_ns() - t0;
	v->snap.stats.snapshots += complete;
	pthread_mutex_unlock(&v->lock);
}

void vmem_snap_get_stats(struct vmem *v, struct vmem_snap_stats *out)
{
	pthread_mutex_lock(&v->lock);
	*out = v->snap.stats;
	out->state = v->snap.state;
	out->wp_via = v->view.can_wp
			  ? "userfaultfd-wp"
			  : "none: this kernel has no userfaultfd write-protect for shmem";
	pthread_mutex_unlock(&v->lock);
}
