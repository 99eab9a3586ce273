/* ept/vmem_view.c: the view of guest memory that KVM maps (vmem_priv.h).
 *
 * The view is one MAP_SHARED mapping of the frame store, registered with
 * userfaultfd: of the VM's own region, or of a fork image's. A VM that
 * maps an image has its own pages mapped over it one by one as they are
 * broken out (MAP_FIXED of its own region at the same offset, so that
 * neighbours merge into one mapping), and keeps the image's pages
 * write-protected: a write to one is a WP fault that copies it out.
 */
#include "vmem_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define VIEW_RETIRE_CHUNK (2ULL << 20) /* unmapped per munmap: a 2 MiB zap, tens of µs */

int64_t vmem_gpa_idx(const struct vmem *v, uint64_t gpa)
{
	for (int i = 0; i < v->nr_ranges; i++)
		if (gpa >= v->range[i].gpa && gpa - v->range[i].gpa < v->range[i].size)
			return v->range_first[i] + ((gpa - v->range[i].gpa) >> EPT_PAGE_SHIFT);
	return -1;
}

uint64_t vmem_view_addr(const struct vmem *v, uint64_t idx)
{
	return (uintptr_t)v->view.base + (idx << EPT_PAGE_SHIFT);
}

static uint64_t vmem_view_bytes(const struct vmem *v)
{
	return v->pages << EPT_PAGE_SHIFT;
}

/* With a pager, MINOR faults too: the reclaimer's access bit (vmem_scan);
 * with a source, for bulk loads.
 * Write-protect too where shmem has it: snapshots need it (vmem_snap.c),
 * and MINOR is asked for as a feature so that a snapshot can add it. A
 * fork child needs both from the start: its view maps the image. */
static int vmem_view_register(struct vmem *v, bool child)
{
	struct vmem_view *w = &v->view;
	int64_t features = uffd_probe_features();
	/* A lazy restore's too: its bulk loads map pages with CONTINUE, which
	 * never waits on a fault (vmem_load_run). */
	bool minor = v->back.pager || v->back.source || child;
	uint64_t want = UFFD_FEATURE_MISSING_SHMEM | (minor ? UFFD_FEATURE_MINOR_SHMEM : 0) |
			(child ? UFFD_FEATURE_WP_HUGETLBFS_SHMEM : 0);
	uint64_t extra = UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	int ret;

	if (features < 0)
		return (int)features;
	if ((features & want) != want)
		return -ENOTSUP;
	ret = uffd_open(&w->uffd, want | (features & extra));
	if (ret)
		return ret;
	w->reg_modes = UFFDIO_REGISTER_MODE_MISSING | (minor ? UFFDIO_REGISTER_MODE_MINOR : 0);
	if ((w->uffd.features & extra) == extra)
		w->reg_modes |= UFFDIO_REGISTER_MODE_WP;
	ret = uffd_register_modes(&w->uffd, w->base, vmem_view_bytes(v), w->reg_modes);
	if (ret)
		return ret;
	/* CONTINUE is in the range's ioctls only once MINOR is registered. */
	w->can_wp =
	    (w->reg_modes & UFFDIO_REGISTER_MODE_WP) && uffd_can(&w->uffd, _UFFDIO_WRITEPROTECT);
	if ((minor && !uffd_can(&w->uffd, _UFFDIO_CONTINUE)) || (child && !w->can_wp))
		return -ENOTSUP;
	return uffd_can(&w->uffd, _UFFDIO_COPY) ? 0 : -ENOTSUP;
}

/* The store's frames from first_frame on, as one shared mapping the size
 * of the VM's memory: MAP_FAILED or its address. */
static uint8_t *vmem_view_map(const struct vmem *v, uint64_t first_frame)
{
	return mmap(NULL, vmem_view_bytes(v), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		    frame_db_fd(v->db), first_frame << EPT_PAGE_SHIFT);
}

int vmem_view_open(struct vmem *v, uint64_t first_frame, bool child)
{
	struct vmem_view *w = &v->view;

	/* Without it fault-around cannot see what the guest used: it then
	 * fills no more ahead than was asked for (see fault.c). */
	w->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	w->base = vmem_view_map(v, first_frame);
	if (w->base == MAP_FAILED) {
		w->base = NULL;
		return -errno;
	}
	return vmem_view_register(v, child);
}

static void vmem_view_join_retired(struct vmem_view *w)
{
	if (w->retired.running)
		pthread_join(w->retired.thread, NULL);
	else if (w->retired.base)
		munmap(w->retired.base, w->retired.bytes);
	w->retired.running = false;
	w->retired.base = NULL;
}

