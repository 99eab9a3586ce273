/* ept/fault.c: the second-level fault handler (the fault thread).
 *
 * Reads userfaultfd events for the view, classifies each fault by the
 * table entry the way the seed's handler does (never mapped: zero-fill;
 * shared and written: copy-on-write; swap or snapshot entry: load), fills
 * a window of neighbouring pages in one ioctl, and counts the fault.
 *
 * Fault-around adapts, as readahead does: a fault right after the last
 * window doubles the window (streaming), and a 2 MiB block that already
 * holds many resident pages gets a window of a quarter of them (dense).
 * Pages filled ahead are marked (EPT_SW_AHEAD) until the guest is seen
 * using them, and a block never holds more of those than of used pages:
 * whatever the pattern, frames stay within twice the pages touched.
 */
#include "vmem_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAULT_BATCH  16
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static unsigned fault_pow2_floor(unsigned x)
{
	return x ? 1u << (31 - __builtin_clz(x)) : 1;
}

void fault_mark_used(struct vmem *v, uint64_t idx)
{
	uint64_t gpa = vmem_idx_gpa(v, idx), e = ept_get(v->table, gpa);
	struct vmem_block *b = &v->block[idx >> VMEM_BLOCK_SHIFT];

	if (!(e & EPT_SW_AHEAD))
		return;
	ept_set(v->table, gpa, e & ~EPT_SW_AHEAD); /* the table page exists: cannot fail */
	b->ahead--;
	b->used++;
	v->stats.ahead_used++;
}

/* Pages of block bi filled ahead that the guest has touched since count
 * as used. Fills go to the store, not the view, so a view PTE is present
 * (pagemap bit 63) only once the guest touched the page through KVM. */
static void fault_refresh(struct vmem *v, uint64_t bi)
{
	bool present[1 << VMEM_BLOCK_SHIFT];
	uint64_t first = bi << VMEM_BLOCK_SHIFT;
	unsigned n = v->pages - first < ARRAY_LEN(present) ? v->pages - first : ARRAY_LEN(present);

	if (!v->block[bi].ahead || vmem_view_present(v, first, n, present))
		return;
	for (unsigned i = 0; i < n; i++)
		if (present[i])
			fault_mark_used(v, first + i);
}

/* How many pages a fault in block bi may fill ahead: no more than the
 * block's pages that were used, so that frames stay within twice what the
 * guest touches whatever its pattern. */
static unsigned fault_ahead_allowance(struct vmem *v, uint64_t bi, unsigned want)
{
	struct vmem_block *b = &v->block[bi];

	if (want > (unsigned)b->used + 1 - b->ahead || b->ahead > b->used) {
		fault_refresh(v, bi);
		if (b->ahead > b->used)
			return 0;
	}
	return want < (unsigned)b->used + 1 - b->ahead ? want : (unsigned)b->used + 1 - b->ahead;
}

/* The window [*lo, *hi) of view pages to fill for a fault at idx, and how
 * many of them may be filled ahead of use. */
static unsigned fault_window(struct vmem *v, uint64_t idx, uint64_t *lo, uint64_t *hi, bool *stream)
{
	uint64_t bi = idx >> VMEM_BLOCK_SHIFT;
	bool streaming = idx >= v->seq_next && idx < v->seq_next + v->seq_window;
	unsigned dense = fault_pow2_floor(v->block[bi].present / 4);
	unsigned w;

	if (streaming) /* the last window was read through: all of it was used */
		for (uint64_t i = v->seq_start; i < v->seq_next; i++)
			fault_mark_used(v, i);
	v->seq_window = streaming ? v->seq_window * 2 : 1;
	if (v->seq_window > v->max_window)
		v->seq_window = v->max_window;
	w = v->seq_window > dense ? v->seq_window : dense;
	if (w > v->max_window)
		w = fault_pow2_floor(v->max_window);
	if (streaming) {
		*lo = idx;
		*hi = idx + w;
	} else {
		*lo = idx & ~(uint64_t)(w - 1);
		*hi = *lo + w;
	}
	if (*hi > v->pages)
		*hi = v->pages;
	*stream = streaming;
	return streaming ? w - 1 : fault_ahead_allowance(v, bi, w - 1);
}

