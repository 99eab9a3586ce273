/* ept/vmem_fork.c: fork images, frames shared by a VM and its children.
 *
 * At the fork point the forked VM's region becomes an image: its frames
 * as they stand, immutable from then on, held once however many VMs map
 * them. The forked VM gets a new region for the pages it writes from then
 * on, and keeps its view (which maps the image). Each child gets a view of
 * the image (one mmap), a copy-on-write clone of the table (O(1)) and a
 * region of its own. So nothing is copied at the fork, and reads share:
 *   - every view page that maps the image is write-protected (the forked
 *     VM's by the arming before the pause, see vmem_snap.c; a child's
 *     because its first touch is a MINOR fault, answered by CONTINUE and
 *     WRITEPROTECT before the vCPU is woken);
 *   - a write to one is a WP fault: the page is copied to the writer's own
 *     region, that page alone is mapped over the view (MAP_FIXED) and
 *     registered, and the copy is mapped writable. Neighbouring pages so
 *     broken out sit at neighbouring offsets, so their mappings merge.
 * An image's swap slots and snapshot pages stay the image's: a VM that
 * touches one reads it into a page of its own. Image frames are never
 * evicted. The image goes with the last VM that maps it.
 *
 * A page the view maps from the VM's own region is "remapped"; such a
 * page is handled as in any VM. A VM's entry is the image's if it is the
 * entry the image had there (for frames: the frame is in the image's
 * region).
 */
#include "vmem_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

bool vmem_remapped(const struct vmem *v, uint64_t idx)
{
	return !v->image || vmem_bit(v->remapped, idx);
}

bool vmem_image_owns(const struct vmem *v, uint64_t gpa, uint64_t e)
{
	const uint64_t kinds = EPT_SW_SWAP | EPT_SW_SNAP;
	uint64_t ie;

	if (!v->image || !e)
		return false;
	if (ept_present(e))
		return ept_frame(e) - v->image->base < v->image->pages;
	ie = ept_get(v->image->table, gpa);
	return (ie & kinds) && (ie & kinds) == (e & kinds) && ept_frame(ie) == ept_frame(e);
}

int vmem_fork_privatise(struct vmem *v, uint64_t first, uint64_t n)
{
	uint64_t i = first, run;

	while (i < first + n) {
		if (vmem_remapped(v, i)) {
			i++;
			continue;
		}
		for (run = 1; i + run < first + n && !vmem_remapped(v, i + run); run++)
			;
		uint8_t *addr = v->view + (i << EPT_PAGE_SHIFT);
		int ret;

		/* ENOMEM here is vm.max_map_count, not a frame: callers read
		 * -ENOMEM as "reclaim and retry". */
		if (mmap(addr, run << EPT_PAGE_SHIFT, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED | MAP_NORESERVE, frame_db_fd(v->db),
			 (v->base_frame + i) << EPT_PAGE_SHIFT) == MAP_FAILED)
			return errno == ENOMEM ? -EMLINK : -errno;
		ret = uffd_register_modes(&v->uffd, addr, run << EPT_PAGE_SHIFT, v->reg_modes);
		if (ret)
			return ret;
		for (uint64_t k = i; k < i + run; k++)
			vmem_bit_set(v->remapped, k);
		v->stats.remapped_pages += run;
		i += run;
	}
	return 0;
}

/* Page idx no longer counts the image's entry e: counts only, the image
 * keeps its frame or slot. */
static void fork_uncount(struct vmem *v, uint64_t idx, uint64_t e)
{
	if (ept_present(e)) {
		vmem_block_forget(v, idx, e);
		v->stats.shared_pages--;
	} else if (e & EPT_SW_SWAP) {
		v->stats.swapped_pages--;
	} else {
		v->stats.source_pages--;
	}
}

/* The copy goes into the store first and is mapped from there: between
 * the view's MAP_FIXED and its registration (vmem_page_populated) a touch
 * of the page is no userfault, and the kernel maps whatever the store
 * holds there (a Linux guest's KVM touches its pages from more places
 * than the vCPU's fault: kvm-clock, steal time). So the store holds the
 * copy by then, and CONTINUE maps it, or finds it mapped (-EEXIST) and
 * wakes the waiter. */
