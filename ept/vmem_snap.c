/* ept/vmem_snap.c: live snapshots of a VM's memory, see vmem.h.
 *
 * Copy-before-write: the guest keeps its frames, and a page the snapshot
 * still needs is saved (to the sink) before anything changes it. What
 * could change a page is caught three ways:
 *   - a page the view maps is write-protected (userfaultfd WP), so a guest
 *     write is a WP fault;
 *   - a page the view does not map is a MISSING fault (zero fill, swap-in,
 *     lazy load) or, for one the store holds, a MINOR fault: the view is
 *     registered for MINOR faults from arming on;
 *   - the VMM's own writes and discards call vmem_snap_keep first.
 *
 * Protecting the whole view walks every host and KVM entry, which grows
 * with guest size, so it is done before the pause, while the guest runs:
 * a write meanwhile is let through and its page remembered (snap_dirty).
 * The pause then protects only those pages again, and clones the table
 * (O(1)): the clone says which pages the snapshot holds, the saved bitmap
 * which of them are saved.
 */
#include "vmem_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SNAP_CHUNK 512 /* pages protected or unprotected per lock hold */

static uint64_t snap_addr(const struct vmem *v, uint64_t idx)
{
	return (uintptr_t)v->view + (idx << EPT_PAGE_SHIFT);
}

/* Lifting a protection wakes a writer waiting there; setting one wakes
 * no one (the kernel refuses DONTWAKE with WP). */
static int snap_protect(struct vmem *v, uint64_t first, uint64_t n, bool wp)
{
	if (v->image)
		return vmem_fork_protect(v, first, n, wp);
	return uffd_writeprotect(&v->uffd, snap_addr(v, first), n << EPT_PAGE_SHIFT, wp, false);
}

/* The snapshot cannot be completed: say why once; from here on nothing
 * waits for it (vmem_snap_end lifts the protection). */
static void snap_fail(struct vmem *v, const char *what, const char *why)
{
	if (v->snap_state == VMEM_SNAP_FAILED)
		return;
	snprintf(v->snap_err, sizeof(v->snap_err), "%s: %s", what, why);
	v->snap_state = VMEM_SNAP_FAILED;
}

static bool snap_pending(const struct vmem *v, uint64_t idx)
{
	return !vmem_bit(v->snap_saved, idx) && ept_get(v->snap_table, vmem_idx_gpa(v, idx));
}

/* Save page idx, whose content is still the snapshot's: from content, or
 * read where the page is now (its frame, swap slot or source). */
static int snap_save_page(struct vmem *v, uint64_t idx, const void *content)
{
	char why[200], what[32];
	int ret = 0;

	if (!content) {
		ret = vmem_page_content(v, idx, v->snap_buf, why, sizeof(why));
		content = v->snap_buf;
	}
	if (!ret)
		ret = v->snap_sink.save(v->snap_sink.arg, vmem_idx_gpa(v, idx), content, why,
					sizeof(why));
	if (ret) {
		snprintf(what, sizeof(what), "GPA %#lx", (unsigned long)vmem_idx_gpa(v, idx));
		snap_fail(v, what, why);
		return ret;
	}
	vmem_bit_set(v->snap_saved, idx);
	v->snap.pending--;
	return 0;
}

void vmem_snap_keep(struct vmem *v, uint64_t idx, const void *content)
{
	if (v->snap_state != VMEM_SNAP_FROZEN || !snap_pending(v, idx))
		return;
	if (!snap_save_page(v, idx, content))
		v->snap.saved_by_fault++;
}

void vmem_snap_mapped(struct vmem *v, uint64_t first, uint64_t n)
{
	if (v->snap_state != VMEM_SNAP_ARMED)
		return;
	for (uint64_t i = first; i < first + n; i++)
		vmem_bit_set(v->snap_dirty, i);
}

/* Armed: let the write through and remember the page. Frozen: save the
 * page first. Otherwise a protection left over: lift it. */
void vmem_snap_wp_fault(struct vmem *v, uint64_t idx)
{
	v->snap.wp_faults++;
	vmem_snap_keep(v, idx, NULL);
	vmem_snap_mapped(v, idx, 1);
	snap_protect(v, idx, 1, false); /* wakes the writer */
}

static int snap_alloc(struct vmem *v)
{
	size_t words = (v->pages + 63) / 64;

	v->snap_dirty = calloc(words, sizeof(uint64_t));
	v->snap_saved = calloc(words, sizeof(uint64_t));
	return v->snap_dirty && v->snap_saved ? 0 : -ENOMEM;
}