void vmem_view_close(struct vmem *v)
{
	struct vmem_view *w = &v->view;

	vmem_view_join_retired(w);
	uffd_close(&w->uffd);
	if (w->base)
		munmap(w->base, vmem_view_bytes(v));
	if (w->pagemap_fd >= 0)
		close(w->pagemap_fd);
	vmem_image_put(w->image);
	free(w->own);
	w->base = NULL;
	w->pagemap_fd = -1;
	w->image = NULL;
	w->own = NULL;
}

int vmem_view_renew(struct vmem *v)
{
	const uint64_t modes =
	    UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_WP;
	struct vmem_view *w = &v->view;
	uint8_t *base;
	int ret;

	if (w->retired.base || w->image)
		return -EBUSY; /* one fork per VM: vmem_fork_check refuses a second */
	base = vmem_view_map(v, v->base_frame);
	if (base == MAP_FAILED)
		return -errno;
	ret = uffd_register_modes(&w->uffd, base, vmem_view_bytes(v), modes);
	if (ret) {
		munmap(base, vmem_view_bytes(v));
		return ret;
	}
	w->retired.base = w->base;
	w->retired.bytes = vmem_view_bytes(v);
	w->retired.reg_modes = w->reg_modes;
	w->base = base;
	w->reg_modes = modes;
	return 0;
}

void vmem_view_unrenew(struct vmem *v)
{
	struct vmem_view *w = &v->view;

	if (!w->retired.base || w->retired.running)
		return;
	munmap(w->base, vmem_view_bytes(v));
	w->base = w->retired.base;
	w->reg_modes = w->retired.reg_modes;
	w->retired.base = NULL;
}

static void vmem_view_unmap_retired(struct vmem_view *w)
{
	for (uint64_t off = 0; off < w->retired.bytes; off += VIEW_RETIRE_CHUNK) {
		uint64_t n = w->retired.bytes - off;

		munmap(w->retired.base + off, n < VIEW_RETIRE_CHUNK ? n : VIEW_RETIRE_CHUNK);
	}
}

static void *vmem_view_unmap_thread(void *arg)
{
	setpriority(PRIO_PROCESS, 0, 19); /* this thread alone, on Linux */
	vmem_view_unmap_retired(arg);
	return NULL;
}

void vmem_view_retire(struct vmem *v)
{
	struct vmem_view *w = &v->view;

	if (!w->retired.base || w->retired.running)
		return;
	w->retired.running = !pthread_create(&w->retired.thread, NULL, vmem_view_unmap_thread, w);
	if (w->retired.running)
		return;
	vmem_view_unmap_retired(w); /* no thread: here, then */
	w->retired.base = NULL;
}

const char *vmem_view_share_via(const struct vmem *v)
{
	switch (v->view.continue_wp) {
	case 1:
		return "continue-wp";
	case -1:
		return "continue+writeprotect";
	default:
		return "none yet";
	}
}

bool vmem_view_maps_own(const struct vmem *v, uint64_t idx)
{
	return !v->view.image || vmem_bit(v->view.own, idx);
}

int vmem_view_map_own(struct vmem *v, uint64_t first, uint64_t n)
{
	uint64_t i = first, run;

	while (i < first + n) {
		if (vmem_view_maps_own(v, i)) {
			i++;
			continue;
		}
		for (run = 1; i + run < first + n && !vmem_view_maps_own(v, i + run); run++)
			;
		uint8_t *addr = (uint8_t *)vmem_view_addr(v, i);
		int ret;

		/* ENOMEM here is vm.max_map_count, not a frame: callers read
		 * -ENOMEM as "reclaim and retry". */
		if (mmap(addr, run << EPT_PAGE_SHIFT, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED | MAP_NORESERVE, frame_db_fd(v->db),
			 (v->base_frame + i) << EPT_PAGE_SHIFT) == MAP_FAILED)
			return errno == ENOMEM ? -EMLINK : -errno;
		ret = uffd_register_modes(&v->view.uffd, addr, run << EPT_PAGE_SHIFT,
					  v->view.reg_modes);
		if (ret)
			return ret;
		for (uint64_t k = i; k < i + run; k++)
			vmem_bit_set(v->view.own, k);
		v->stats.remapped_pages += run;
		i += run;
	}
	return 0;
}

/* (Un)protect a run of view pages. 6.1 takes a range within one mapping
 * only (-ENOENT otherwise), and pages broken out next to each other may
 * not have merged: then page by page. */
static int vmem_view_protect_run(struct vmem *v, uint64_t first, uint64_t n, bool wp)
{
	uint64_t addr = vmem_view_addr(v, first);
	int ret = uffd_writeprotect(&v->view.uffd, addr, n << EPT_PAGE_SHIFT, wp, false);

	if (ret != -ENOENT || !v->view.image)
		return ret;
	for (uint64_t i = 0; !ret && i < n; i++)
		ret = uffd_writeprotect(&v->view.uffd, addr + (i << EPT_PAGE_SHIFT), EPT_PAGE_SIZE,
					wp, false);
	return ret;
}

