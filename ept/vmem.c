/* ept/vmem.c: the core of a VM's guest memory (vmem.h, vmem_priv.h).
 *
 * The table says what each page holds: a frame (resident), a swap slot,
 * a page of a lazy restore's source, a fork image's page, or nothing.
 * Every change to a page goes through vmem_install, which tells the
 * observer (a live snapshot) first, records the frame, fills the page and
 * says what it mapped. A page's content is read from wherever the table
 * says it is by vmem_page_content.
 */
#include "vmem_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const fault_class_names[FAULT_NR_CLASSES] = {
    [FAULT_ZERO] = "zero_fill",		[FAULT_COW] = "cow",	     [FAULT_SWAPIN] = "swap_in",
    [FAULT_SNAPLOAD] = "snapshot_load", [FAULT_INVALID] = "invalid",
};

const char *fault_class_name(enum fault_class c)
{
	return c < FAULT_NR_CLASSES ? fault_class_names[c] : "?";
}

void vmem_page_at(const struct vmem *v, uint64_t idx, struct vmem_page *p)
{
	p->idx = idx;
	p->gpa = vmem_idx_gpa(v, idx);
	p->entry = ept_get(v->table, p->gpa);
	p->image = vmem_image_owns(v, p->gpa, p->entry);
}

bool vmem_page_present(const struct vmem *v, uint64_t idx)
{
	return ept_present(ept_get(v->table, vmem_idx_gpa(v, idx)));
}

bool vmem_page_held(const struct vmem *v, uint64_t idx)
{
	return ept_get(v->table, vmem_idx_gpa(v, idx)) != 0;
}

/* ---- frames and counts ------------------------------------------------- */

/* Where a page gets a frame of its own: the page of its region at the
 * same index, so that its view maps it without a mapping of its own. */
static uint64_t vmem_own_frame(const struct vmem *v, uint64_t idx)
{
	return v->base_frame + idx;
}

/* Page idx now holds frame data of its own (charges the budget); ahead:
 * filled by fault-around, not asked for. Its old entry is overwritten:
 * vmem_forget_old settles its counts once the fill has worked. */
static int vmem_populate(struct vmem *v, uint64_t idx, bool ahead)
{
	uint64_t gpa = vmem_idx_gpa(v, idx), frame = vmem_own_frame(v, idx);
	struct vmem_block *b = &v->around.block[idx >> VMEM_BLOCK_SHIFT];
	int ret;

	ret = frame_map_new(v->db, frame, v->vm_id, gpa);
	if (ret)
		return ret;
	/* A frame of its own must be what the view maps there. */
	ret = vmem_view_map_own(v, idx, 1);
	if (!ret)
		ret = ept_set(v->table, gpa,
			      ept_entry(frame, EPT_RWX | EPT_MT_WB | (ahead ? EPT_SW_AHEAD : 0)));
	if (ret) {
		frame_unmap(v->db, frame, v->vm_id, gpa);
		return ret;
	}
	b->present++;
	if (ahead)
		b->ahead++;
	else
		b->used++;
	v->stats.resident_pages++;
	return 0;
}

void vmem_block_forget(struct vmem *v, uint64_t idx, uint64_t e)
{
	struct vmem_block *b = &v->around.block[idx >> VMEM_BLOCK_SHIFT];

	b->present--;
	if (e & EPT_SW_AHEAD)
		b->ahead--;
	else
		b->used--;
}

/* What p's entry held no longer counts for the VM: an image's page (the
 * image keeps it), a swap slot, a source page. */
static void vmem_uncount(struct vmem *v, const struct vmem_page *p)
{
	uint64_t e = p->entry;

	if (p->image && ept_present(e)) {
		vmem_block_forget(v, p->idx, e);
		v->stats.shared_pages--;
	} else if (e & EPT_SW_SWAP) {
		v->stats.swapped_pages--;
	} else if (e & EPT_SW_SNAP) {
		v->stats.source_pages--;
	}
}

/* p got a frame of its own: what it held before no longer counts, and a
 * swap slot of its own stays as the frame's clean copy. */