static void snap_release(struct vmem *v)
{
	free(v->snap_dirty);
	free(v->snap_saved);
	ept_destroy(v->snap_table);
	v->snap_dirty = v->snap_saved = NULL;
	v->snap_table = NULL;
}

/* With v's lock: arming needs every first touch of a page the store holds
 * to be a fault, not the kernel's own minor fault. */
static int snap_begin(struct vmem *v, const struct vmem_snap_sink *sink)
{
	int ret;

	if (!v->can_wp)
		return -ENOTSUP;
	if (v->snap_state == VMEM_SNAP_ARMED || v->snap_state == VMEM_SNAP_FROZEN || v->snap_ending)
		return -EBUSY;
	if (v->fatal)
		return -ESRCH;
	snap_release(v);
	ret = snap_alloc(v);
	if (!ret && !(v->reg_modes & UFFDIO_REGISTER_MODE_MINOR)) {
		ret = uffd_register_modes(&v->uffd, v->view, v->pages << EPT_PAGE_SHIFT,
					  v->reg_modes | UFFDIO_REGISTER_MODE_MINOR);
		if (!ret)
			v->reg_modes |= UFFDIO_REGISTER_MODE_MINOR;
	}
	if (ret) {
		snap_release(v);
		return ret;
	}
	v->snap_sink = *sink;
	v->snap_err[0] = '\0';
	v->snap.arm_ns = v->snap.freeze_ns = v->snap.unprotect_ns = 0;
	v->snap.reprotected = v->snap.total = v->snap.pending = 0;
	v->snap.saved_by_writer = v->snap.saved_by_fault = v->snap.wp_faults = 0;
	v->snap_state = VMEM_SNAP_ARMED;
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
			ret = v->snap_state == VMEM_SNAP_ARMED ? snap_protect(v, first, n, true)
							       : -EINTR;
		else if (!v->fatal)
			snap_protect(v, first, n, false);
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
	v->snap.arm_ns = histo_now_ns() - t0;
	v->snap.armed_pages = ret ? 0 : v->pages;
	if (ret && v->snap_state == VMEM_SNAP_ARMED)
		snap_fail(v, "write-protecting the view", strerror(-ret));
	pthread_mutex_unlock(&v->lock);
	if (ret)
		vmem_snap_end(v);
	return ret;
}

/* Protect again each run of pages mapped writable since arming. */
static int snap_reprotect(struct vmem *v)
{
	uint64_t i = 0;
	int ret = 0;

	while (!ret && i < v->pages) {
		uint64_t n = 0;

		if (!v->snap_dirty[i / 64] && i % 64 == 0) {
			i += 64;
			continue;
		}
		while (i + n < v->pages && vmem_bit(v->snap_dirty, i + n))
			n++;
		if (n)
			ret = snap_protect(v, i, n, true);
		v->snap.reprotected += n;
		i += n ? n : 1;
	}
	return ret;
}

int vmem_snap_freeze(struct vmem *v)
{
	uint64_t t0 = histo_now_ns();
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->snap_state != VMEM_SNAP_ARMED || !v->snap_sink.save)
		ret = v->snap_state == VMEM_SNAP_FAILED ? -EIO : -EINVAL;
	if (!ret)
		ret = snap_reprotect(v);
	if (!ret && !(v->snap_table = ept_clone(v->table)))
		ret = -ENOMEM;
	if (ret) {
		snap_fail(v, "freezing memory", strerror(-ret));
	} else {
		v->snap.total = v->snap.pending = v->stats.resident_pages + v->stats.shared_pages +
						  v->stats.swapped_pages + v->stats.source_pages;
		v->snap_cursor = 0;
		v->snap_state = VMEM_SNAP_FROZEN;
	}
	v->snap.freeze_ns = histo_now_ns() - t0;
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
	if (idx >= 0 && !vmem_bit(b->v->snap_saved, idx))
		b->gpa[b->n++] = gpa;
	return b->n == b->max;
}

/* The next pages the snapshot still needs, from the cursor on: saved, then
 * their range unprotected (every page in it is saved or was not held). */
static int snap_save_batch(struct vmem *v, unsigned max)
{
	struct snap_batch b = {.v = v, .max = max < VMEM_EVICT_MAX ? max : VMEM_EVICT_MAX};
	int64_t first, last;
	int more = ept_for_each(v->snap_table, v->snap_cursor, UINT64_MAX, snap_collect, &b);

	for (unsigned i = 0; i < b.n; i++) {
		uint64_t idx = vmem_gpa_idx(v, b.gpa[i]);

		if (snap_save_page(v, idx, NULL))
			return -EIO;
		v->snap.saved_by_writer++;
	}
	if (b.n) {
		first = vmem_gpa_idx(v, b.gpa[0]);
		last = vmem_gpa_idx(v, b.gpa[b.n - 1]);
		snap_protect(v, first, last - first + 1, false);
		v->snap_cursor = b.gpa[b.n - 1] + EPT_PAGE_SIZE;
	}
	return more ? 1 : 0;
}