/* Record idx, then up to ahead absent pages after it and before it within
 * [*lo, *hi) while the budget allows; shrinks [*lo, *hi) to what was
 * recorded. */
static int fault_populate(struct vmem *v, uint64_t idx, unsigned ahead, uint64_t *lo, uint64_t *hi)
{
	uint64_t i;
	int ret = vmem_page_populated(v, idx, false);

	if (ret)
		return ret;
	for (i = idx + 1; i < *hi && ahead && !vmem_page_held(v, i); i++, ahead--)
		if (vmem_page_populated(v, i, true))
			break;
	*hi = i;
	for (i = idx; i > *lo && ahead && !vmem_page_held(v, i - 1); i--, ahead--)
		if (vmem_page_populated(v, i - 1, true))
			break;
	*lo = i;
	v->stats.ahead_filled += *hi - *lo - 1;
	return 0;
}

/* Map [lo, hi) into the view with UFFDIO_COPY from zeros, without waking
 * the vCPU. A page that exists already (-EEXIST) is skipped; -EAGAIN (the
 * mm is changing) is retried. A view broken out of a fork image is several
 * mappings, and 6.1 fills within one only (-ENOENT): then page by page. */
static int fault_copy(struct vmem *v, uint64_t lo, uint64_t hi)
{
	uint64_t addr = (uintptr_t)v->view + (lo << EPT_PAGE_SHIFT);
	uint64_t end = (uintptr_t)v->view + (hi << EPT_PAGE_SHIFT), done, step = 0;
	int ret, retries = 0;

	while (addr < end) {
		uint64_t len = step ? step : end - addr;

		ret = uffd_copy(&v->uffd, addr, v->zeros, len, true, &done);
		if (!ret && len == end - addr)
			return 0;
		if (!ret)
			addr += len;
		else if (ret == -EEXIST)
			addr += done + EPT_PAGE_SIZE;
		else if (ret == -EAGAIN && ++retries < 1000)
			addr += done;
		else if (ret == -ENOENT && v->image && !step)
			step = EPT_PAGE_SIZE;
		else
			return ret;
	}
	return 0;
}

/* Put zeroed pages [lo, hi) in the store without mapping them, at the
 * frames the table names: one fallocate per run of neighbouring frames. */
static int fault_store(struct vmem *v, uint64_t lo, uint64_t hi)
{
	while (lo < hi) {
		uint64_t first = ept_frame(ept_get(v->table, vmem_idx_gpa(v, lo))), n = 1;

		while (lo + n < hi &&
		       ept_frame(ept_get(v->table, vmem_idx_gpa(v, lo + n))) == first + n)
			n++;
		int ret;

		do /* shmem gives up an allocation on a signal: again */
			ret = fallocate(frame_db_fd(v->db), 0, first << EPT_PAGE_SHIFT,
					n << EPT_PAGE_SHIFT)
				  ? -errno
				  : 0;
		while (ret == -EINTR);
		if (ret)
			return ret;
		lo += n;
	}
	return 0;
}

/* A stream's window and the faulting page are mapped into the view at
 * once (UFFDIO_COPY: 1.2 us/page in 512-page windows here, a little under
 * the kernel's own anonymous fault; bench/fill_methods); pages filled ahead of a scattered fault go
 * to the store only, so the guest's touch maps each through the host's own minor fault and the view
 * PTE tells that the guest used it (fault_refresh). */
static int fault_fill(struct vmem *v, uint64_t idx, uint64_t lo, uint64_t hi, bool streaming)
{
	int ret;

	if (streaming)
		return fault_copy(v, lo, hi);
	ret = fault_store(v, lo, idx);
	if (!ret)
		ret = fault_store(v, idx + 1, hi);
	return ret ? ret : fault_copy(v, idx, idx + 1);
}

