/* ept/fault.c: the second-level fault handler (the fault thread), and
 * the start and end of a VM's memory (vmem_start, vmem_destroy).
 *
 * Reads userfaultfd events for the view, reads the table entry once per
 * fault (struct fault_ctx) and classifies the fault the way the seed's
 * handler does (never mapped: zero fill; a fork image's page written:
 * copy-on-write; swap or snapshot entry: load; zapped by the reclaimer:
 * minor; write-protected by a snapshot), and hands it to its class's
 * resolver, which installs the page (vmem_install, vmem.c) and counts the
 * fault. A zero fill fills a window of neighbouring pages at once.
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
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define FAULT_BATCH  16
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static unsigned fault_pow2_floor(unsigned x)
{
	return x ? 1u << (31 - __builtin_clz(x)) : 1;
}

/* Pages of block bi filled ahead that the guest has touched since count
 * as used. Fills go to the store, not the view, so a view PTE is present
 * (pagemap bit 63) only once the guest touched the page through KVM. */
static void fault_refresh(struct vmem *v, uint64_t bi)
{
	bool present[1 << VMEM_BLOCK_SHIFT];
	uint64_t first = bi << VMEM_BLOCK_SHIFT;
	unsigned n = v->pages - first < ARRAY_LEN(present) ? v->pages - first : ARRAY_LEN(present);

	if (!v->around.block[bi].ahead || vmem_view_present(v, first, n, present))
		return;
	for (unsigned i = 0; i < n; i++)
		if (present[i])
			vmem_mark_used(v, first + i);
}

/* How many pages a fault in block bi may fill ahead: no more than the
 * block's pages that were used, so that frames stay within twice what the
 * guest touches whatever its pattern. */
static unsigned fault_ahead_allowance(struct vmem *v, uint64_t bi, unsigned want)
{
	struct vmem_block *b = &v->around.block[bi];

	if (want > (unsigned)b->used + 1 - b->ahead || b->ahead > b->used) {
		fault_refresh(v, bi);
		if (b->ahead > b->used)
			return 0;
	}
	return want < (unsigned)b->used + 1 - b->ahead ? want : (unsigned)b->used + 1 - b->ahead;
}

/* The window [lo, hi) of view pages to fill for a fault at idx, and how
 * many of them may be filled ahead of use, into a zero fill's install. */
static void fault_window(struct vmem *v, uint64_t idx, struct vmem_install *in)
{
	struct vmem_faults *f = &v->fault;
	uint64_t bi = idx >> VMEM_BLOCK_SHIFT;
	bool streaming = idx >= f->seq_next && idx < f->seq_next + f->seq_window;
	unsigned dense = fault_pow2_floor(v->around.block[bi].present / 4);
	unsigned w;

	if (streaming) /* the last window was read through: all of it was used */
		for (uint64_t i = f->seq_start; i < f->seq_next; i++)
			vmem_mark_used(v, i);
	f->seq_window = streaming ? f->seq_window * 2 : 1;
	if (f->seq_window > f->max_window)
		f->seq_window = f->max_window;
	w = f->seq_window > dense ? f->seq_window : dense;
	if (w > f->max_window)
		w = fault_pow2_floor(f->max_window);
	in->lo = streaming ? idx : idx & ~(uint64_t)(w - 1);
	in->hi = in->lo + w < v->pages ? in->lo + w : v->pages;
	in->stream = streaming;
	in->ahead = streaming ? w - 1 : fault_ahead_allowance(v, bi, w - 1);
}

/* A fault's facts, computed once when it is read and passed down. */
struct fault_ctx {
	struct vmem_page page; /* idx, gpa, entry, the image's or not */
	uint64_t addr;	       /* the faulting address */
	uint64_t flags;	       /* UFFD_PAGEFAULT_FLAG_* */
	uint64_t t0;	       /* when the fault was read */
};