int vmem_fork_break(struct vmem *v, uint64_t idx, uint64_t e, const void *content, bool map)
{
	uint64_t f = vmem_fresh_frame(v, idx);
	uintptr_t addr = (uintptr_t)v->view + (idx << EPT_PAGE_SHIFT);
	int ret;

	if (pwrite(frame_db_fd(v->db), content, EPT_PAGE_SIZE, f << EPT_PAGE_SHIFT) !=
	    (ssize_t)EPT_PAGE_SIZE)
		return -EIO;
	ret = vmem_page_populated(v, idx, false);
	if (ret) {
		frame_store_zero(v->db, f); /* no frame keeps data it was not given */
		return ret;
	}
	fork_uncount(v, idx, e);
	v->stats.cow_pages++;
	if (!map)
		return 0;
	ret = uffd_continue(&v->uffd, addr, EPT_PAGE_SIZE, false, NULL);
	return ret == -EEXIST ? uffd_wake(&v->uffd, addr, EPT_PAGE_SIZE) : ret;
}

int vmem_image_read(struct vmem *v, uint64_t idx)
{
	char why[200], msg[300];
	int ret = vmem_page_content(v, idx, v->page_buf, why, sizeof(why));

	if (ret) {
		snprintf(msg, sizeof(msg), "GPA %#lx: reading it from the fork image failed: %s",
			 (unsigned long)vmem_idx_gpa(v, idx), why);
		fault_stop_vm(v, msg);
	}
	return ret;
}

int vmem_fork_own_page(struct vmem *v, uint64_t idx)
{
	uint64_t gpa = vmem_idx_gpa(v, idx), e = ept_get(v->table, gpa);
	int ret;

	if (!vmem_image_owns(v, gpa, e))
		return 0;
	ret = vmem_image_read(v, idx);
	return ret ? ret : vmem_fork_break(v, idx, e, v->page_buf, false);
}

bool vmem_fork_drop(struct vmem *v, uint64_t idx)
{
	uint64_t gpa = vmem_idx_gpa(v, idx), e = ept_get(v->table, gpa);
	char msg[200];
	int ret;

	if (!vmem_image_owns(v, gpa, e))
		return false;
	fork_uncount(v, idx, e);
	ept_clear(v->table, gpa);
	if (v->fatal)
		return true;
	/* The view must stop showing the image's page: it reads zeros now. */
	ret = vmem_fork_privatise(v, idx, 1);
	if (ret) {
		snprintf(msg, sizeof(msg),
			 "GPA %#lx: cannot map a page of its own over the fork "
			 "image: %s",
			 (unsigned long)gpa, strerror(-ret));
		fault_stop_vm(v, msg);
	}
	return true;
}

/* (Un)protect a run of view pages. 6.1 takes a range within one mapping
 * only (-ENOENT otherwise), and pages broken out next to each other may
 * not have merged: then page by page. */
static int fork_protect_run(struct vmem *v, uint64_t first, uint64_t n, bool wp)
{
	uint64_t addr = (uintptr_t)v->view + (first << EPT_PAGE_SHIFT);
	int ret = uffd_writeprotect(&v->uffd, addr, n << EPT_PAGE_SHIFT, wp, false);

	if (ret != -ENOENT)
		return ret;
	for (uint64_t i = 0; !ret && i < n; i++)
		ret = uffd_writeprotect(&v->uffd, addr + (i << EPT_PAGE_SHIFT), EPT_PAGE_SIZE, wp,
					false);
	return ret;
}