int vmem_view_protect(struct vmem *v, uint64_t first, uint64_t n, bool wp)
{
	uint64_t i = first, run;
	int ret = 0;

	if (!v->view.image)
		return vmem_view_protect_run(v, first, n, wp);
	/* A mapping at a time: the view is several once pages are broken out. */
	while (i < first + n) {
		bool own = vmem_view_maps_own(v, i);

		for (run = 1; i + run < first + n && vmem_view_maps_own(v, i + run) == own; run++)
			;
		if (wp || own) {
			int r = vmem_view_protect_run(v, i, run, wp);

			ret = ret ? ret : r;
		}
		i += run;
	}
	return ret;
}

int vmem_view_present(const struct vmem *v, uint64_t first, unsigned n, bool *present)
{
	uint64_t pm[VMEM_MAX_WINDOW];
	off_t off = (((uintptr_t)v->view.base >> EPT_PAGE_SHIFT) + first) * sizeof(pm[0]);

	if (n > VMEM_MAX_WINDOW || first + n > v->pages)
		return -EINVAL;
	if (v->view.pagemap_fd < 0)
		return -ENOTSUP;
	if (pread(v->view.pagemap_fd, pm, n * sizeof(pm[0]), off) != (ssize_t)(n * sizeof(pm[0])))
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		present[i] = pm[i] >> 63;
	return 0;
}

void vmem_view_zap(struct vmem *v, uint64_t first, uint64_t n)
{
	/* Shmem keeps the pages: only the mappings (and KVM's entries, through
	 * its MMU notifier) go. */
	madvise((void *)vmem_view_addr(v, first), n << EPT_PAGE_SHIFT, MADV_DONTNEED);
}

/* Unregistering the view wakes every thread waiting on a fault there, and
 * the kernel serves the retry: on 6.1 KVM waits for userfaultfd
 * uninterruptibly, so a kick alone never lands. With an image, the kernel
 * would serve the retry from the image and a write would reach every VM
 * that maps it: anonymous memory goes under the view first. */
void vmem_view_release(struct vmem *v)
{
	if (!v->view.image) {
		uffd_unregister(&v->view.uffd, v->view.base, vmem_view_bytes(v));
		return;
	}
	mmap(v->view.base, vmem_view_bytes(v), PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	uffd_wake(&v->view.uffd, (uintptr_t)v->view.base, vmem_view_bytes(v));
}

/* ---- the image a view may map ------------------------------------------ */

bool vmem_image_owns(const struct vmem *v, uint64_t gpa, uint64_t e)
{
	const uint64_t kinds = EPT_SW_SWAP | EPT_SW_SNAP;
	const struct vmem_image *img = v->view.image;
	uint64_t ie;

	if (!img || !e)
		return false;
	if (ept_present(e))
		return ept_frame(e) - img->base < img->pages;
	ie = ept_get(img->table, gpa);
	return (ie & kinds) && (ie & kinds) == (e & kinds) && ept_frame(ie) == ept_frame(e);
}

int vmem_image_attach(struct vmem *v, struct vmem_image *img)
{
	if (img->pages != v->pages || img->db != v->db)
		return -EINVAL;
	v->view.own = vmem_bitmap_new(v->pages);
	if (!v->view.own)
		return -ENOMEM;
	__atomic_add_fetch(&img->refs, 1, __ATOMIC_SEQ_CST);
	v->view.image = img;
	return 0;
}

static int vmem_image_release_entry(uint64_t gpa, uint64_t e, void *arg)
{
	struct vmem_image *img = arg;
	uint32_t slot;

	if (e & EPT_SW_SWAP && img->pager)
		img->pager->swap_put(img->pager_arg, ept_frame(e));
	if (!ept_present(e) || ept_frame(e) - img->base >= img->pages)
		return 0;
	slot = frame_swap_slot(img->db, ept_frame(e));
	if (slot != FRAME_NO_SLOT && img->pager) {
		frame_set_swap_slot(img->db, ept_frame(e), FRAME_NO_SLOT);
		img->pager->swap_put(img->pager_arg, slot);
	}
	frame_unmap_deferred(img->db, ept_frame(e), img->owner, gpa);
	return 0;
}

void vmem_image_put(struct vmem_image *img)
{
	if (!img || __atomic_sub_fetch(&img->refs, 1, __ATOMIC_SEQ_CST))
		return;
	ept_for_each(img->table, 0, UINT64_MAX, vmem_image_release_entry, img);
	frame_region_release(img->db, img->base, img->pages);
	ept_destroy(img->table);
	free(img->block);
	free(img);
}