/* The fault thread cannot serve the guest: it stops, saying why. */
static void fault_fatal(struct vmem *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fault_fatal(struct vmem *v, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vmem_stop_guest(v, msg);
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

/* No frame for the fault: -ENOMEM goes up (the caller reclaims and
 * retries, or says why not); anything else stops the VM. */
static int fault_no_frame(struct vmem *v, const struct fault_ctx *f, int ret)
{
	if (ret == -ENOMEM)
		return ret;
	fault_fatal(v, "cannot record a frame for GPA %#lx: %s", (unsigned long)f->page.gpa,
		    strerror(-ret));
	return 0;
}

/* The faulting vCPU wakes only after the clock is read: woken on this
 * CPU, it would otherwise run before us and its run would count as ours. */
static int fault_zero_fill(struct vmem *v, const struct fault_ctx *f)
{
	struct vmem_install in = {.fill = VMEM_FILL_ZERO, .content = v->fault.zeros};
	int ret;

	fault_window(v, f->page.idx, &in);
	ret = vmem_install(v, &f->page, &in);
	if (ret && !vmem_page_present(v, f->page.idx)) /* no frame: nothing was done */
		return fault_no_frame(v, f, ret);
	v->fault.seq_start = in.lo;
	v->fault.seq_next = in.hi;
	v->fault.spurious_idx = UINT64_MAX;
	if (ret) {
		fault_fatal(v, "cannot map GPA %#lx: %s", (unsigned long)f->page.gpa,
			    strerror(-ret));
		return 0;
	}
	fault_count(v, FAULT_ZERO, in.hi - in.lo, f->t0);
	ret = uffd_wake(&v->view.uffd, vmem_view_addr(v, in.lo), (in.hi - in.lo) << EPT_PAGE_SHIFT);
	if (ret)
		fault_fatal(v, "cannot wake the vCPU after filling GPA %#lx: %s",
			    (unsigned long)f->page.gpa, strerror(-ret));
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

/* Read n slots into the evict buffer; a window that fails is read again
 * as the faulting page alone, whose failure is the one that stops the VM. */
static int fault_swap_read(struct vmem *v, const uint32_t *slots, unsigned *n, char *why,
			   size_t len)
{
	void *pages[VMEM_EVICT_MAX];
	int ret;

	for (unsigned i = 0; i < *n; i++)
		pages[i] = v->back.evict_buf + i * EPT_PAGE_SIZE;
	ret = v->back.pager->swap_in(v->back.pager_arg, v, slots, pages, *n, why, len);
	if (ret && *n > 1) {
		*n = 1;
		ret = v->back.pager->swap_in(v->back.pager_arg, v, slots, pages, 1, why, len);
	}
	return ret;
}

/* The faulting page of a swap-in or lazy load, read into the evict buffer:
 * recorded and mapped (without waking: its neighbours come first). 0;
 * -ENOMEM (the caller reclaims and retries); 1 if the VM was stopped. */
static int fault_install_loaded(struct vmem *v, const struct fault_ctx *f)
{
	struct vmem_install in = {
	    .fill = VMEM_FILL_COPY, .content = v->back.evict_buf, .record = true};
	int ret = vmem_install(v, &f->page, &in);

	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		fault_fatal(v, "cannot map GPA %#lx after reading it in: %s",
			    (unsigned long)f->page.gpa, strerror(-ret));
		return 1;
	}
	return 0;
}

/* Wake the faulting vCPU and count the fault with the got pages it brought. */
static void fault_loaded(struct vmem *v, const struct fault_ctx *f, enum fault_class c,
			 unsigned got)
{
	int ret = uffd_wake(&v->view.uffd, vmem_view_addr(v, f->page.idx), EPT_PAGE_SIZE);

	if (ret)
		fault_fatal(v, "cannot wake the vCPU after reading GPA %#lx in: %s",
			    (unsigned long)f->page.gpa, strerror(-ret));
	fault_count(v, c, got, f->t0);
}

/* A major fault: the page comes back from its swap slot into a fresh
 * frame, which keeps the slot as its swap copy (a clean page is dropped
 * again without I/O), with the neighbours read ahead into the store.
 * Corrupt or unreadable data stops the VM: the guest never sees it. */
static int fault_swap_in(struct vmem *v, const struct fault_ctx *f)
{
	struct vmem_backing *b = &v->back;
	uint32_t slot = ept_frame(f->page.entry), slots[VMEM_EVICT_MAX];
	unsigned w = fault_grow(&b->swap_ra, f->page.idx == b->swap_ra_next, b->swap_ra_max);
	unsigned n = fault_run(v, f->page.idx, EPT_SW_SWAP, slot, w), got = 1;
	char why[200], msg[256];
	int ret;

	for (unsigned i = 0; i < n; i++)
		slots[i] = slot + i;
	ret = fault_swap_read(v, slots, &n, why, sizeof(why));
	if (ret) {
		snprintf(msg, sizeof(msg), "GPA %#lx: swap-in failed: %s",
			 (unsigned long)f->page.gpa, why);
		vmem_stop_guest(v, msg);
		return 0;
	}
	ret = fault_install_loaded(v, f);
	if (ret)
		return ret < 0 ? ret : 0;
	while (got < n &&
	       vmem_install_ahead(v, f->page.idx + got, b->evict_buf + got * EPT_PAGE_SIZE)) {
		v->stats.swap_ahead++;
		got++;
	}
	b->swap_ra_next = f->page.idx + got;
	fault_loaded(v, f, FAULT_SWAPIN, got);
	return 0;
}

/* The pages after a lazily restored one's, read ahead with one read of
 * the source where it can (else page by page, stopping at the first that
 * fails: it stays in the source, for its own fault to report), installed
 * and mapped in bulk unless a working set is being recorded (then the
 * guest's touch must show). Returns how many. */
static unsigned fault_snap_ahead(struct vmem *v, uint64_t idx, uint64_t index, unsigned n)
{
	const struct vmem_source_ops *src = v->back.source;
	uint8_t *pages = v->back.evict_buf + EPT_PAGE_SIZE; /* page 0 is the faulting one's */
	uint64_t ix[VMEM_EVICT_MAX];
	unsigned got = 0;
	char why[200];
	int ret;

	if (src->load_run && !src->load_run(v->back.source_arg, index, n, pages, why, sizeof(why)))
		got = n;
	while (!src->load_run && got < n &&
	       !src->load(v->back.source_arg, index + got, pages + ((size_t)got << EPT_PAGE_SHIFT),
			  why, sizeof(why)))
		got++;
	for (unsigned i = 0; i < got; i++)
		ix[i] = index + i;
	ret =
	    got ? vmem_load_locked(v, idx, got, pages, ix, VMEM_LOAD_AHEAD, !v->load.cfg.record_ms)
		: 0;
	if (ret <= 0)
		return 0;
	v->stats.source_ahead += ret;
	return (unsigned)ret;
}

/* A lazily restored page's first touch: read it from the source (its hash
 * checked), give it a frame and map it, with the pages that follow it in
 * the snapshot read ahead while faults stream. Damage stops the VM, naming
 * the GPA: the guest never sees it. */
static int fault_snap_load(struct vmem *v, const struct fault_ctx *f)
{
	struct vmem_backing *b = &v->back;
	uint64_t index = ept_frame(f->page.entry);
	unsigned w = fault_grow(&b->snap_ra, f->page.idx == b->snap_ra_next, b->snap_ra_max);
	unsigned n = fault_run(v, f->page.idx, EPT_SW_SNAP, index, w), got = 1;
	char why[200], msg[300];
	int ret = b->source->load(b->source_arg, index, b->evict_buf, why, sizeof(why));

	if (ret) {
		snprintf(msg, sizeof(msg), "GPA %#lx: loading it from the snapshot failed: %s",
			 (unsigned long)f->page.gpa, why);
		vmem_stop_guest(v, msg);
		return 0;
	}
	ret = fault_install_loaded(v, f);
	if (ret)
		return ret < 0 ? ret : 0;
	if (n > 1)
		got += fault_snap_ahead(v, f->page.idx + 1, index + 1, n - 1);
	b->snap_ra_next = f->page.idx + got;
	fault_loaded(v, f, FAULT_SNAPLOAD, got);
	return 0;
}

/* The guest touched a page the store holds but the view no longer maps
 * (the reclaimer zapped it to see whether it is used): map it again. */
static void fault_minor(struct vmem *v, const struct fault_ctx *f)
{
	struct vmem_install in = {.fill = VMEM_FILL_CONTINUE, .wake = true};
	int ret = vmem_install(v, &f->page, &in);

	if (ret) {
		fault_fatal(v, "cannot map GPA %#lx again (UFFDIO_CONTINUE): %s",
			    (unsigned long)f->page.gpa, strerror(-ret));
		return;
	}
	vmem_mark_used(v, f->page.idx);
	v->stats.minor++;
}

/* A MISSING fault on a page the table holds is legitimate once: the VMM
 * filled the page while the fault was queued, and the woken retry finds
 * it. The same page again, with no fault served in between, means the
 * store has lost what the table says is there: stop the VM rather than
 * wake the vCPU into the same fault forever. */
static void fault_present(struct vmem *v, const struct fault_ctx *f)
{
	if (f->page.idx == v->fault.spurious_idx) {
		fault_fatal(v,
			    "GPA %#lx: the second-level table holds a frame for it but the "
			    "frame store has no page there (%s): table and store disagree",
			    (unsigned long)f->page.gpa, strerror(EFAULT));
		return;
	}
	v->fault.spurious_idx = f->page.idx;
	v->stats.spurious++;
	uffd_wake(&v->view.uffd, vmem_view_addr(v, f->page.idx), EPT_PAGE_SIZE);
}

/* A touch of a page the VM still has from its fork image: a read of a
 * frame shares it; a write, or a touch of the image's swap slot or
 * snapshot page, gives the VM its own copy (FAULT_COW, FAULT_SWAPIN,
 * FAULT_SNAPLOAD). -ENOMEM: no frame for the copy. */
static int fault_image(struct vmem *v, const struct fault_ctx *f)
{
	uint64_t e = f->page.entry;
	bool write = f->flags & (UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP);
	enum fault_class c = ept_present(e)    ? FAULT_COW
			     : e & EPT_SW_SWAP ? FAULT_SWAPIN
					       : FAULT_SNAPLOAD;
	struct vmem_install in = {.fill = VMEM_FILL_SHARE};
	int ret;

	if (ept_present(e) && !write && !vmem_view_maps_own(v, f->page.idx)) {
		ret = vmem_install(v, &f->page, &in);
		if (ret)
			fault_fatal(v, "cannot map GPA %#lx of the fork image read-only: %s",
				    (unsigned long)f->page.gpa, strerror(-ret));
		else
			vmem_mark_used(v, f->page.idx);
		v->stats.minor += !ret;
		return 0;
	}
	if (vmem_page_fetch(v, &f->page, "reading it from the fork image failed"))
		return 0;
	in = (struct vmem_install){
	    .fill = VMEM_FILL_BREAK, .content = v->back.page_buf, .record = true, .wake = true};
	ret = vmem_install(v, &f->page, &in);
	if (ret == -ENOMEM)
		return fault_no_frame(v, f, ret);
	if (ret) {
		fault_fatal(v, "cannot copy GPA %#lx out of the fork image: %s",
			    (unsigned long)f->page.gpa, strerror(-ret));
		return 0;
	}
	fault_count(v, c, 1, f->t0);
	return 0;
}

/* A write-protect fault outside a fork image: a snapshot's. */
static void fault_wp(struct vmem *v, const struct fault_ctx *f)
{
	int ret = vmem_snap_wp_fault(v, &f->page);

	if (ret)
		fault_fatal(v, "cannot make GPA %#lx writable again: %s",
			    (unsigned long)f->page.gpa, strerror(-ret));
}

/* Serve one fault by what the table says. -ENOMEM: no frame for it, and
 * the pager may free some. */
static int fault_serve(struct vmem *v, struct fault_ctx *f)
{
	uint64_t e;

	if (v->fatal)
		return 0; /* leave the faulting thread asleep: the VM is being stopped */
	vmem_page_at(v, (f->addr - (uintptr_t)v->view.base) >> EPT_PAGE_SHIFT, &f->page);
	e = f->page.entry;
	if (f->page.image)
		return fault_image(v, f);
	if (f->flags & UFFD_PAGEFAULT_FLAG_WP)
		fault_wp(v, f);
	else if (ept_present(e) && f->flags & UFFD_PAGEFAULT_FLAG_MINOR)
		fault_minor(v, f);
	else if (ept_present(e))
		fault_present(v, f);
	else if (e & EPT_SW_SWAP)
		return fault_swap_in(v, f);
	else if (e & EPT_SW_SNAP)
		return fault_snap_load(v, f);
	else
		return fault_zero_fill(v, f);
	return 0;
}

static void fault_handle(struct vmem *v, uint64_t addr, uint64_t flags, uint64_t t0)
{
	struct fault_ctx f = {.addr = addr, .flags = flags, .t0 = t0};
	uint64_t idx;
	int ret;

	/* Under the lock: a fork moves the view (vmem_view_renew). */
	pthread_mutex_lock(&v->lock);
	idx = (addr - (uintptr_t)v->view.base) >> EPT_PAGE_SHIFT;
	if (addr < (uintptr_t)v->view.base || idx >= v->pages) {
		pthread_mutex_unlock(&v->lock);
		return;
	}
	while ((ret = fault_serve(v, &f)) == -ENOMEM &&
	       vmem_reclaim_unlocked(v, vmem_idx_gpa(v, idx)))
		; /* frames were freed: serve it again */
	/* The pager stops v itself when it frees nothing; never leave the
	 * vCPU waiting if it did not. Without one, the budget is the limit. */
	if (ret == -ENOMEM && !v->fatal)
		fault_fatal(v, "host memory budget%s exhausted: no frame for GPA %#lx (%s)%s",
			    v->back.pager ? " and swap" : "", (unsigned long)vmem_idx_gpa(v, idx),
			    strerror(-ret), v->back.pager ? "" : "; raise --host-mem");
	pthread_mutex_unlock(&v->lock);
}

static void fault_pin(struct vmem *v)
{
	cpu_set_t set;

	if (v->fault.handler_cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(v->fault.handler_cpu, &set);
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
	vmem_stop_guest(v, msg);
	pthread_mutex_unlock(&v->lock);
}

/* 1: faults to read, 0: the thread should stop, -errno: poll failed. */
static int fault_wait(struct vmem *v)
{
	struct pollfd p[2] = {{.fd = v->view.uffd.fd, .events = POLLIN},
			      {.fd = v->fault.stop_fd, .events = POLLIN}};

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return !(p[1].revents & POLLIN);
}

static void *fault_thread(void *arg)
{
	struct vmem *v = arg;
	struct uffd_msg msg[FAULT_BATCH];
	int ret;

	fault_pin(v);
	while ((ret = fault_wait(v)) > 0) {
		ssize_t n = read(v->view.uffd.fd, msg, sizeof(msg));
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

/* ---- the VM's life: the fault thread starts and stops it ----------------- */

/* The fault thread leaves and its resources go; any state is fine. */
static void fault_stop_thread(struct vmem *v)
{
	struct vmem_faults *f = &v->fault;
	uint64_t one = 1;

	if (f->running && write(f->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(f->thread, NULL);
	f->running = false;
	if (f->stop_fd >= 0)
		close(f->stop_fd);
	if (f->zeros && f->zeros != MAP_FAILED)
		munmap(f->zeros, VMEM_MAX_WINDOW * EPT_PAGE_SIZE);
	f->stop_fd = -1;
	f->zeros = NULL;
}

int vmem_start(struct vmem *v)
{
	struct vmem_faults *f = &v->fault;
	int ret;

	f->seq_window = 1;
	f->spurious_idx = UINT64_MAX;
	f->zeros = mmap(NULL, VMEM_MAX_WINDOW * EPT_PAGE_SIZE, PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (f->zeros == MAP_FAILED || f->stop_fd < 0) {
		ret = f->zeros == MAP_FAILED ? -errno : -ENOMEM;
		goto fail;
	}
	ret = -pthread_create(&f->thread, NULL, fault_thread, v);
	if (!ret) {
		f->running = true;
		return 0;
	}
fail:
	fault_stop_thread(v);
	return ret;
}

void vmem_destroy(struct vmem *v)
{
	if (!v)
		return;
	vmem_loader_fini(v); /* it takes v's lock and installs pages */
	fault_stop_thread(v);
	vmem_snap_fini(v);
	vmem_wss_fini(v);
	vmem_free(v);
}