int vmem_fork_protect(struct vmem *v, uint64_t first, uint64_t n, bool wp)
{
	uint64_t i = first, run;
	int ret = 0;

	while (i < first + n) {
		bool mine = vmem_remapped(v, i);

		for (run = 1; i + run < first + n && vmem_remapped(v, i + run) == mine; run++)
			;
		/* The image's pages stay protected whatever a snapshot does. */
		if (wp || mine) {
			int r = fork_protect_run(v, i, run, wp);

			ret = ret ? ret : r;
		}
		i += run;
	}
	return ret;
}

void vmem_fork_sever(struct vmem *v)
{
	/* The kernel would serve the retry from the image itself, and a write
	 * would reach every VM that maps it: put anonymous memory under the
	 * view first. */
	mmap(v->view, v->pages << EPT_PAGE_SHIFT, PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	uffd_wake(&v->uffd, (uintptr_t)v->view, v->pages << EPT_PAGE_SHIFT);
}

static void fork_image_free(struct vmem_image *img)
{
	if (!img)
		return;
	ept_destroy(img->table);
	free(img->block);
	free(img);
}

/* The image of v's region as it stands: its frames, an O(1) clone of the
 * table, the fault-around bookkeeping and the counts. NULL without memory. */
static struct vmem_image *fork_image_new(struct vmem *v)
{
	struct vmem_image *img = malloc(sizeof(*img));

	if (!img)
		return NULL;
	*img = (struct vmem_image){
	    .db = v->db,
	    .base = v->base_frame,
	    .pages = v->pages,
	    .table = ept_clone(v->table),
	    .owner = v->vm_id,
	    .pager = v->pager,
	    .pager_arg = v->pager_arg,
	    .source = v->source,
	    .source_arg = v->source_arg,
	    .block = malloc(v->nr_blocks * sizeof(*img->block)),
	    .resident = v->stats.resident_pages,
	    .swapped = v->stats.swapped_pages,
	    .sourced = v->stats.source_pages,
	    .refs = 1,
	};
	if (!img->table || !img->block) {
		fork_image_free(img);
		return NULL;
	}
	memcpy(img->block, v->block, v->nr_blocks * sizeof(*img->block));
	return img;
}

int vmem_fork_make_image(struct vmem *v)
{
	uint64_t *remapped = calloc((v->pages + 63) / 64, sizeof(uint64_t)), base;
	struct vmem_image *img = remapped ? fork_image_new(v) : NULL;
	int ret = img ? frame_region_alloc(v->db, v->pages, &base) : -ENOMEM;

	if (ret) {
		fork_image_free(img);
		free(remapped);
		return ret;
	}
	v->image = img;
	v->remapped = remapped;
	v->base_frame = base;
	v->stats.shared_pages = v->stats.resident_pages;
	v->stats.resident_pages = 0;
	v->swap_ra_max = 1; /* read-ahead could take the image's slots for its own */
	return 0;
}

int vmem_fork_child_init(struct vmem *v, struct vmem_image *img)
{
	if (img->pages != v->pages || img->db != v->db)
		return -EINVAL;
	v->remapped = calloc((v->pages + 63) / 64, sizeof(uint64_t));
	if (!v->remapped)
		return -ENOMEM;
	__atomic_add_fetch(&img->refs, 1, __ATOMIC_SEQ_CST);
	v->image = img;
	memcpy(v->block, img->block, v->nr_blocks * sizeof(*v->block));
	v->stats.shared_pages = img->resident;
	v->stats.swapped_pages = img->swapped;
	v->stats.source_pages = img->sourced;
	v->swap_ra_max = 1;
	return 0;
}

static int fork_release_entry(uint64_t gpa, uint64_t e, void *arg)
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
	frame_unmap(img->db, ept_frame(e), img->owner, gpa);
	return 0;
}

void vmem_image_put(struct vmem_image *img)
{
	if (!img || __atomic_sub_fetch(&img->refs, 1, __ATOMIC_SEQ_CST))
		return;
	ept_for_each(img->table, 0, UINT64_MAX, fork_release_entry, img);
	frame_region_release(img->db, img->base, img->pages);
	fork_image_free(img);
}

uint64_t vmem_image_pages(const struct vmem_image *img)
{
	return img->resident;
}