int vmem_snap_save(struct vmem *v, unsigned max, char *msg, size_t len)
{
	int ret;

	pthread_mutex_lock(&v->lock);
	if (v->fatal && v->snap_state == VMEM_SNAP_FROZEN)
		snap_fail(v, "saving memory", "the VM stopped before all of it was saved");
	if (v->snap_state == VMEM_SNAP_FROZEN)
		ret = snap_save_batch(v, max ? max : 1);
	else
		ret = v->snap_state == VMEM_SNAP_FAILED ? -EIO : -EINVAL;
	if (ret < 0)
		snprintf(msg, len, "%s",
			 v->snap_state == VMEM_SNAP_FAILED ? v->snap_err : "not frozen");
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* Without a pager, MINOR faults were for the snapshot only: the kernel
 * maps store pages itself again (a MINOR fault still queued finds the
 * view unregistered for it, and fault_minor just wakes it). */
static void snap_drop_minor(struct vmem *v)
{
	uint64_t modes = v->reg_modes & ~(uint64_t)UFFDIO_REGISTER_MODE_MINOR;

	if (v->pager || v->image || v->fatal || modes == v->reg_modes)
		return;
	if (!uffd_register_modes(&v->uffd, v->view, v->pages << EPT_PAGE_SHIFT, modes))
		v->reg_modes = modes;
}

void vmem_snap_end(struct vmem *v)
{
	uint64_t t0 = histo_now_ns();
	bool complete;

	pthread_mutex_lock(&v->lock);
	if (v->snap_state == VMEM_SNAP_IDLE) {
		pthread_mutex_unlock(&v->lock);
		return;
	}
	complete = v->snap_state == VMEM_SNAP_FROZEN && !v->snap.pending;
	v->snap_state = VMEM_SNAP_IDLE;
	snap_release(v);
	snap_drop_minor(v);
	v->snap_ending = true; /* no new snapshot until the view is unprotected */
	pthread_mutex_unlock(&v->lock);
	snap_protect_view(v, false);
	pthread_mutex_lock(&v->lock);
	v->snap_ending = false;
	v->snap.unprotect_ns = histo_now_ns() - t0;
	v->snap.snapshots += complete;
	pthread_mutex_unlock(&v->lock);
}

void vmem_snap_get_stats(struct vmem *v, struct vmem_snap_stats *out)
{
	pthread_mutex_lock(&v->lock);
	*out = v->snap;
	out->state = v->snap_state;
	out->wp_via = v->can_wp ? "userfaultfd-wp"
				: "none: this kernel has no userfaultfd write-protect for shmem";
	pthread_mutex_unlock(&v->lock);
}

/* Fork (vmem.h): the arming is a snapshot's with nothing to save to; the
 * freeze makes the image instead of starting to save. */
int vmem_fork_arm(struct vmem *v)
{
	static const struct vmem_snap_sink none = {0};
	bool forked;

	pthread_mutex_lock(&v->lock);
	forked = v->image != NULL;
	pthread_mutex_unlock(&v->lock);
	return forked ? -EALREADY : vmem_snap_arm(v, &none);
}

int vmem_fork_freeze(struct vmem *v)
{
	uint64_t t0 = histo_now_ns();
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->snap_state != VMEM_SNAP_ARMED || v->snap_sink.save)
		ret = v->snap_state == VMEM_SNAP_FAILED ? -EIO : -EINVAL;
	if (!ret)
		ret = snap_reprotect(v);
	if (!ret)
		ret = vmem_fork_make_image(v);
	if (ret) {
		snap_fail(v, "freezing memory for the fork", strerror(-ret));
	} else {
		/* The view stays protected: it maps the image now. */
		v->snap_state = VMEM_SNAP_IDLE;
		snap_release(v);
	}
	v->snap.freeze_ns = histo_now_ns() - t0;
	pthread_mutex_unlock(&v->lock);
	return ret;
}

struct vmem_image *vmem_fork_image(struct vmem *v)
{
	struct vmem_image *img;

	pthread_mutex_lock(&v->lock);
	img = v->image;
	pthread_mutex_unlock(&v->lock);
	return img;
}