static void vmem_forget_old(struct vmem *v, const struct vmem_page *p)
{
	vmem_uncount(v, p);
	if (p->image)
		v->stats.cow_pages++;
	else if (p->entry & EPT_SW_SWAP)
		frame_set_swap_slot(v->db, vmem_own_frame(v, p->idx), ept_frame(p->entry));
}

void vmem_page_unpopulated(struct vmem *v, uint64_t idx, uint64_t entry)
{
	uint64_t gpa = vmem_idx_gpa(v, idx), e = ept_get(v->table, gpa);

	frame_set_swap_slot(v->db, ept_frame(e), FRAME_NO_SLOT);
	frame_unmap(v->db, ept_frame(e), v->vm_id, gpa);
	if (entry)
		ept_set(v->table, gpa, entry); /* the table page exists */
	else
		ept_clear(v->table, gpa);
	vmem_block_forget(v, idx, e);
	v->stats.resident_pages--;
}

void vmem_slot_put(struct vmem *v, uint32_t slot)
{
	if (v->back.pager && slot != FRAME_NO_SLOT)
		v->back.pager->swap_put(v->back.pager_arg, slot);
}

/* A page of the image goes from the VM: the image keeps it, and the view
 * must stop showing it (it reads zeros now). */
static void vmem_drop_image_page(struct vmem *v, const struct vmem_page *p)
{
	char msg[200];
	int ret;

	vmem_uncount(v, p);
	ept_clear(v->table, p->gpa);
	if (v->fatal)
		return;
	ret = vmem_view_map_own(v, p->idx, 1);
	if (ret) {
		snprintf(msg, sizeof(msg),
			 "GPA %#lx: cannot map a page of its own over the fork image: %s",
			 (unsigned long)p->gpa, strerror(-ret));
		vmem_stop_guest(v, msg);
	}
}

/* The page's frame goes back to the store (its hole punched), or its swap
 * slot to the pager: it reads zeros from now on. */
static void vmem_page_drop(struct vmem *v, const struct vmem_page *p)
{
	uint64_t e = p->entry;

	if (p->image) {
		vmem_drop_image_page(v, p);
	} else if (ept_present(e)) {
		vmem_slot_put(v, frame_swap_slot(v->db, ept_frame(e)));
		vmem_page_unpopulated(v, p->idx, 0);
	} else if (e & (EPT_SW_SWAP | EPT_SW_SNAP)) {
		if (e & EPT_SW_SWAP)
			vmem_slot_put(v, ept_frame(e));
		ept_clear(v->table, p->gpa);
		vmem_uncount(v, p);
	}
}

uint64_t vmem_drop_all(struct vmem *v)
{
	uint64_t freed = v->stats.resident_pages;
	struct vmem_page p;

	for (uint64_t i = 0; i < v->pages; i++) {
		vmem_page_at(v, i, &p);
		vmem_page_drop(v, &p);
	}
	return freed - v->stats.resident_pages;
}

void vmem_mark_used(struct vmem *v, uint64_t idx)
{
	uint64_t gpa = vmem_idx_gpa(v, idx), e = ept_get(v->table, gpa);
	struct vmem_block *b = &v->around.block[idx >> VMEM_BLOCK_SHIFT];

	if (!(e & EPT_SW_AHEAD))
		return;
	ept_set(v->table, gpa, e & ~EPT_SW_AHEAD); /* the table page exists: cannot fail */
	b->ahead--;
	b->used++;
	v->stats.ahead_used++;
}

/* ---- the installer ------------------------------------------------------- */

static void vmem_observe_before(struct vmem *v, uint64_t idx, const void *content)
{
	if (v->observer)
		v->observer->before(v, idx, content);
}

static void vmem_observe_mapped(struct vmem *v, uint64_t first, uint64_t n)
{
	if (v->observer)
		v->observer->mapped(v, first, n);
}

int vmem_pio(ssize_t (*io)(int, void *, size_t, off_t), int fd, void *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = io(fd, buf, len, off);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (uint8_t *)buf + n;
		len -= n;
		off += n;
	}
	return 0;
}

