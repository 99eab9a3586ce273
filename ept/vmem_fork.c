/* ept/vmem_fork.c: fork images, frames shared by a VM and its children.
 *
 * At the fork point the forked VM's region becomes an image: its frames
 * as they stand, immutable from then on, held once however many VMs map
 * them. The forked VM gets a new region for the pages it writes from then
 * on, and a fresh view of the image. Each child gets a view of
 * the image (one mmap), a copy-on-write clone of the table (O(1)) and a
 * region of its own (vmem_config.image). So nothing is copied at the fork,
 * and reads share:
 *   - every view page that maps the image is write-protected: every view
 *     of it is fresh (the forked VM's too: it goes on over a new mapping
 *     at the fork point, and the old one is unmapped in the background),
 *     so a first touch is a MINOR fault, answered by mapping the page
 *     write-protected before the vCPU is woken;
 *   - a write to one is a WP fault: the page is copied into the writer's
 *     own region and that page alone is mapped over the view (the core's
 *     installer and the view, vmem.c and vmem_view.c).
 * An image's swap slots and snapshot pages stay the image's: a VM that
 * touches one reads it into a page of its own. Image frames are never
 * evicted. The image goes with the last VM that maps it.
 */
#include "vmem_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* With v's lock. */
static int fork_check_locked(const struct vmem *v)
{
	const struct vmem_view *w = &v->view;

	if (w->image)
		return -EALREADY;
	if (v->snap.state == VMEM_SNAP_ARMED || v->snap.state == VMEM_SNAP_FROZEN || v->snap.ending)
		return -EBUSY;
	if (v->fatal)
		return -ESRCH;
	return w->can_wp && w->uffd.features & UFFD_FEATURE_MINOR_SHMEM ? 0 : -ENOTSUP;
}

int vmem_fork_check(struct vmem *v)
{
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = fork_check_locked(v);
	pthread_mutex_unlock(&v->lock);
	return ret;
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
	size_t blocks = v->around.nr_blocks * sizeof(*v->around.block);

	if (!img)
		return NULL;
	*img = (struct vmem_image){
	    .db = v->db,
	    .base = v->base_frame,
	    .pages = v->pages,
	    .table = ept_clone(v->table),
	    .owner = v->vm_id,
	    .pager = v->back.pager,
	    .pager_arg = v->back.pager_arg,
	    .source = v->back.source,
	    .source_arg = v->back.source_arg,
	    .block = malloc(blocks),
	    .resident = v->stats.resident_pages,
	    .swapped = v->stats.swapped_pages,
	    .sourced = v->stats.source_pages,
	    .refs = 1,
	};
	if (!img->table || !img->block) {
		fork_image_free(img);
		return NULL;
	}
	memcpy(img->block, v->around.block, blocks);
	return img;
}

/* The fork point: v's region becomes an image, and v goes on in a new
 * region, its view still mapping the image. */
static int fork_make_image(struct vmem *v)
{
	uint64_t *own = vmem_bitmap_new(v->pages), base;
	struct vmem_image *img = own ? fork_image_new(v) : NULL;
	int ret = img ? frame_region_alloc(v->db, v->pages, &base) : -ENOMEM;

	if (ret) {
		fork_image_free(img);
		free(own);
		return ret;
	}
	v->view.image = img;
	v->view.own = own;
	v->base_frame = base;
	v->stats.shared_pages = v->stats.resident_pages;
	v->stats.resident_pages = 0;
	v->back.swap_ra_max = 1; /* read-ahead could take the image's slots for its own */
	return 0;
}

int vmem_fork_freeze(struct vmem *v)
{
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = fork_check_locked(v);
	if (!ret)
		ret = vmem_view_renew(v);
	if (!ret && (ret = fork_make_image(v)))
		vmem_view_unrenew(v);
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* The shared marks feed only the store's count (frame_db_stats): the
 * image's frames are told apart by their region (vmem_image_owns), so
 * they are marked after the fork point, not in it. */
void vmem_fork_retire(struct vmem *v)
{
	struct vmem_image *img;

	pthread_mutex_lock(&v->lock);
	img = v->view.image;
	if (img && img->owner == v->vm_id && !img->marked) {
		frame_region_share(v->db, img->base, img->pages);
		img->marked = true;
	}
	vmem_view_retire(v);
	pthread_mutex_unlock(&v->lock);
}

struct vmem_image *vmem_fork_image(struct vmem *v)
{
	struct vmem_image *img;

	pthread_mutex_lock(&v->lock);
	img = v->view.image;
	pthread_mutex_unlock(&v->lock);
	return img;
}

uint64_t vmem_image_pages(const struct vmem_image *img)
{
	return img->resident;
}
