/* ept/vmem_reclaim.c: what the reclaimer does to one VM (see vmem.h).
 *
 * The access bit is the view's PTE: a page the guest touched is mapped in
 * the view (KVM faults it in through the host's page tables), and zapping
 * the PTE (MADV_DONTNEED on shmem keeps the page) makes the next touch a
 * MINOR fault, which the fault thread answers with UFFDIO_CONTINUE. The
 * same zap, done under the VM's lock before a page is copied out, is what
 * makes eviction safe: a guest write after it waits for the lock.
 */
#include "vmem_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t vmem_resident(struct vmem *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->lock);
	n = v->stats.resident_pages;
	pthread_mutex_unlock(&v->lock);
	return n;
}

uint64_t vmem_allocated(struct vmem *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->lock);
	n = v->stats.resident_pages + v->stats.swapped_pages;
	pthread_mutex_unlock(&v->lock);
	return n;
}

static bool vmem_frame_evictable(struct vmem *v, uint64_t entry)
{
	return ept_present(entry) && !vmem_image_owns(v, 0, entry) &&
	       frame_get(v->db, ept_frame(entry))->state == FRAME_IN_USE;
}

static int vmem_wss_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void vmem_wss_seen(struct vmem *v, uint64_t idx)
{
	uint64_t *hit;

	if (!v->wss.n)
		return;
	hit = bsearch(&idx, v->wss.idx, v->wss.n, sizeof(idx), vmem_wss_cmp);
	if (hit)
		v->wss.touched[hit - v->wss.idx] = 1;
}

int vmem_scan(struct vmem *v, uint64_t first, unsigned n, uint8_t *state)
{
	bool present[VMEM_MAX_WINDOW];
	int ret;

	if (n > VMEM_MAX_WINDOW || first + n > v->pages)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	ret = vmem_view_present(v, first, n, present);
	for (unsigned i = 0; !ret && i < n; i++) {
		uint64_t e = ept_get(v->table, vmem_idx_gpa(v, first + i));

		if (!ept_present(e)) {
			state[i] = VMEM_PAGE_ABSENT;
		} else if (present[i]) {
			state[i] = VMEM_PAGE_TOUCHED;
			vmem_mark_used(v, first + i);
			vmem_wss_seen(v, first + i);
		} else {
			state[i] = vmem_frame_evictable(v, e) ? VMEM_PAGE_IDLE : VMEM_PAGE_PINNED;
		}
	}
	if (!ret)
		vmem_view_zap(v, first, n);
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* Copy the frames of pages idx[0..n) out of the store into v->back.evict_buf. */
static int vmem_evict_copy(struct vmem *v, const uint64_t *idx, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t f = ept_frame(ept_get(v->table, vmem_idx_gpa(v, idx[i])));

		if (pread(frame_db_fd(v->db), v->back.evict_buf + i * EPT_PAGE_SIZE, EPT_PAGE_SIZE,
			  f << EPT_PAGE_SHIFT) != (ssize_t)EPT_PAGE_SIZE)
			return -EIO;
	}
	return 0;
}

#define VMEM_SLOT_ZERO (FRAME_NO_SLOT - 1) /* vmem_evict_one: the page is all zeros */

/* Page idx's frame goes; its table entry names slot from now on, or, for
 * a page of zeros, is empty again: its next touch is a zero fill. */
static void vmem_evict_one(struct vmem *v, uint64_t idx, uint32_t slot)
{
	vmem_page_unpopulated(v, idx, slot == VMEM_SLOT_ZERO ? 0 : ept_entry(slot, EPT_SW_SWAP));
	v->stats.swapped_pages += slot != VMEM_SLOT_ZERO;
}

/* Keep the candidates still resident and evictable, zap their PTEs. */
static unsigned vmem_evict_candidates(struct vmem *v, const uint64_t *idx, unsigned n,
				      uint64_t *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		if (idx[i] >= v->pages ||
		    !vmem_frame_evictable(v, ept_get(v->table, vmem_idx_gpa(v, idx[i]))))
			continue;
		vmem_view_zap(v, idx[i], 1);
		out[k++] = idx[i];
	}
	return k;
}

static bool vmem_page_is_zero(const uint8_t *page)
{
	static const uint8_t zero[EPT_PAGE_SIZE];

	return !memcmp(page, zero, EPT_PAGE_SIZE);
}

/* Sort the copied pages: keep[i] is VMEM_SLOT_ZERO for a page of zeros
 * (dropped, not written: pages fault-around filled and the guest never
 * used, pages only read), the slot for a page whose swap copy is still
 * valid (clean), FRAME_NO_SLOT for one to write; those are compacted to the
 * front of evict_buf. Returns how many to write. */
static unsigned vmem_evict_sort(struct vmem *v, uint64_t *idx, unsigned n,
				const struct vmem_evict_sink *sink, uint32_t *keep)
{
	unsigned d = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t f = ept_frame(ept_get(v->table, vmem_idx_gpa(v, idx[i])));
		uint32_t slot = frame_swap_slot(v->db, f);
		uint8_t *page = v->back.evict_buf + i * EPT_PAGE_SIZE;

		keep[i] = FRAME_NO_SLOT;
		if (vmem_page_is_zero(page))
			keep[i] = VMEM_SLOT_ZERO;
		else if (slot != FRAME_NO_SLOT && sink->same(sink->arg, slot, page))
			keep[i] = slot;
		if (keep[i] != FRAME_NO_SLOT)
			continue;
		if (d != i)
			memcpy(v->back.evict_buf + d * EPT_PAGE_SIZE, page, EPT_PAGE_SIZE);
		d++;
	}
	return d;
}

