/* vmm/gmem.c: guest RAM, see gmem.h. */
#include "gmem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm_abi.h"
#include "err.h"

int gmem_layout(uint64_t size, struct gmem_region out[GMEM_MAX_REGIONS])
{
	uint64_t low = size < VMM_LOW_RAM_END ? size : VMM_LOW_RAM_END;

	memset(out, 0, sizeof(*out) * GMEM_MAX_REGIONS);
	out[0].gpa = 0;
	out[0].size = low;
	if (size == low)
		return 1;
	out[1].gpa = VMM_HIGH_RAM_BASE;
	out[1].size = size - low;
	return 2;
}

int gmem_init(struct gmem *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	m->nr_regions = gmem_layout(size, m->region);
	for (int i = 0; i < m->nr_regions; i++) {
		struct gmem_region *r = &m->region[i];
		void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED) {
			int ret = err_sys("guest memory", "mmap");

			gmem_destroy(m);
			return ret;
		}
		r->hva = p;
	}
	return 0;
}

void gmem_destroy(struct gmem *m)
{
	for (int i = 0; i < m->nr_regions; i++)
		if (m->region[i].hva)
			munmap(m->region[i].hva, m->region[i].size);
	memset(m, 0, sizeof(*m));
}

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->nr_regions; i++) {
		const struct gmem_region *r = &m->region[i];

		/* Written to avoid overflow for any gpa and len. */
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int gmem_discard(struct gmem *m, uint64_t gpa, uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p || (gpa | len) % GMEM_PAGE_SIZE)
		return -EINVAL;
	if (madvise(p, len, MADV_DONTNEED) < 0)
		return -errno;
	return 0;
}