ssize_t vmem_pwrite(int fd, void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

/* Write 4 KiB of content into page idx's own frame. */
static int vmem_store(struct vmem *v, uint64_t idx, const void *content)
{
	return vmem_pio(vmem_pwrite, frame_db_fd(v->db), (void *)content, EPT_PAGE_SIZE,
			(off_t)vmem_own_frame(v, idx) << EPT_PAGE_SHIFT);
}

/* Map [lo, hi) into the view with UFFDIO_COPY from zeros, without waking
 * the vCPU. A page that exists already (-EEXIST) is skipped; -EAGAIN (the
 * mm is changing) is retried. A view broken out of a fork image is several
 * mappings, and 6.1 fills within one only (-ENOENT): then page by page. */
static int vmem_copy_zeros(struct vmem *v, const void *zeros, uint64_t lo, uint64_t hi)
{
	uint64_t addr = vmem_view_addr(v, lo), end = vmem_view_addr(v, hi), done, step = 0;
	int ret, retries = 0;

	while (addr < end) {
		uint64_t len = step ? step : end - addr;

		ret = uffd_copy(&v->view.uffd, addr, zeros, len, true, &done);
		if (!ret && len == end - addr)
			return 0;
		if (!ret)
			addr += len;
		else if (ret == -EEXIST)
			addr += done + EPT_PAGE_SIZE;
		else if (ret == -EAGAIN && ++retries < 1000)
			addr += done;
		else if (ret == -ENOENT && v->view.image && !step)
			step = EPT_PAGE_SIZE;
		else
			return ret;
	}
	return 0;
}

/* Put zeroed pages [lo, hi) in the store without mapping them: one
 * fallocate per run of neighbouring frames. */
static int vmem_store_zeros(struct vmem *v, uint64_t lo, uint64_t hi)
{
	while (lo < hi) {
		uint64_t first = ept_frame(ept_get(v->table, vmem_idx_gpa(v, lo))), n = 1;
		int ret;

		while (lo + n < hi &&
		       ept_frame(ept_get(v->table, vmem_idx_gpa(v, lo + n))) == first + n)
			n++;
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

/* Record page idx, then up to in->ahead empty pages after it and before it
 * within [in->lo, in->hi) while the budget allows; shrinks the window to
 * what was recorded. */
static int vmem_record_window(struct vmem *v, uint64_t idx, struct vmem_install *in)
{
	unsigned ahead = in->ahead;
	uint64_t i;
	int ret = vmem_populate(v, idx, false);

	if (ret)
		return ret;
	for (i = idx + 1; i < in->hi && ahead && !vmem_page_held(v, i); i++, ahead--)
		if (vmem_populate(v, i, true))
			break;
	in->hi = i;
	for (i = idx; i > in->lo && ahead && !vmem_page_held(v, i - 1); i--, ahead--)
		if (vmem_populate(v, i - 1, true))
			break;
	in->lo = i;
	v->stats.ahead_filled += in->hi - in->lo - 1;
	return 0;
}

/* A stream's window and the faulting page are mapped into the view at
 * once (UFFDIO_COPY: 1.2 us/page in 512-page windows, a little under the
 * kernel's own anonymous fault; bench/fill_methods); pages filled ahead of
 * a scattered fault go to the store only, so the guest's touch maps each
 * through the host's own minor fault and the view PTE tells that the
 * guest used it (fault.c). Nothing is woken. */
static int vmem_install_zero(struct vmem *v, const struct vmem_page *p, struct vmem_install *in)
{
	int ret = vmem_record_window(v, p->idx, in);

	if (ret)
		return ret;
	for (uint64_t i = in->lo; i < in->hi; i++)
		vmem_observe_before(v, i, in->content);
	if (in->stream) {
		ret = vmem_copy_zeros(v, in->content, in->lo, in->hi);
	} else {
		ret = vmem_store_zeros(v, in->lo, p->idx);
		if (!ret)
			ret = vmem_store_zeros(v, p->idx + 1, in->hi);
		if (!ret)
			ret = vmem_copy_zeros(v, in->content, p->idx, p->idx + 1);
	}
	if (!ret)
		vmem_observe_mapped(v, in->lo, in->hi - in->lo);
	return ret;
}

/* UFFDIO_CONTINUE of a page the store holds. -EEXIST: mapped meanwhile.
 * Refused without MINOR registered: a snapshot's MINOR fault queued
 * before it ended; its retry is the kernel's own. Either way, wake. */
static int vmem_continue(struct vmem *v, uint64_t idx, bool wake)
{
	uint64_t addr = vmem_view_addr(v, idx);
	int ret = uffd_continue(&v->view.uffd, addr, EPT_PAGE_SIZE, !wake, NULL);

	if (ret == -EEXIST || ((ret == -EINVAL || ret == -ENOENT) &&
			       !(v->view.reg_modes & UFFDIO_REGISTER_MODE_MINOR)))
		ret = wake ? uffd_wake(&v->view.uffd, addr, EPT_PAGE_SIZE) : 0;
	return ret;
}

/* A read of a fork image's page: map it write-protected, so that reads
 * share it. One CONTINUE with MODE_WP where the kernel has it (6.4+: the
 * first refusal says it has not, and is remembered); on 6.1 map, protect,
 * then wake (the vCPU sleeps in between, and no one else writes the view). */
static int vmem_share(struct vmem *v, uint64_t idx)
{
	uint64_t addr = vmem_view_addr(v, idx);
	int ret;

	if (v->view.continue_wp >= 0) {
		ret = uffd_continue_wp(&v->view.uffd, addr, EPT_PAGE_SIZE, NULL);
		if (ret != -EINVAL || v->view.continue_wp > 0)
			v->view.continue_wp = 1;
		else
			v->view.continue_wp = -1;
		if (ret != -EEXIST && v->view.continue_wp > 0)
			return ret;
	}
	/* Mapped meanwhile (-EEXIST) is protected here too. */
	ret = uffd_continue(&v->view.uffd, addr, EPT_PAGE_SIZE, true, NULL);

	if (ret == -EEXIST)
		ret = 0;
	if (!ret)
		ret = uffd_writeprotect(&v->view.uffd, addr, EPT_PAGE_SIZE, true, false);
	return ret ? ret : uffd_wake(&v->view.uffd, addr, EPT_PAGE_SIZE);
}

/* UFFDIO_COPY of content into the view; a page mapped meanwhile is left
 * as it is, and its thread woken. */
static int vmem_copy(struct vmem *v, uint64_t idx, const void *content, bool wake)
{
	uint64_t addr = vmem_view_addr(v, idx);
	int ret = uffd_copy(&v->view.uffd, addr, content, EPT_PAGE_SIZE, !wake, NULL);

	if (ret == -EEXIST)
		ret = wake ? uffd_wake(&v->view.uffd, addr, EPT_PAGE_SIZE) : 0;
	return ret;
}

static int vmem_fill(struct vmem *v, const struct vmem_page *p, const struct vmem_install *in)
{
	switch (in->fill) {
	case VMEM_FILL_COPY:
		return vmem_copy(v, p->idx, in->content, in->wake);
	case VMEM_FILL_BREAK: /* in the store already (vmem_install) */
		return vmem_continue(v, p->idx, in->wake);
	case VMEM_FILL_STORE:
		return vmem_store(v, p->idx, in->content);
	case VMEM_FILL_CONTINUE:
		return vmem_continue(v, p->idx, in->wake);
	case VMEM_FILL_UNPROTECT:
		return vmem_view_protect(v, p->idx, 1, false);
	case VMEM_FILL_SHARE:
		return vmem_share(v, p->idx);
	default:
		return 0;
	}
}

int vmem_install(struct vmem *v, const struct vmem_page *p, struct vmem_install *in)
{
	int ret;

	if (in->fill == VMEM_FILL_ZERO)
		return vmem_install_zero(v, p, in);
	if (in->fill == VMEM_FILL_SHARE) /* read-only: no change to see */
		return vmem_fill(v, p, in);
	vmem_observe_before(v, p->idx, in->content);
	if (in->fill == VMEM_FILL_EMPTY) {
		vmem_page_drop(v, p);
		return 0;
	}
	/* A page broken out of a fork image goes into the store before the
	 * view maps its own frame there: between that MAP_FIXED and its
	 * registration (vmem_view_map_own) a touch of the page is no
	 * userfault, and the kernel maps what the store holds (a Linux
	 * guest's KVM touches its pages from more places than the vCPU's
	 * fault: kvm-clock, steal time). A COPY then found the page mapped,
	 * with zeros. */
	if (in->fill == VMEM_FILL_BREAK && (ret = vmem_store(v, p->idx, in->content)))
		return ret;
	if (in->record && (ret = vmem_populate(v, p->idx, false))) {
		if (in->fill == VMEM_FILL_BREAK) /* no frame keeps data it was not given */
			frame_store_zero(v->db, vmem_own_frame(v, p->idx));
		return ret;
	}
	ret = vmem_fill(v, p, in);
	if (ret && in->record)
		vmem_page_unpopulated(v, p->idx, p->entry);
	if (ret)
		return ret;
	if (in->record)
		vmem_forget_old(v, p);
	if (in->fill == VMEM_FILL_COPY || in->fill == VMEM_FILL_BREAK ||
	    in->fill == VMEM_FILL_CONTINUE || in->fill == VMEM_FILL_UNPROTECT)
		vmem_observe_mapped(v, p->idx, 1);
	return 0;
}

bool vmem_install_ahead(struct vmem *v, uint64_t idx, const void *content)
{
	struct vmem_page p;

	vmem_page_at(v, idx, &p);
	if (vmem_populate(v, idx, true))
		return false;
	if (vmem_store(v, idx, content)) {
		vmem_page_unpopulated(v, idx, p.entry);
		return false;
	}
	vmem_forget_old(v, &p);
	return true;
}

/* ---- bulk loads (a restore's) --------------------------------------------- */

/* Whether a bulk load may fill p: nothing there, or index of the source. */
static bool vmem_loadable(const struct vmem_page *p, uint64_t index, bool any_index)
{
	if (p->image)
		return false;
	if (!p->entry)
		return true;
	return (p->entry & EPT_SW_SNAP) && (any_index || ept_frame(p->entry) == index);
}

/* Map view pages [first, first + n), which the store holds, with v's
 * lock held, never waiting on a userfault (the fault thread needs the
 * lock, or is the caller): UFFDIO_CONTINUE where MINOR faults are
 * registered (a lazy restore's view always has them), an ioctl; else,
 * before the fault thread runs (an eager restore), MADV_POPULATE_WRITE,
 * which then cannot meet one: the pages are in the store and nothing has
 * write-protected the view. Otherwise false: the guest's touch maps them. */
static bool vmem_map_stored(struct vmem *v, uint64_t first, uint64_t n)
{
	uint64_t addr = vmem_view_addr(v, first), len = n << EPT_PAGE_SHIFT;
	int ret;

	if (v->view.reg_modes & UFFDIO_REGISTER_MODE_MINOR) {
		ret = uffd_continue(&v->view.uffd, addr, len, false, NULL);
		return !ret || ret == -EEXIST;
	}
	if (v->fault.running || v->view.image)
		return false;
#ifdef MADV_POPULATE_WRITE
	return madvise((void *)addr, len, MADV_POPULATE_WRITE) == 0;
#else
	return false;
#endif
}

/* Frames for the pages of [idx, idx + n) that p says are loadable, as far
 * as the budget goes: *got pages from idx, their old entries in old[]. */
static int vmem_load_record(struct vmem *v, uint64_t idx, unsigned n, bool ahead, uint64_t *old,
			    unsigned *got)
{
	int ret = 0;

	for (*got = 0; *got < n; (*got)++) {
		old[*got] = ept_get(v->table, vmem_idx_gpa(v, idx + *got));
		ret = vmem_populate(v, idx + *got, ahead);
		if (ret)
			break;
	}
	return *got ? 0 : ret;
}

/* Pages [idx, idx + n), all loadable: recorded, stored with one write,
 * mapped if asked. Returns pages installed (from idx) or -errno. */
static int vmem_load_span(struct vmem *v, uint64_t idx, unsigned n, const uint8_t *content,
			  enum vmem_load_kind kind, bool map)
{
	uint64_t old[VMEM_MAX_WINDOW];
	struct vmem_page p;
	unsigned got;
	int ret;

	for (unsigned i = 0; i < n; i++)
		vmem_observe_before(v, idx + i, content + ((size_t)i << EPT_PAGE_SHIFT));
	ret = vmem_load_record(v, idx, n, !map, old, &got);
	if (!ret)
		ret = vmem_pio(vmem_pwrite, frame_db_fd(v->db), (void *)content,
			       (size_t)got << EPT_PAGE_SHIFT,
			       (off_t)vmem_own_frame(v, idx) << EPT_PAGE_SHIFT);
	if (ret) {
		while (got--)
			vmem_page_unpopulated(v, idx + got, old[got]);
		return ret;
	}
	for (unsigned i = 0; i < got; i++) {
		p = (struct vmem_page){
		    .idx = idx + i, .gpa = vmem_idx_gpa(v, idx + i), .entry = old[i]};
		vmem_forget_old(v, &p);
	}
	v->stats.loaded[kind] += got;
	if (map && vmem_map_stored(v, idx, got)) {
		v->stats.load_mapped += got;
		vmem_observe_mapped(v, idx, got);
	}
	return (int)got;
}

int vmem_load_locked(struct vmem *v, uint64_t idx, unsigned n, const void *content,
		     const uint64_t *index, enum vmem_load_kind kind, bool map)
{
	unsigned i = 0, done = 0, run;
	struct vmem_page p;
	int ret = 0;

	while (i < n && !v->fatal) {
		for (run = 0; i + run < n; run++) {
			vmem_page_at(v, idx + i + run, &p);
			if (!vmem_loadable(&p, index ? index[i + run] : 0, !index))
				break;
		}
		if (!run) {
			i++;
			continue;
		}
		ret = vmem_load_span(v, idx + i, run,
				     (const uint8_t *)content + ((size_t)i << EPT_PAGE_SHIFT), kind,
				     map);
		/* What must be loaded may make room; a guess may not. */
		if (ret == -ENOMEM && (kind == VMEM_LOAD_EAGER || kind == VMEM_LOAD_PREFETCH) &&
		    vmem_reclaim_unlocked(v, vmem_idx_gpa(v, idx + i)))
			ret = 0;
		if (ret < 0)
			break;
		done += ret;
		i += ret;
		ret = 0;
	}
	return ret ? ret : (int)done;
}

int vmem_load_run(struct vmem *v, uint64_t gpa, unsigned n, const void *content,
		  const uint64_t *index, enum vmem_load_kind kind, bool map)
{
	int64_t idx = vmem_gpa_idx(v, gpa);
	int ret;

	if (n > VMEM_MAX_WINDOW || kind >= VMEM_LOAD_NR)
		return -EINVAL;
	if (idx < 0 ||
	    (n && vmem_gpa_idx(v, gpa + ((uint64_t)(n - 1) << EPT_PAGE_SHIFT)) != idx + n - 1))
		return -EFAULT;
	pthread_mutex_lock(&v->lock);
	ret = vmem_load_locked(v, (uint64_t)idx, n, content, index, kind, map);
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* ---- content, wherever it is -------------------------------------------- */

int vmem_page_content(struct vmem *v, const struct vmem_page *p, void *buf, char *why, size_t len)
{
	const struct vmem_image *img = v->view.image;
	const struct vmem_pager_ops *pager = p->image ? img->pager : v->back.pager;
	void *pager_arg = p->image ? img->pager_arg : v->back.pager_arg;
	uint32_t slot = ept_frame(p->entry);
	int ret;

	if (ept_present(p->entry)) {
		ret = vmem_pio(pread, frame_db_fd(v->db), buf, EPT_PAGE_SIZE,
			       (off_t)ept_frame(p->entry) << EPT_PAGE_SHIFT);
		if (ret)
			snprintf(why, len, "reading frame %lu of the store: %s",
				 (unsigned long)ept_frame(p->entry), strerror(-ret));
		return ret;
	}
	if (p->entry & EPT_SW_SWAP)
		return pager->swap_in(pager_arg, v, &slot, &buf, 1, why, len);
	if (p->entry & EPT_SW_SNAP && p->image)
		return img->source->load(img->source_arg, slot, buf, why, len);
	if (p->entry & EPT_SW_SNAP)
		return v->back.source->load(v->back.source_arg, slot, buf, why, len);
	memset(buf, 0, EPT_PAGE_SIZE);
	return 0;
}

int vmem_page_fetch(struct vmem *v, const struct vmem_page *p, const char *what)
{
	char why[200], msg[300];
	int ret = vmem_page_content(v, p, v->back.page_buf, why, sizeof(why));

	if (ret) {
		snprintf(msg, sizeof(msg), "GPA %#lx: %s: %s", (unsigned long)p->gpa, what, why);
		vmem_stop_guest(v, msg);
	}
	return ret;
}

/* ---- stopping, reclaim ---------------------------------------------------- */

void vmem_stop_guest(struct vmem *v, const char *msg)
{
	if (v->fatal)
		return;
	v->fatal = true;
	if (v->on_fatal)
		v->on_fatal(v->arg, msg);
	vmem_view_release(v);
}

bool vmem_reclaim_unlocked(struct vmem *v, uint64_t gpa)
{
	uint64_t freed;

	if (!v->back.pager)
		return false;
	pthread_mutex_unlock(&v->lock);
	freed = v->back.pager->reclaim(v->back.pager_arg, v, gpa, VMEM_EVICT_MAX);
	pthread_mutex_lock(&v->lock);
	if (freed)
		v->stats.direct_reclaims++;
	return freed > 0;
}

/* ---- creation ------------------------------------------------------------ */

static int vmem_check_config(const struct vmem_config *cfg)
{
	if (!cfg->db || cfg->nr_ranges < 1 || cfg->nr_ranges > VMEM_MAX_RANGES ||
	    cfg->max_window < 1 || cfg->max_window > VMEM_MAX_WINDOW ||
	    cfg->swap_readahead > VMEM_EVICT_MAX)
		return -EINVAL;
	for (int i = 0; i < cfg->nr_ranges; i++)
		if ((cfg->ranges[i].gpa | cfg->ranges[i].size) % EPT_PAGE_SIZE ||
		    !cfg->ranges[i].size)
			return -EINVAL;
	return 0;
}

static int vmem_backing_init(struct vmem *v, const struct vmem_config *cfg)
{
	struct vmem_backing *b = &v->back;

	b->pager = cfg->pager;
	b->pager_arg = cfg->pager_arg;
	b->source = cfg->source;
	b->source_arg = cfg->source_arg;
	b->swap_ra = b->snap_ra = 1;
	/* An image's slots could be taken for read-ahead's own: none then. */
	b->swap_ra_max = cfg->swap_readahead && !cfg->image ? cfg->swap_readahead : 1;
	/* A snapshot's neighbours come in one read: four times swap's window. */
	b->snap_ra_max = b->swap_ra_max == 1		       ? 1 /* none asked for */
			 : b->swap_ra_max * 4 < VMEM_EVICT_MAX ? b->swap_ra_max * 4
							       : VMEM_EVICT_MAX;
	b->swap_ra_next = b->snap_ra_next = UINT64_MAX;
	b->page_buf = aligned_alloc(EPT_PAGE_SIZE, EPT_PAGE_SIZE);
	if (!b->page_buf)
		return -ENOMEM;
	if (!b->pager && !b->source)
		return 0;
	b->evict_buf = aligned_alloc(EPT_PAGE_SIZE, VMEM_EVICT_MAX * EPT_PAGE_SIZE);
	return b->evict_buf ? 0 : -ENOMEM;
}

static void vmem_backing_fini(struct vmem *v)
{
	free(v->back.evict_buf);
	free(v->back.page_buf);
}

/* A child starts with its image's pages: counts and fault-around's view
 * of them. */
static int vmem_start_from_image(struct vmem *v, struct vmem_image *img)
{
	int ret = vmem_image_attach(v, img);

	if (ret)
		return ret;
	memcpy(v->around.block, img->block, v->around.nr_blocks * sizeof(*v->around.block));
	v->stats.shared_pages = img->resident;
	v->stats.swapped_pages = img->swapped;
	v->stats.source_pages = img->sourced;
	return 0;
}

static int vmem_setup(struct vmem *v, const struct vmem_config *cfg)
{
	int ret;

	for (int i = 0; i < cfg->nr_ranges; i++) {
		v->range[i] = cfg->ranges[i];
		v->range_first[i] = v->pages;
		v->pages += cfg->ranges[i].size >> EPT_PAGE_SHIFT;
	}
	v->around.nr_blocks = (v->pages >> VMEM_BLOCK_SHIFT) + 1;
	v->around.block = calloc(v->around.nr_blocks, sizeof(*v->around.block));
	v->table = cfg->image ? ept_clone(cfg->image->table) : ept_create();
	if (!v->around.block || !v->table)
		return -ENOMEM;
	ret = vmem_backing_init(v, cfg);
	if (!ret)
		ret = frame_region_alloc(v->db, v->pages, &v->base_frame);
	if (!ret && cfg->image)
		ret = vmem_start_from_image(v, cfg->image);
	if (ret)
		return ret;
	return vmem_view_open(v, cfg->image ? cfg->image->base : v->base_frame, cfg->image);
}

int vmem_create(struct vmem **out, const struct vmem_config *cfg)
{
	struct vmem *v;
	int ret = vmem_check_config(cfg);

	if (ret)
		return ret;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->db = cfg->db;
	v->vm_id = cfg->vm_id;
	v->nr_ranges = cfg->nr_ranges;
	v->on_fatal = cfg->on_fatal;
	v->arg = cfg->arg;
	v->fault.handler_cpu = cfg->handler_cpu;
	v->fault.max_window = cfg->max_window;
	v->fault.stop_fd = -1;
	v->view.uffd.fd = -1;
	v->view.pagemap_fd = -1;
	v->base_frame = FRAME_NONE;
	pthread_mutex_init(&v->lock, NULL);
	ret = vmem_setup(v, cfg);
	if (ret) {
		vmem_free(v);
		return ret;
	}
	*out = v;
	return 0;
}

static int vmem_unmap_entry(uint64_t gpa, uint64_t entry, void *arg)
{
	struct vmem *v = arg;

	if (vmem_image_owns(v, gpa, entry))
		return 0; /* the image's, put with it */
	if (entry & EPT_SW_SWAP)
		vmem_slot_put(v, ept_frame(entry));
	if (!ept_present(entry))
		return 0;
	vmem_slot_put(v, frame_swap_slot(v->db, ept_frame(entry)));
	frame_unmap_deferred(v->db, ept_frame(entry), v->vm_id, gpa);
	return 0;
}

void vmem_free(struct vmem *v)
{
	if (!v)
		return;
	/* Only this VM's references go: a frame the image holds lives on
	 * until the image goes. */
	if (v->base_frame != FRAME_NONE) {
		if (v->table)
			ept_for_each(v->table, 0, UINT64_MAX, vmem_unmap_entry, v);
		frame_region_release(v->db, v->base_frame, v->pages);
	}
	vmem_view_close(v);
	ept_destroy(v->table);
	free(v->around.block);
	vmem_backing_fini(v);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/* ---- accessors ----------------------------------------------------------- */

uint16_t vmem_id(const struct vmem *v)
{
	return v->vm_id;
}

void *vmem_view(const struct vmem *v, int i)
{
	return v->view.base + (v->range_first[i] << EPT_PAGE_SHIFT);
}

uint64_t vmem_pages(const struct vmem *v)
{
	return v->pages;
}

void vmem_get_stats(struct vmem *v, struct vmem_stats *out)
{
	pthread_mutex_lock(&v->lock);
	*out = v->stats;
	out->table_bytes = ept_bytes(v->table);
	out->policy_bytes = v->around.nr_blocks * sizeof(*v->around.block);
	out->uffd_via = v->view.uffd.via;
	out->share_via = vmem_view_share_via(v);
	pthread_mutex_unlock(&v->lock);
}

void vmem_count_invalid(struct vmem *v)
{
	pthread_mutex_lock(&v->lock);
	v->stats.cls[FAULT_INVALID].events++;
	pthread_mutex_unlock(&v->lock);
}