/* The VM cannot go on: tell the VMM, which kicks the vCPUs out of KVM_RUN,
 * then unregister the view so that a vCPU waiting on a fault here wakes
 * and its retry is served by the kernel. On 6.1 KVM waits for userfaultfd
 * uninterruptibly, so without this the kick never lands. The pages the
 * kernel fills then are outside the budget, for a VM that is being
 * stopped. */
void fault_stop_vm(struct vmem *v, const char *msg)
{
	if (v->fatal)
		return;
	v->fatal = true;
	if (v->on_fatal)
		v->on_fatal(v->arg, msg);
	if (v->image)
		vmem_fork_sever(v);
	else
		uffd_unregister(&v->uffd, v->view, v->pages << EPT_PAGE_SHIFT);
}

/* fmt takes the GPA (%lx) and then the error's text (%s). */
static void fault_fatal(struct vmem *v, const char *fmt, uint64_t gpa, int err)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, (unsigned long)gpa, strerror(-err));
	fault_stop_vm(v, msg);
}

static void fault_count(struct vmem *v, enum fault_class c, uint64_t pages, uint64_t t0)
{
	struct vmem_class_stats *cs = &v->stats.cls[c];

	t0 = histo_now_ns() - t0;
	cs->events++;
	cs->pages += pages;
	histo_add(&cs->ns, t0);
	histo_add(&cs->ns_per_page, t0 / pages);
}

/* The faulting vCPU wakes only after the clock is read: woken on this
 * CPU, it would otherwise run before us and its run would count as ours. */
static int fault_zero_fill(struct vmem *v, uint64_t idx, uint64_t gpa, uint64_t t0)
{
	uint64_t lo, hi;
	unsigned ahead;
	bool streaming;
	int ret;

	ahead = fault_window(v, idx, &lo, &hi, &streaming);
	ret = fault_populate(v, idx, ahead, &lo, &hi);
	if (ret == -ENOMEM)
		return ret; /* the caller reclaims and retries, or says why not */
	if (ret) {
		fault_fatal(v, "cannot record a frame for GPA %#lx: %s", gpa, ret);
		return 0;
	}
	v->seq_start = lo;
	v->seq_next = hi;
	v->spurious_idx = UINT64_MAX;
	for (uint64_t i = lo; i < hi; i++)
		vmem_snap_keep(v, i, v->zeros);
	ret = fault_fill(v, idx, lo, hi, streaming);
	if (ret) {
		fault_fatal(v, "cannot map GPA %#lx: %s", gpa, ret);
		return 0;
	}
	vmem_snap_mapped(v, lo, hi - lo);
	fault_count(v, FAULT_ZERO, hi - lo, t0);
	ret = uffd_wake(&v->uffd, (uintptr_t)v->view + (lo << EPT_PAGE_SHIFT),
			(hi - lo) << EPT_PAGE_SHIFT);
	if (ret)
		fault_fatal(v, "cannot wake the vCPU after filling GPA %#lx: %s", gpa, ret);
	return 0;
}

/* Read-ahead windows grow while faults stream forward (as fault-around's
 * do) and are 1 otherwise: *w is the window, max its cap. */
static unsigned fault_grow(unsigned *w, bool streaming, unsigned max)
{
	*w = streaming ? *w * 2 : 1;
	if (*w > max)
		*w = max;
	return *w;
}

/* How many pages from idx on, up to max, have entries of kind naming
 * first, first + 1, ...: the run that follows idx in the swap file or the
 * snapshot. At least 1 (idx itself). */
static unsigned fault_run(struct vmem *v, uint64_t idx, uint64_t kind, uint64_t first, unsigned max)
{
	unsigned n = 1;

	while (n < max && idx + n < v->pages) {
		uint64_t e = ept_get(v->table, vmem_idx_gpa(v, idx + n));

		if (!(e & kind) || ept_frame(e) != first + n)
			break;
		n++;
	}
	return n;
}

/* Swap-in read-ahead: the pages after idx whose entries name the slots
 * after slot. */
