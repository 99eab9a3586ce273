/* ept/vmem.c: a VM's guest memory managed by the VMM, see vmem.h. */
#include "vmem_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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

int64_t vmem_gpa_idx(const struct vmem *v, uint64_t gpa)
{
	for (int i = 0; i < v->nr_ranges; i++)
		if (gpa >= v->range[i].gpa && gpa - v->range[i].gpa < v->range[i].size)
			return v->range_first[i] + ((gpa - v->range[i].gpa) >> EPT_PAGE_SHIFT);
	return -1;
}

bool vmem_page_present(const struct vmem *v, uint64_t idx)
{
	return ept_present(ept_get(v->table, vmem_idx_gpa(v, idx)));
}

bool vmem_page_held(const struct vmem *v, uint64_t idx)
{
	return ept_get(v->table, vmem_idx_gpa(v, idx)) != 0;
}

/* Where a page the VM has never had gets its frame: the page of its own
 * region at the same index, so that its view maps it without a mapping of
 * its own. The one place that places a fresh page; everything else reads
 * the frame from the table. */
uint64_t vmem_fresh_frame(const struct vmem *v, uint64_t idx)
{
	return v->base_frame + idx;
}

int vmem_page_populated(struct vmem *v, uint64_t idx, bool ahead)
{
	uint64_t gpa = vmem_idx_gpa(v, idx), frame = vmem_fresh_frame(v, idx);
	struct vmem_block *b = &v->block[idx >> VMEM_BLOCK_SHIFT];
	int ret;

	ret = frame_map_new(v->db, frame, v->vm_id, gpa);
	if (ret)
		return ret;
	/* A frame of its own must be what the view maps there. */
	ret = vmem_remapped(v, idx) ? 0 : vmem_fork_privatise(v, idx, 1);
	if (ret) {
		frame_unmap(v->db, frame, v->vm_id, gpa);
		return ret;
	}
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

void vmem_slot_put(struct vmem *v, uint32_t slot)
{
	if (v->pager && slot != FRAME_NO_SLOT)
		v->pager->swap_put(v->pager_arg, slot);
}

/* The page's frame goes back to the store (its hole punched), or its swap
 * slot to the pager. */
void vmem_page_drop(struct vmem *v, uint64_t idx)
{
	uint64_t gpa = vmem_idx_gpa(v, idx);
	uint64_t e = ept_get(v->table, gpa);

	if (vmem_fork_drop(v, idx))
		return;
	if (e & (EPT_SW_SWAP | EPT_SW_SNAP)) {
		if (e & EPT_SW_SWAP)
			vmem_slot_put(v, ept_frame(e));
		ept_clear(v->table, gpa);
		if (e & EPT_SW_SWAP)
			v->stats.swapped_pages--;
		else
			v->stats.source_pages--;
		return;
	}
	if (!ept_present(e))
		return;
	vmem_slot_put(v, frame_swap_slot(v->db, ept_frame(e)));
	vmem_page_unpopulated(v, idx, 0);
}

void vmem_block_forget(struct vmem *v, uint64_t idx, uint64_t e)
{
	struct vmem_block *b = &v->block[idx >> VMEM_BLOCK_SHIFT];

	b->present--;
	if (e & EPT_SW_AHEAD)
		b->ahead--;
	else
		b->used--;
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

int vmem_view_present(const struct vmem *v, uint64_t first, unsigned n, bool *present)
{
	uint64_t pm[VMEM_MAX_WINDOW];
	off_t off = (((uintptr_t)v->view >> EPT_PAGE_SHIFT) + first) * sizeof(pm[0]);

	if (n > VMEM_MAX_WINDOW || first + n > v->pages)
		return -EINVAL;
	if (v->pagemap_fd < 0)
		return -ENOTSUP;
	if (pread(v->pagemap_fd, pm, n * sizeof(pm[0]), off) != (ssize_t)(n * sizeof(pm[0])))
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		present[i] = pm[i] >> 63;
	return 0;
}

void vmem_view_zap(struct vmem *v, uint64_t first, uint64_t n)
{
	/* Shmem keeps the pages: only the mappings (and KVM's entries, through
	 * its MMU notifier) go. */
	madvise(v->view + (first << EPT_PAGE_SHIFT), n << EPT_PAGE_SHIFT, MADV_DONTNEED);
}

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

/* The view maps the VM's region, or a fork child's image. */
static int vmem_map_view(struct vmem *v, uint64_t first_frame)
{
	v->view =
	    mmap(NULL, v->pages << EPT_PAGE_SHIFT, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_NORESERVE, frame_db_fd(v->db), first_frame << EPT_PAGE_SHIFT);
	if (v->view == MAP_FAILED) {
		v->view = NULL;
		return -errno;
	}
	return 0;
}

/* With a pager, MINOR faults too: the reclaimer's access bit (vmem_scan).
 * Write-protect too where shmem has it: snapshots need it (vmem_snap.c),
 * and MINOR is asked for as a feature so that a snapshot can add it. A
 * fork child needs both from the start: its view maps the image. */
static int vmem_open_uffd(struct vmem *v, bool child)
{
	int64_t features = uffd_probe_features();
	bool minor = v->pager || child;
	uint64_t want = UFFD_FEATURE_MISSING_SHMEM | (minor ? UFFD_FEATURE_MINOR_SHMEM : 0) |
			(child ? UFFD_FEATURE_WP_HUGETLBFS_SHMEM : 0);
	uint64_t extra = UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	int ret;

	if (features < 0)
		return (int)features;
	if ((features & want) != want)
		return -ENOTSUP;
	ret = uffd_open(&v->uffd, want | (features & extra));
	if (ret)
		return ret;
	v->reg_modes = UFFDIO_REGISTER_MODE_MISSING | (minor ? UFFDIO_REGISTER_MODE_MINOR : 0);
	if ((v->uffd.features & extra) == extra)
		v->reg_modes |= UFFDIO_REGISTER_MODE_WP;
	ret = uffd_register_modes(&v->uffd, v->view, v->pages << EPT_PAGE_SHIFT, v->reg_modes);
	if (ret)
		return ret;
	/* CONTINUE is in the range's ioctls only once MINOR is registered. */
	v->can_wp =
	    (v->reg_modes & UFFDIO_REGISTER_MODE_WP) && uffd_can(&v->uffd, _UFFDIO_WRITEPROTECT);
	if ((minor && !uffd_can(&v->uffd, _UFFDIO_CONTINUE)) || (child && !v->can_wp))
		return -ENOTSUP;
	return uffd_can(&v->uffd, _UFFDIO_COPY) ? 0 : -ENOTSUP;
}

static int vmem_alloc_reclaim(struct vmem *v)
{
	v->wss_idx = calloc(VMEM_WSS_MAX, sizeof(*v->wss_idx));
	v->wss_touched = calloc(VMEM_WSS_MAX, 1);
	if (!v->wss_idx || !v->wss_touched)
		return -ENOMEM;
	v->page_buf = aligned_alloc(EPT_PAGE_SIZE, EPT_PAGE_SIZE);
	v->snap_buf = aligned_alloc(EPT_PAGE_SIZE, EPT_PAGE_SIZE);
	if (!v->page_buf || !v->snap_buf)
		return -ENOMEM;
	if (!v->pager && !v->source)
		return 0;
	v->evict_buf = aligned_alloc(EPT_PAGE_SIZE, VMEM_EVICT_MAX * EPT_PAGE_SIZE);
	return v->evict_buf ? 0 : -ENOMEM;
}

static int vmem_setup(struct vmem *v, const struct vmem_config *cfg)
{
	int ret;

	for (int i = 0; i < cfg->nr_ranges; i++) {
		v->range[i] = cfg->ranges[i];
		v->range_first[i] = v->pages;
		v->pages += cfg->ranges[i].size >> EPT_PAGE_SHIFT;
	}
	v->nr_blocks = (v->pages >> VMEM_BLOCK_SHIFT) + 1;
	v->block = calloc(v->nr_blocks, sizeof(*v->block));
	v->zeros = mmap(NULL, VMEM_MAX_WINDOW * EPT_PAGE_SIZE, PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	v->table = cfg->image ? ept_clone(cfg->image->table) : ept_create();
	v->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (!v->block || v->zeros == MAP_FAILED || !v->table || v->stop_fd < 0 ||
	    vmem_alloc_reclaim(v))
		return -ENOMEM;
	/* Without it fault-around cannot see what the guest used: it then
	 * fills no more ahead than was asked for (see fault.c). */
	v->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ret = frame_region_alloc(v->db, v->pages, &v->base_frame);
	if (ret)
		return ret;
	if (cfg->image && (ret = vmem_fork_child_init(v, cfg->image)))
		return ret;
	ret = vmem_map_view(v, cfg->image ? cfg->image->base : v->base_frame);
	if (ret)
		return ret;
	return vmem_open_uffd(v, cfg->image);
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
	v->handler_cpu = cfg->handler_cpu;
	v->max_window = cfg->max_window;
	v->on_fatal = cfg->on_fatal;
	v->arg = cfg->arg;
	v->pager = cfg->pager;
	v->pager_arg = cfg->pager_arg;
	v->source = cfg->source;
	v->source_arg = cfg->source_arg;
	v->swap_ra = 1;
	v->swap_ra_max = cfg->swap_readahead ? cfg->swap_readahead : 1;
	v->swap_ra_next = UINT64_MAX;
	v->snap_ra = 1;
	v->snap_ra_next = UINT64_MAX;
	v->seq_window = 1;
	v->spurious_idx = UINT64_MAX;
	v->uffd.fd = -1;
	v->stop_fd = -1;
	v->pagemap_fd = -1;
	v->base_frame = FRAME_NONE;
	v->zeros = MAP_FAILED;
	pthread_mutex_init(&v->lock, NULL);
	ret = vmem_setup(v, cfg);
	if (ret) {
		vmem_destroy(v);
		return ret;
	}
	*out = v;
	return 0;
}

int vmem_start(struct vmem *v)
{
	int ret = pthread_create(&v->thread, NULL, fault_thread, v);

	if (ret)
		return -ret;
	v->running = true;
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
	frame_unmap(v->db, ept_frame(entry), v->vm_id, gpa);
	return 0;
}

/* Only this VM's references go: a frame it shares with another VM, or
 * that a snapshot holds, lives on until its last reference goes. */
static void vmem_drop_own_refs(struct vmem *v)
{
	if (v->table)
		ept_for_each(v->table, 0, UINT64_MAX, vmem_unmap_entry, v);
}

void vmem_destroy(struct vmem *v)
{
	if (!v)
		return;
	if (v->running) {
		uint64_t one = 1;

		if (write(v->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(v->thread, NULL);
	}
	uffd_close(&v->uffd);
	if (v->view)
		munmap(v->view, v->pages << EPT_PAGE_SHIFT);
	if (v->base_frame != FRAME_NONE) {
		vmem_drop_own_refs(v);
		frame_region_release(v->db, v->base_frame, v->pages);
	}
	vmem_image_put(v->image);
	free(v->remapped);
	if (v->stop_fd >= 0)
		close(v->stop_fd);
	if (v->pagemap_fd >= 0)
		close(v->pagemap_fd);
	if (v->zeros != MAP_FAILED)
		munmap(v->zeros, VMEM_MAX_WINDOW * EPT_PAGE_SIZE);
	ept_destroy(v->table);
	free(v->block);
	free(v->evict_buf);
	free(v->page_buf);
	free(v->snap_buf);
	free(v->snap_dirty);
	free(v->snap_saved);
	ept_destroy(v->snap_table);
	free(v->wss_idx);
	free(v->wss_touched);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

uint16_t vmem_id(const struct vmem *v)
{
	return v->vm_id;
}

void *vmem_view(const struct vmem *v, int i)
{
	return v->view + (v->range_first[i] << EPT_PAGE_SHIFT);
}

/* First view page of [gpa, gpa + len), which must lie in one range. */
static int64_t vmem_span(const struct vmem *v, uint64_t gpa, size_t len)
{
	int64_t first = vmem_gpa_idx(v, gpa);

	if (first < 0 || len > v->pages << EPT_PAGE_SHIFT)
		return -EFAULT;
	if (!len)
		return first;
	if (vmem_gpa_idx(v, gpa + len - 1) !=
	    first + (int64_t)((gpa % EPT_PAGE_SIZE + len - 1) >> EPT_PAGE_SHIFT))
		return -EFAULT;
	return first;
}

/* Store offset of gpa (in view page idx) from the frame the table names,
 * or -1 if the page has none (it reads as zeros). */
static off_t vmem_store_offset(const struct vmem *v, uint64_t idx, uint64_t gpa)
{
	uint64_t e = ept_get(v->table, vmem_idx_gpa(v, idx));

	if (!ept_present(e))
		return -1;
	return ((off_t)ept_frame(e) << EPT_PAGE_SHIFT) + gpa % EPT_PAGE_SIZE;
}

static int vmem_pio(ssize_t (*io)(int, void *, size_t, off_t), int fd, void *buf, size_t len,
		    off_t off)
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

bool vmem_reclaim_unlocked(struct vmem *v, uint64_t gpa)
{
	uint64_t freed;

	if (!v->pager)
		return false;
	pthread_mutex_unlock(&v->lock);
	freed = v->pager->reclaim(v->pager_arg, v, gpa, VMEM_EVICT_MAX);
	pthread_mutex_lock(&v->lock);
	if (freed)
		v->stats.direct_reclaims++;
	return freed > 0;
}

int vmem_page_content(struct vmem *v, uint64_t idx, void *buf, char *why, size_t len)
{
	uint64_t e = ept_get(v->table, vmem_idx_gpa(v, idx));
	bool image = vmem_image_owns(v, vmem_idx_gpa(v, idx), e);
	const struct vmem_pager_ops *pager = image ? v->image->pager : v->pager;
	void *pager_arg = image ? v->image->pager_arg : v->pager_arg;
	uint32_t slot = ept_frame(e);
	int ret;

	if (ept_present(e)) {
		ret = vmem_pio(pread, frame_db_fd(v->db), buf, EPT_PAGE_SIZE,
			       (off_t)ept_frame(e) << EPT_PAGE_SHIFT);
		if (ret)
			snprintf(why, len, "reading frame %lu of the store: %s",
				 (unsigned long)ept_frame(e), strerror(-ret));
		return ret;
	}
	if (e & EPT_SW_SWAP)
		return pager->swap_in(pager_arg, v, &slot, &buf, 1, why, len);
	if (e & EPT_SW_SNAP && image)
		return v->image->source->load(v->image->source_arg, slot, buf, why, len);
	if (e & EPT_SW_SNAP)
		return v->source->load(v->source_arg, slot, buf, why, len);
	memset(buf, 0, EPT_PAGE_SIZE);
	return 0;
}

/* The content of gpa's page if it is in swap or still in the source, read
 * into v->page_buf and verified: 1; 0 if it is in neither. A bad page
 * stops the VM: the data is lost, and no one may read it. */
static int vmem_nonresident_content(struct vmem *v, uint64_t idx, uint64_t gpa)
{
	uint64_t e = ept_get(v->table, vmem_idx_gpa(v, idx));
	char msg[300], why[200];
	int ret;

	if (!(e & (EPT_SW_SWAP | EPT_SW_SNAP)))
		return 0;
	ret = vmem_page_content(v, idx, v->page_buf, why, sizeof(why));
	if (!ret)
		return 1;
	snprintf(msg, sizeof(msg), "GPA %#lx: cannot read it back from %s: %s",
		 (unsigned long)(gpa & ~(EPT_PAGE_SIZE - 1)),
		 e & EPT_SW_SWAP ? "swap" : "the snapshot", why);
	fault_stop_vm(v, msg);
	return ret;
}

static int vmem_read_page(struct vmem *v, uint64_t i, uint64_t gpa, uint8_t *p, size_t n)
{
	off_t off = vmem_store_offset(v, i, gpa);
	int ret;

	if (off >= 0)
		return vmem_pio(pread, frame_db_fd(v->db), p, n, off);
	ret = vmem_nonresident_content(v, i, gpa);
	if (ret == 1)
		memcpy(p, v->page_buf + gpa % EPT_PAGE_SIZE, n);
	else if (!ret)
		memset(p, 0, n); /* no frame: zeros, without allocating one */
	return ret < 0 ? ret : 0;
}

int vmem_read(struct vmem *v, uint64_t gpa, void *buf, size_t len)
{
	int64_t idx = vmem_span(v, gpa, len);
	uint8_t *p = buf;
	int ret = 0;

	if (idx < 0)
		return (int)idx;
	pthread_mutex_lock(&v->lock);
	for (uint64_t i = idx; len && !ret; i++) {
		size_t n = EPT_PAGE_SIZE - gpa % EPT_PAGE_SIZE;

		n = n < len ? n : len;
		ret = vmem_read_page(v, i, gpa, p, n);
		gpa += n;
		p += n;
		len -= n;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static ssize_t vmem_pwrite(int fd, void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

/* A page in swap or in the source comes back into its frame before the
 * VMM writes part of it; a swap slot stays as the frame's swap copy until
 * the content differs. */
static int vmem_write_nonresident(struct vmem *v, uint64_t i, uint64_t gpa)
{
	uint64_t e = ept_get(v->table, vmem_idx_gpa(v, i));
	int ret = vmem_nonresident_content(v, i, gpa);

	if (ret <= 0)
		return ret;
	ret = vmem_page_populated(v, i, false);
	if (ret)
		return ret;
	if (e & EPT_SW_SWAP) {
		v->stats.swapped_pages--;
		frame_set_swap_slot(v->db, ept_frame(ept_get(v->table, vmem_idx_gpa(v, i))),
				    ept_frame(e));
	} else {
		v->stats.source_pages--;
	}
	return vmem_pio(vmem_pwrite, frame_db_fd(v->db), v->page_buf, EPT_PAGE_SIZE,
			vmem_store_offset(v, i, vmem_idx_gpa(v, i)));
}

/* Write one page's part of a span: a page recorded here is dropped again
 * if its data could not be written, so the table never holds a frame
 * with nothing behind it. */
static int vmem_write_page(struct vmem *v, uint64_t i, uint64_t gpa, const uint8_t *buf, size_t len)
{
	bool fresh;
	int ret;

	vmem_snap_keep(v, i, NULL);
	ret = vmem_fork_own_page(v, i);
	if (!ret)
		ret = vmem_write_nonresident(v, i, gpa);
	if (ret)
		return ret;
	fresh = !vmem_page_present(v, i);
	if (fresh) {
		ret = vmem_page_populated(v, i, false);
		if (ret)
			return ret;
	}
	ret = vmem_pio(vmem_pwrite, frame_db_fd(v->db), (void *)buf, len,
		       vmem_store_offset(v, i, gpa));
	if (ret && fresh)
		vmem_page_drop(v, i);
	else if (fresh)
		v->stats.vmm_filled_pages++;
	return ret;
}

/* Under memory pressure a page that found no frame is retried once the
 * pager freed some. */
int vmem_write(struct vmem *v, uint64_t gpa, const void *buf, size_t len)
{
	int64_t idx = vmem_span(v, gpa, len);
	const uint8_t *p = buf;
	uint64_t i;
	int ret = 0;

	if (idx < 0)
		return (int)idx;
	pthread_mutex_lock(&v->lock);
	for (i = idx; len && !ret; i++) {
		size_t n = EPT_PAGE_SIZE - gpa % EPT_PAGE_SIZE;

		n = n < len ? n : len;
		ret = vmem_write_page(v, i, gpa, p, n);
		if (ret == -ENOMEM && vmem_reclaim_unlocked(v, gpa)) {
			ret = 0;
			i--;
			continue;
		}
		gpa += n;
		p += n;
		len -= n;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

int vmem_discard(struct vmem *v, uint64_t gpa, uint64_t len)
{
	int64_t idx = vmem_span(v, gpa, len);

	if (idx < 0 || (gpa | len) % EPT_PAGE_SIZE)
		return idx < 0 ? (int)idx : -EINVAL;
	pthread_mutex_lock(&v->lock);
	for (uint64_t i = 0; i < len >> EPT_PAGE_SHIFT; i++) {
		vmem_snap_keep(v, idx + i, NULL);
		vmem_page_drop(v, idx + i);
	}
	v->stats.discarded_pages += len >> EPT_PAGE_SHIFT;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int vmem_copy_page(struct vmem *v, uint64_t dst, uint64_t src)
{
	static __thread uint8_t page[EPT_PAGE_SIZE];
	int64_t s = vmem_span(v, src, EPT_PAGE_SIZE);
	int ret;

	if (s < 0 || (dst | src) % EPT_PAGE_SIZE)
		return s < 0 ? (int)s : -EINVAL;
	if (dst == src)
		return 0;
	pthread_mutex_lock(&v->lock);
	ret = vmem_page_held(v, s);
	pthread_mutex_unlock(&v->lock);
	/* A copy of a page never written is a page of zeros: drop dst. */
	if (!ret)
		ret = vmem_discard(v, dst, EPT_PAGE_SIZE);
	else if (!(ret = vmem_read(v, src, page, EPT_PAGE_SIZE)))
		ret = vmem_write(v, dst, page, EPT_PAGE_SIZE);
	if (!ret) {
		pthread_mutex_lock(&v->lock);
		v->stats.copied_pages++;
		pthread_mutex_unlock(&v->lock);
	}
	return ret;
}

int vmem_share_page(struct vmem *dst, uint64_t dst_gpa, struct vmem *src, uint64_t src_gpa)
{
	int64_t d = vmem_span(dst, dst_gpa, EPT_PAGE_SIZE),
		s = vmem_span(src, src_gpa, EPT_PAGE_SIZE);
	uint64_t e;
	int ret;

	if (d < 0 || s < 0 || (dst_gpa | src_gpa) % EPT_PAGE_SIZE || dst->db != src->db ||
	    dst == src)
		return d < 0 || s < 0 ? -EFAULT : -EINVAL;
	pthread_mutex_lock(&src->lock);
	e = ept_get(src->table, src_gpa);
	pthread_mutex_unlock(&src->lock);
	if (!ept_present(e))
		return -ENOENT;
	pthread_mutex_lock(&dst->lock);
	if (ept_get(dst->table, dst_gpa)) { /* a frame, or a swap slot */
		ret = -EEXIST;
	} else {
		ret = frame_map_shared(dst->db, ept_frame(e), dst->vm_id, dst_gpa);
		if (!ret && (ret = ept_set(dst->table, dst_gpa,
					   ept_entry(ept_frame(e), EPT_RWX | EPT_MT_WB))))
			frame_unmap(dst->db, ept_frame(e), dst->vm_id, dst_gpa);
	}
	if (!ret) {
		dst->block[d >> VMEM_BLOCK_SHIFT].present++;
		dst->block[d >> VMEM_BLOCK_SHIFT].used++;
		dst->stats.resident_pages++;
	}
	pthread_mutex_unlock(&dst->lock);
	return ret;
}

int vmem_set_source_page(struct vmem *v, uint64_t gpa, uint64_t index)
{
	int64_t idx = vmem_span(v, gpa, EPT_PAGE_SIZE);
	int ret = 0;

	if (idx < 0)
		return (int)idx;
	if (!v->source || gpa % EPT_PAGE_SIZE || index > EPT_FRAME_MASK >> EPT_PAGE_SHIFT)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	if (ept_get(v->table, gpa))
		ret = -EEXIST;
	else if (!(ret = ept_set(v->table, gpa, ept_entry(index, EPT_SW_SNAP))))
		v->stats.source_pages++;
	pthread_mutex_unlock(&v->lock);
	return ret;
}

void vmem_get_stats(struct vmem *v, struct vmem_stats *out)
{
	pthread_mutex_lock(&v->lock);
	*out = v->stats;
	out->table_bytes = ept_bytes(v->table);
	out->policy_bytes = v->nr_blocks * sizeof(*v->block);
	out->uffd_via = v->uffd.via;
	pthread_mutex_unlock(&v->lock);
}

void vmem_count_invalid(struct vmem *v)
{
	pthread_mutex_lock(&v->lock);
	v->stats.cls[FAULT_INVALID].events++;
	pthread_mutex_unlock(&v->lock);
}
