/* ept/vmem_access.c: the VMM's own accesses to guest memory (vmem.h).
 *
 * Loading the kernel, writing boot data and serving hypercalls go through
 * pread/pwrite on the frame store, never through the view: they take no
 * fault, and reading a page that is not there reads zeros without giving
 * it a frame. A write changes a page, so it goes through the installer
 * like a fault does: a page still in swap, in the source or in a fork
 * image is brought into a frame of the VM's own first.
 */
#include "vmem_priv.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* First view page of [gpa, gpa + len), which must lie in one range. */
static int64_t access_span(const struct vmem *v, uint64_t gpa, size_t len)
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

/* Store offset of gpa in page p's frame. */
static off_t access_offset(const struct vmem_page *p, uint64_t gpa)
{
	return ((off_t)ept_frame(p->entry) << EPT_PAGE_SHIFT) + gpa % EPT_PAGE_SIZE;
}

/* Page p's content is not in a frame: in swap, in the source, or in a
 * fork image's swap or source. Read into the page buffer, or the VM stops. */
static bool access_elsewhere(const struct vmem_page *p)
{
	return !ept_present(p->entry) && p->entry & (EPT_SW_SWAP | EPT_SW_SNAP);
}

static int access_fetch(struct vmem *v, const struct vmem_page *p)
{
	if (p->image && ept_present(p->entry))
		return vmem_page_fetch(v, p, "reading it from the fork image failed");
	return vmem_page_fetch(v, p,
			       p->entry & EPT_SW_SWAP ? "cannot read it back from swap"
						      : "cannot read it back from the snapshot");
}

static int access_read_page(struct vmem *v, uint64_t idx, uint64_t gpa, uint8_t *buf, size_t n)
{
	struct vmem_page p;
	int ret;

	vmem_page_at(v, idx, &p);
	if (ept_present(p.entry))
		return vmem_pio(pread, frame_db_fd(v->db), buf, n, access_offset(&p, gpa));
	if (!access_elsewhere(&p)) {
		memset(buf, 0, n); /* no frame: zeros, without allocating one */
		return 0;
	}
	ret = access_fetch(v, &p);
	if (!ret)
		memcpy(buf, v->back.page_buf + gpa % EPT_PAGE_SIZE, n);
	return ret;
}

int vmem_read(struct vmem *v, uint64_t gpa, void *buf, size_t len)
{
	int64_t idx = access_span(v, gpa, len);
	uint8_t *p = buf;
	int ret = 0;

	if (idx < 0)
		return (int)idx;
	pthread_mutex_lock(&v->lock);
	for (uint64_t i = idx; len && !ret; i++) {
		size_t n = EPT_PAGE_SIZE - gpa % EPT_PAGE_SIZE;

		n = n < len ? n : len;
		ret = access_read_page(v, i, gpa, p, n);
		gpa += n;
		p += n;
		len -= n;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* Page p, about to be written, as a frame of the VM's own: its content
 * brought in from where it is, or a fresh frame (*fresh), or the frame it
 * has (the snapshot saves it first either way). */
static int access_own_page(struct vmem *v, struct vmem_page *p, bool *fresh)
{
	struct vmem_install in = {.fill = VMEM_FILL_IN_PLACE};
	int ret;

	*fresh = !p->entry;
	if (p->image || access_elsewhere(p)) {
		ret = access_fetch(v, p);
		if (ret)
			return ret;
		in = (struct vmem_install){
		    .fill = VMEM_FILL_STORE, .content = v->back.page_buf, .record = true};
	} else if (*fresh) {
		in.record = true;
	}
	ret = vmem_install(v, p, &in);
	if (!ret)
		vmem_page_at(v, p->idx, p);
	return ret;
}

/* Write one page's part of a span: a page recorded here is dropped again
 * if its data could not be written, so the table never holds a frame
 * with nothing behind it. */
static int access_write_page(struct vmem *v, uint64_t idx, uint64_t gpa, const uint8_t *buf,
			     size_t len)
{
	struct vmem_page p;
	bool fresh;
	int ret;

	vmem_page_at(v, idx, &p);
	ret = access_own_page(v, &p, &fresh);
	if (ret)
		return ret;
	ret = vmem_pio(vmem_pwrite, frame_db_fd(v->db), (void *)buf, len, access_offset(&p, gpa));
	if (ret && fresh)
		vmem_install(v, &p, &(struct vmem_install){.fill = VMEM_FILL_EMPTY});
	else if (fresh)
		v->stats.vmm_filled_pages++;
	return ret;
}

/* Under memory pressure a page that found no frame is retried once the
 * pager freed some. */
int vmem_write(struct vmem *v, uint64_t gpa, const void *buf, size_t len)
{
	int64_t idx = access_span(v, gpa, len);
	const uint8_t *p = buf;
	uint64_t i;
	int ret = 0;

	if (idx < 0)
		return (int)idx;
	pthread_mutex_lock(&v->lock);
	for (i = idx; len && !ret; i++) {
		size_t n = EPT_PAGE_SIZE - gpa % EPT_PAGE_SIZE;

		n = n < len ? n : len;
		ret = access_write_page(v, i, gpa, p, n);
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
	int64_t idx = access_span(v, gpa, len);
	struct vmem_page p;

	if (idx < 0 || (gpa | len) % EPT_PAGE_SIZE)
		return idx < 0 ? (int)idx : -EINVAL;
	pthread_mutex_lock(&v->lock);
	for (uint64_t i = 0; i < len >> EPT_PAGE_SHIFT; i++) {
		vmem_page_at(v, idx + i, &p);
		vmem_install(v, &p, &(struct vmem_install){.fill = VMEM_FILL_EMPTY});
	}
	v->stats.discarded_pages += len >> EPT_PAGE_SHIFT;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int vmem_copy_page(struct vmem *v, uint64_t dst, uint64_t src)
{
	static __thread uint8_t page[EPT_PAGE_SIZE];
	int64_t s = access_span(v, src, EPT_PAGE_SIZE);
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

int vmem_set_source_page(struct vmem *v, uint64_t gpa, uint64_t index)
{
	int64_t idx = access_span(v, gpa, EPT_PAGE_SIZE);
	int ret = 0;

	if (idx < 0)
		return (int)idx;
	if (!v->back.source || gpa % EPT_PAGE_SIZE || index > EPT_FRAME_MASK >> EPT_PAGE_SHIFT)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	if (ept_get(v->table, gpa))
		ret = -EEXIST;
	else if (!(ret = ept_set(v->table, gpa, ept_entry(index, EPT_SW_SNAP))))
		v->stats.source_pages++;
	pthread_mutex_unlock(&v->lock);
	return ret;
}