static unsigned fault_swap_window(struct vmem *v, uint64_t idx, uint32_t slot, uint32_t *slots)
{
	unsigned w = fault_grow(&v->swap_ra, idx == v->swap_ra_next, v->swap_ra_max);
	unsigned n = fault_run(v, idx, EPT_SW_SWAP, slot, w);

	for (unsigned i = 0; i < n; i++)
		slots[i] = slot + i;
	return n;
}

/* Read n slots into v->evict_buf; a window that fails is read again as
 * the faulting page alone, whose failure is the one that stops the VM. */
static int fault_swap_read(struct vmem *v, const uint32_t *slots, unsigned *n, char *why,
			   size_t len)
{
	void *pages[VMEM_EVICT_MAX];
	int ret;

	for (unsigned i = 0; i < *n; i++)
		pages[i] = v->evict_buf + i * EPT_PAGE_SIZE;
	ret = v->pager->swap_in(v->pager_arg, v, slots, pages, *n, why, len);
	if (ret && *n > 1) {
		*n = 1;
		ret = v->pager->swap_in(v->pager_arg, v, slots, pages, 1, why, len);
	}
	return ret;
}

/* Page idx read ahead of a swap-in or lazy load, its content in page: it
 * goes to the store only, so the guest's first touch maps it (without a
 * fault of ours, or as a MINOR one) and shows it used. On failure the
 * page keeps its entry (a swap slot or a source page). */
static bool fault_store_ahead(struct vmem *v, uint64_t idx, const void *page, uint64_t entry)
{
	uint64_t f;

	if (vmem_page_populated(v, idx, true))
		return false;
	f = ept_frame(ept_get(v->table, vmem_idx_gpa(v, idx)));
	if (pwrite(frame_db_fd(v->db), page, EPT_PAGE_SIZE, f << EPT_PAGE_SHIFT) != EPT_PAGE_SIZE) {
		vmem_page_unpopulated(v, idx, entry);
		return false;
	}
	return true;
}

static bool fault_swap_ahead(struct vmem *v, uint64_t idx, uint32_t slot, const void *page)
{
	if (!fault_store_ahead(v, idx, page, ept_entry(slot, EPT_SW_SWAP)))
		return false;
	frame_set_swap_slot(v->db, ept_frame(ept_get(v->table, vmem_idx_gpa(v, idx))), slot);
	v->stats.swapped_pages--;
	v->stats.swap_ahead++;
	return true;
}

/* A page that cannot be loaded stays in the source, for its own fault to
 * report. */
static bool fault_snap_ahead(struct vmem *v, uint64_t idx, uint64_t index)
{
	uint8_t *page = v->evict_buf + EPT_PAGE_SIZE; /* page 0 is the faulting one's */
	char why[200];

	if (v->source->load(v->source_arg, index, page, why, sizeof(why)) ||
	    !fault_store_ahead(v, idx, page, ept_entry(index, EPT_SW_SNAP)))
		return false;
	v->stats.source_pages--;
	v->stats.source_ahead++;
	return true;
}

/* The faulting page of a swap-in or lazy load, read into v->evict_buf:
 * saved first if a snapshot needs it, then given a frame. 0; -ENOMEM (the
 * caller reclaims and retries); 1 if the VM was stopped. */
static int fault_record_loaded(struct vmem *v, uint64_t idx, uint64_t gpa)
{
	int ret;

	vmem_snap_keep(v, idx, v->evict_buf);
	ret = vmem_page_populated(v, idx, false);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		fault_fatal(v, "cannot record a frame for GPA %#lx: %s", gpa, ret);
		return 1;
	}
	return 0;
}

/* Map the faulting page from v->evict_buf, which wakes the vCPU, and count
 * the fault with the got pages it brought in. */