/* Page i of a batch goes as vmem_evict_sort decided (keep), or with the
 * next written slot; false if it stays (swap was full). */
static bool vmem_evict_decided(struct vmem *v, uint64_t idx, uint32_t keep, const uint32_t *slots,
			       unsigned stored, unsigned *di, struct vmem_evict_result *res)
{
	uint64_t f = ept_frame(ept_get(v->table, vmem_idx_gpa(v, idx)));
	uint32_t cached = frame_swap_slot(v->db, f);

	if (keep == FRAME_NO_SLOT && *di >= stored)
		return false;
	if (keep == FRAME_NO_SLOT) {
		keep = slots[(*di)++];
		v->stats.swap_outs++;
		res->written++;
	} else if (keep == VMEM_SLOT_ZERO) {
		v->stats.zero_drops++;
	} else {
		v->stats.clean_drops++;
	}
	if (cached != FRAME_NO_SLOT && cached != keep)
		vmem_slot_put(v, cached); /* a stale copy */
	vmem_evict_one(v, idx, keep);
	res->evicted++;
	return true;
}

static int vmem_evict_locked(struct vmem *v, const uint64_t *want, unsigned n,
			     const struct vmem_evict_sink *sink, struct vmem_evict_result *res)
{
	uint64_t idx[VMEM_EVICT_MAX], gpa[VMEM_EVICT_MAX];
	uint32_t keep[VMEM_EVICT_MAX], slots[VMEM_EVICT_MAX];
	void *pages[VMEM_EVICT_MAX];
	unsigned k = vmem_evict_candidates(v, want, n, idx), d, di = 0;
	int ret = vmem_evict_copy(v, idx, k);

	if (ret)
		return ret;
	d = vmem_evict_sort(v, idx, k, sink, keep);
	for (unsigned i = 0, j = 0; i < k; i++)
		if (keep[i] == FRAME_NO_SLOT) {
			gpa[j] = vmem_idx_gpa(v, idx[i]);
			pages[j] = v->back.evict_buf + j * EPT_PAGE_SIZE;
			j++;
		}
	ret = d ? sink->store(sink->arg, v, gpa, pages, d, slots) : 0;
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < k; i++)
		vmem_evict_decided(v, idx[i], keep[i], slots, ret, &di, res);
	res->skipped = n - res->evicted;
	return 0;
}

int vmem_evict(struct vmem *v, const uint64_t *idx, unsigned n, const struct vmem_evict_sink *sink,
	       struct vmem_evict_result *res)
{
	int ret;

	memset(res, 0, sizeof(*res));
	if (n > VMEM_EVICT_MAX || !v->back.pager)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	ret = v->fatal ? -ESRCH : vmem_evict_locked(v, idx, n, sink, res);
	pthread_mutex_unlock(&v->lock);
	return ret;
}

uint64_t vmem_kill(struct vmem *v, const char *msg)
{
	uint64_t freed;

	pthread_mutex_lock(&v->lock);
	vmem_stop_guest(v, msg);
	freed = vmem_drop_all(v);
	pthread_mutex_unlock(&v->lock);
	return freed;
}

/* The sample's arrays, on first use. */
static int vmem_wss_alloc(struct vmem *v)
{
	if (!v->wss.idx)
		v->wss.idx = calloc(VMEM_WSS_MAX, sizeof(*v->wss.idx));
	if (!v->wss.touched)
		v->wss.touched = calloc(VMEM_WSS_MAX, 1);
	return v->wss.idx && v->wss.touched ? 0 : -ENOMEM;
}

void vmem_wss_fini(struct vmem *v)
{
	free(v->wss.idx);
	free(v->wss.touched);
	v->wss.idx = NULL;
	v->wss.touched = NULL;
}

int vmem_wss_arm(struct vmem *v, const uint64_t *idx, unsigned n)
{
	int ret;

	if (n > VMEM_WSS_MAX)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	ret = vmem_wss_alloc(v);
	if (ret) {
		pthread_mutex_unlock(&v->lock);
		return ret;
	}
	v->wss.n = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t e;

		if (idx[i] >= v->pages || (v->wss.n && idx[i] <= v->wss.idx[v->wss.n - 1]))
			continue;
		e = ept_get(v->table, vmem_idx_gpa(v, idx[i]));
		if (!e)
			continue; /* never touched: not part of the VM's memory yet */
		if (ept_present(e))
			vmem_view_zap(v, idx[i], 1);
		v->wss.touched[v->wss.n] = 0;
		v->wss.idx[v->wss.n++] = idx[i];
	}
	pthread_mutex_unlock(&v->lock);
	return 0;
}

void vmem_wss_collect(struct vmem *v, unsigned *sampled, unsigned *touched)
{
	bool present;

	pthread_mutex_lock(&v->lock);
	*sampled = v->wss.n;
	*touched = 0;
	for (unsigned i = 0; i < v->wss.n; i++) {
		if (!v->wss.touched[i] && !vmem_view_present(v, v->wss.idx[i], 1, &present) &&
		    present)
			v->wss.touched[i] = 1;
		*touched += v->wss.touched[i];
	}
	v->wss.n = 0;
	pthread_mutex_unlock(&v->lock);
}