static void fault_map_loaded(struct vmem *v, uint64_t idx, uint64_t gpa, enum fault_class c,
			     unsigned got, uint64_t t0)
{
	uint64_t addr = (uintptr_t)v->view + (idx << EPT_PAGE_SHIFT);
	int ret = uffd_copy(&v->uffd, addr, v->evict_buf, EPT_PAGE_SIZE, false, NULL);

	if (ret && ret != -EEXIST) {
		fault_fatal(v, "cannot map GPA %#lx after reading it in: %s", gpa, ret);
		return;
	}
	vmem_snap_mapped(v, idx, 1);
	fault_count(v, c, got, t0);
}

/* A major fault: the page comes back from its swap slot into a fresh
 * frame, which keeps the slot as its swap copy (a clean page is dropped
 * again without I/O), with the neighbours read ahead. Corrupt or
 * unreadable data stops the VM: the guest never sees it. */
static int fault_swap_in(struct vmem *v, uint64_t idx, uint64_t gpa, uint32_t slot, uint64_t t0)
{
	uint32_t slots[VMEM_EVICT_MAX];
	unsigned n = fault_swap_window(v, idx, slot, slots), got = 1;
	char why[200], msg[256];
	int ret = fault_swap_read(v, slots, &n, why, sizeof(why));

	if (ret) {
		snprintf(msg, sizeof(msg), "GPA %#lx: swap-in failed: %s", (unsigned long)gpa, why);
		fault_stop_vm(v, msg);
		return 0;
	}
	ret = fault_record_loaded(v, idx, gpa);
	if (ret)
		return ret < 0 ? ret : 0;
	v->stats.swapped_pages--;
	frame_set_swap_slot(v->db, ept_frame(ept_get(v->table, gpa)), slot);
	while (got < n &&
	       fault_swap_ahead(v, idx + got, slots[got], v->evict_buf + got * EPT_PAGE_SIZE))
		got++;
	v->swap_ra_next = idx + got;
	fault_map_loaded(v, idx, gpa, FAULT_SWAPIN, got, t0);
	return 0;
}

/* A lazily restored page's first touch: read it from the source (its hash
 * checked), give it a frame and map it, with the pages that follow it in
 * the snapshot read ahead while faults stream. Damage stops the VM, naming
 * the GPA: the guest never sees it. */
static int fault_snap_load(struct vmem *v, uint64_t idx, uint64_t gpa, uint64_t index, uint64_t t0)
{
	unsigned w = fault_grow(&v->snap_ra, idx == v->snap_ra_next, v->swap_ra_max);
	unsigned n = fault_run(v, idx, EPT_SW_SNAP, index, w), got = 1;
	char why[200], msg[300];
	int ret = v->source->load(v->source_arg, index, v->evict_buf, why, sizeof(why));

	if (ret) {
		snprintf(msg, sizeof(msg), "GPA %#lx: loading it from the snapshot failed: %s",
			 (unsigned long)gpa, why);
		fault_stop_vm(v, msg);
		return 0;
	}
	ret = fault_record_loaded(v, idx, gpa);
	if (ret)
		return ret < 0 ? ret : 0;
	v->stats.source_pages--;
	while (got < n && fault_snap_ahead(v, idx + got, index + got))
		got++;
	v->snap_ra_next = idx + got;
	fault_map_loaded(v, idx, gpa, FAULT_SNAPLOAD, got, t0);
	return 0;
}

/* The guest touched a page the store holds but the view no longer maps
 * (the reclaimer zapped it to see whether it is used): map it again. */
static void fault_minor(struct vmem *v, uint64_t addr, uint64_t idx, uint64_t gpa)
{
	int ret;

	vmem_snap_keep(v, idx, NULL); /* CONTINUE maps it writable */
	ret = uffd_continue(&v->uffd, addr & ~(EPT_PAGE_SIZE - 1), EPT_PAGE_SIZE, false, NULL);

	/* -EEXIST: mapped meanwhile. Refused without MINOR registered: a
	 * snapshot's MINOR fault queued before it ended; its retry is the
	 * kernel's own. */
	if (ret == -EEXIST ||
	    ((ret == -EINVAL || ret == -ENOENT) && !(v->reg_modes & UFFDIO_REGISTER_MODE_MINOR)))
		ret = uffd_wake(&v->uffd, addr & ~(EPT_PAGE_SIZE - 1), EPT_PAGE_SIZE);
	if (ret) {
		fault_fatal(v, "cannot map GPA %#lx again (UFFDIO_CONTINUE): %s", gpa, ret);
		return;
	}
	vmem_snap_mapped(v, idx, 1);
	fault_mark_used(v, idx);
	v->stats.minor++;
}

/* A MISSING fault on a page the table holds is legitimate once: the VMM
 * filled the page while the fault was queued, and the woken retry finds
 * it. The same page again, with no fault served in between, means the
 * store has lost what the table says is there: stop the VM rather than
 * wake the vCPU into the same fault forever. */
static void fault_present(struct vmem *v, uint64_t addr, uint64_t idx, uint64_t gpa)
{
	if (idx == v->spurious_idx) {
		fault_fatal(v,
			    "GPA %#lx: the second-level table holds a frame for it but the "
			    "frame store has no page there (%s): table and store disagree",
			    gpa, -EFAULT);
		return;
	}
	v->spurious_idx = idx;
	v->stats.spurious++;
	uffd_wake(&v->uffd, addr & ~(EPT_PAGE_SIZE - 1), EPT_PAGE_SIZE);
}

/* A read of a fork image's page: map it write-protected, so that reads
 * share it. On 6.1 CONTINUE has no write-protect mode: map, protect,
 * then wake (the vCPU sleeps in between, and no one else writes the
 * view). */
static void fault_image_read(struct vmem *v, uint64_t addr, uint64_t idx, uint64_t gpa)
{
	uint64_t a = addr & ~(EPT_PAGE_SIZE - 1);
	int ret = uffd_continue(&v->uffd, a, EPT_PAGE_SIZE, true, NULL);

	if (ret == -EEXIST)
		ret = 0;
	if (!ret)
		ret = uffd_writeprotect(&v->uffd, a, EPT_PAGE_SIZE, true, false);
	if (!ret)
		ret = uffd_wake(&v->uffd, a, EPT_PAGE_SIZE);
	if (ret) {
		fault_fatal(v, "cannot map GPA %#lx of the fork image read-only: %s", gpa, ret);
		return;
	}
	fault_mark_used(v, idx);
	v->stats.minor++;
}

/* A touch of a page the VM still has from its fork image: a read of a
 * frame shares it; a write, or a touch of the image's swap slot or
 * snapshot page, gives the VM its own copy (FAULT_COW, FAULT_SWAPIN,
 * FAULT_SNAPLOAD). -ENOMEM: no frame for the copy. */
static int fault_image(struct vmem *v, uint64_t addr, uint64_t idx, uint64_t e, uint64_t flags,
		       uint64_t t0)
{
	uint64_t gpa = vmem_idx_gpa(v, idx);
	bool write = flags & (UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP);
	enum fault_class c = ept_present(e)    ? FAULT_COW
			     : e & EPT_SW_SWAP ? FAULT_SWAPIN
					       : FAULT_SNAPLOAD;
	int ret;

	if (ept_present(e) && !write && !vmem_remapped(v, idx)) {
		fault_image_read(v, addr, idx, gpa);
		return 0;
	}
	if (vmem_image_read(v, idx))
		return 0;
	vmem_snap_keep(v, idx, v->page_buf);
	ret = vmem_fork_break(v, idx, e, v->page_buf, true);
	if (ret == -ENOMEM)
		return ret; /* as any other VM's: the budget's message */
	if (ret) {
		fault_fatal(v, "cannot copy GPA %#lx out of the fork image: %s", gpa, ret);
		return 0;
	}
	vmem_snap_mapped(v, idx, 1);
	fault_count(v, c, 1, t0);
	return 0;
}

/* Serve one fault by what the table says. -ENOMEM: no frame for it, and
 * the pager may free some. */
static int fault_serve(struct vmem *v, uint64_t addr, uint64_t flags, uint64_t t0)
{
	uint64_t idx = (addr - (uintptr_t)v->view) >> EPT_PAGE_SHIFT;
	uint64_t gpa = vmem_idx_gpa(v, idx), entry = ept_get(v->table, gpa);
	bool minor = flags & UFFD_PAGEFAULT_FLAG_MINOR;

	if (v->fatal)
		return 0; /* leave the faulting thread asleep: the VM is being stopped */
	if (vmem_image_owns(v, gpa, entry))
		return fault_image(v, addr, idx, entry, flags, t0);
	if (flags & UFFD_PAGEFAULT_FLAG_WP)
		vmem_snap_wp_fault(v, idx);
	else if (ept_present(entry) && minor)
		fault_minor(v, addr, idx, gpa);
	else if (ept_present(entry))
		fault_present(v, addr, idx, gpa);
	else if (entry & EPT_SW_SWAP)
		return fault_swap_in(v, idx, gpa, ept_frame(entry), t0);
	else if (entry & EPT_SW_SNAP)
		return fault_snap_load(v, idx, gpa, ept_frame(entry), t0);
	else
		return fault_zero_fill(v, idx, gpa, t0);
	return 0;
}

static void fault_handle(struct vmem *v, uint64_t addr, uint64_t flags, uint64_t t0)
{
	uint64_t idx = (addr - (uintptr_t)v->view) >> EPT_PAGE_SHIFT;
	int ret;

	if (addr < (uintptr_t)v->view || idx >= v->pages)
		return;
	pthread_mutex_lock(&v->lock);
	while ((ret = fault_serve(v, addr, flags, t0)) == -ENOMEM &&
	       vmem_reclaim_unlocked(v, vmem_idx_gpa(v, idx)))
		; /* frames were freed: serve it again */
	/* The pager stops v itself when it frees nothing; never leave the
	 * vCPU waiting if it did not. Without one, the budget is the limit. */
	if (ret == -ENOMEM && !v->fatal)
		fault_fatal(v,
			    v->pager ? "host memory budget and swap exhausted: no frame for GPA "
				       "%#lx (%s)"
				     : "host memory budget exhausted: no frame for GPA %#lx (%s); "
				       "raise --host-mem",
			    vmem_idx_gpa(v, idx), ret);
	pthread_mutex_unlock(&v->lock);
}

static void fault_pin(struct vmem *v)
{
	cpu_set_t set;

	if (v->handler_cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(v->handler_cpu, &set);
	sched_setaffinity(0, sizeof(set), &set); /* best effort: a hint, not a need */
}

/* The fault thread cannot serve faults any more: stop the VM saying why. */
static void fault_thread_failed(struct vmem *v, int err)
{
	char msg[256];

	snprintf(msg, sizeof(msg),
		 "second-level fault thread: reading userfaultfd failed (%s); the VM's faults "
		 "cannot be served",
		 strerror(-err));
	pthread_mutex_lock(&v->lock);
	fault_stop_vm(v, msg);
	pthread_mutex_unlock(&v->lock);
}

/* 1: faults to read, 0: the thread should stop, -errno: poll failed. */
static int fault_wait(struct vmem *v)
{
	struct pollfd p[2] = {{.fd = v->uffd.fd, .events = POLLIN},
			      {.fd = v->stop_fd, .events = POLLIN}};

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return !(p[1].revents & POLLIN);
}

void *fault_thread(void *arg)
{
	struct vmem *v = arg;
	struct uffd_msg msg[FAULT_BATCH];
	int ret;

	fault_pin(v);
	while ((ret = fault_wait(v)) > 0) {
		ssize_t n = read(v->uffd.fd, msg, sizeof(msg));
		uint64_t t0 = histo_now_ns();

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(msg[0]); i++)
			if (msg[i].event == UFFD_EVENT_PAGEFAULT)
				fault_handle(v, msg[i].arg.pagefault.address,
					     msg[i].arg.pagefault.flags, t0);
	}
	if (ret < 0)
		fault_thread_failed(v, ret);
	return NULL;
}
