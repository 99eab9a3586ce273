/* vmm/guest_ram.c: guest RAM, see guest_ram.h. */
#include "guest_ram.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm_abi.h"
#include "err.h"
#include "uffd.h"

int guest_ram_layout(uint64_t size, struct guest_ram_region out[GUEST_RAM_MAX_REGIONS])
{
	uint64_t low = size < VMM_LOW_RAM_END ? size : VMM_LOW_RAM_END;

	memset(out, 0, sizeof(*out) * GUEST_RAM_MAX_REGIONS);
	out[0].gpa = 0;
	out[0].size = low;
	if (size == low)
		return 1;
	out[1].gpa = VMM_HIGH_RAM_BASE;
	out[1].size = size - low;
	return 2;
}

const char *guest_ram_manager_name(enum guest_ram_manager mm)
{
	return mm == GUEST_RAM_MANAGER_KERNEL ? "kernel" : "vmm";
}

static int guest_ram_init_kernel(struct guest_ram *m)
{
	for (int i = 0; i < m->nr_regions; i++) {
		struct guest_ram_region *r = &m->region[i];
		void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED)
			return err_sys("guest memory", "mmap");
		r->hva = p;
	}
	return 0;
}

/* The reclaimer, when there is swap or sampling; it takes the swap file. */
static int guest_ram_init_reclaim(struct guest_ram *m, const struct guest_ram_params *p)
{
	struct reclaim_config rc = {
	    .db = m->db,
	    .swap = p->swap,
	    .wss_period_ms = p->wss_period_ms,
	    .wss_samples = p->wss_samples,
	};
	char why[300];
	int ret;

	if (!p->swap && !p->wss_period_ms)
		return 0;
	ret = reclaim_create(&m->reclaim, &rc, why, sizeof(why));
	return ret ? err_errno(-ret, "reclaim", "%s", why) : 0;
}

static void guest_ram_set_ranges(const struct guest_ram *m, struct vmem_range *ranges)
{
	for (int i = 0; i < m->nr_regions; i++)
		ranges[i] = (struct vmem_range){m->region[i].gpa, m->region[i].size};
}

static int guest_ram_vmem_failed(int ret)
{
	if (ret == -EPERM)
		return err_errno(
		    EPERM, "guest memory",
		    "userfaultfd is not permitted to this user: set the sysctl "
		    "vm.unprivileged_userfaultfd=1, or give this user read-write access "
		    "to /dev/userfaultfd, or run with --memory-manager=kernel");
	return err_errno(-ret, "guest memory",
			 "cannot set up the VMM's second level (userfaultfd on shmem): %s",
			 strerror(-ret));
}

int guest_ram_check_manager(enum guest_ram_manager mm)
{
	int64_t r;

	if (mm != GUEST_RAM_MANAGER_VMM)
		return 0;
	r = uffd_probe_features();
	return r < 0 ? guest_ram_vmem_failed((int)r) : 0;
}

void guest_ram_refresh_views(struct guest_ram *m)
{
	for (int i = 0; i < m->nr_regions; i++)
		m->region[i].hva = vmem_view(m->vmem, i);
}

static int guest_ram_init_views(struct guest_ram *m, const struct guest_ram_params *p)
{
	int ret;

	guest_ram_refresh_views(m);
	if (m->reclaim && (ret = reclaim_add_vm(m->reclaim, m->vmem, p->oom_protect)))
		return err_errno(-ret, "reclaim", "cannot add the VM: %s", strerror(-ret));
	return 0;
}

static uint64_t guest_ram_store_frames(uint64_t pages)
{
	uint64_t max = FRAME_NONE - 1;

	return pages > max / (2 + GUEST_RAM_FORK_MAX) ? max : pages * (2 + GUEST_RAM_FORK_MAX);
}

int guest_ram_host_create(uint64_t size, uint64_t host_mem, struct host **out)
{
	uint64_t pages = size / EPT_PAGE_SIZE;
	/* Room for fork children; the records of frames never used cost no
	 * memory. */
	int ret = host_create(out, guest_ram_store_frames(pages),
			      (host_mem ? host_mem : size) / EPT_PAGE_SIZE);

	return ret ? err_errno(-ret, "frame store", "cannot create it for %lu pages: %s",
			       (unsigned long)pages, strerror(-ret))
		   : 0;
}

static int guest_ram_init_vmm(struct guest_ram *m, const struct guest_ram_params *p)
{
	struct vmem_range ranges[GUEST_RAM_MAX_REGIONS];
	uint64_t budget = (p->host_mem ? p->host_mem : m->size) / EPT_PAGE_SIZE;
	struct vmem_config cfg = {
	    .ranges = ranges,
	    .nr_ranges = m->nr_regions,
	    .handler_cpu = p->handler_cpu,
	    .max_window = p->fault_around,
	    .on_fatal = p->on_fatal,
	    .arg = p->arg,
	    .swap_readahead = p->swap_readahead,
	    .source = p->source,
	    .source_arg = p->source_arg,
	};
	int ret;

	m->host = p->host;
	ret = m->host ? 0 : guest_ram_host_create(m->size, p->host_mem, &m->host);
	if (ret) {
		swapfile_close(p->swap);
		return ret;
	}
	m->own_host = !p->host;
	m->db = host_frames(m->host);
	m->budget_frames = budget;
	ret = guest_ram_init_reclaim(m, p);
	if (ret)
		return ret;
	if (m->reclaim) {
		cfg.pager = reclaim_pager(m->reclaim);
		cfg.pager_arg = m->reclaim;
	}
	guest_ram_set_ranges(m, ranges);
	ret = host_vm_create(m->host, &cfg, &m->vmem);
	return ret ? guest_ram_vmem_failed(ret) : guest_ram_init_views(m, p);
}

int guest_ram_init_fork(struct guest_ram *m, struct guest_ram *parent,
			const struct guest_ram_params *p)
{
	struct vmem_range ranges[GUEST_RAM_MAX_REGIONS];
	struct vmem_config cfg = {
	    .ranges = ranges,
	    .handler_cpu = p->handler_cpu,
	    .max_window = p->fault_around,
	    .on_fatal = p->on_fatal,
	    .arg = p->arg,
	    .image = parent->vmem ? vmem_fork_image(parent->vmem) : NULL,
	};
	int ret;

	memset(m, 0, sizeof(*m));
	if (!cfg.image)
		return err_input("fork", "the VM has no fork image (it was not forked)");
	m->size = parent->size;
	m->manager = GUEST_RAM_MANAGER_VMM;
	m->nr_regions = guest_ram_layout(m->size, m->region);
	cfg.nr_ranges = m->nr_regions;
	guest_ram_set_ranges(m, ranges);
	m->host = parent->host;
	m->db = parent->db;
	m->child = true;
	m->budget_frames = parent->budget_frames;
	if (parent->reclaim) {
		cfg.pager = reclaim_pager(parent->reclaim);
		cfg.pager_arg = parent->reclaim;
		cfg.swap_readahead = 1;
	}
	ret = host_vm_create(m->host, &cfg, &m->vmem);
	if (ret) {
		guest_ram_vmem_failed(ret);
		guest_ram_destroy(m);
		return ret;
	}
	frame_db_add_budget(m->db, m->budget_frames);
	m->reclaim = parent->reclaim;
	return guest_ram_init_views(m, p);
}

int guest_ram_init(struct guest_ram *m, const struct guest_ram_params *p)
{
	int ret;

	memset(m, 0, sizeof(*m));
	if (p->swap && p->manager != GUEST_RAM_MANAGER_VMM) {
		swapfile_close(p->swap);
		return err_input("--swap", "applies to --memory-manager=vmm only");
	}
	m->size = p->size;
	m->manager = p->manager;
	m->nr_regions = guest_ram_layout(p->size, m->region);
	ret = p->manager == GUEST_RAM_MANAGER_KERNEL ? guest_ram_init_kernel(m)
						     : guest_ram_init_vmm(m, p);
	if (ret)
		guest_ram_destroy(m);
	return ret;
}

int guest_ram_start(struct guest_ram *m)
{
	int ret;

	if (!m->vmem)
		return 0;
	ret = vmem_start(m->vmem);
	if (ret)
		return err_errno(-ret, "guest memory", "cannot start the fault thread");
	ret = m->reclaim && !m->child ? reclaim_start(m->reclaim) : 0; /* a child's runs */
	return ret ? err_errno(-ret, "reclaim", "cannot start the reclaim thread") : 0;
}

void guest_ram_destroy(struct guest_ram *m)
{
	if (m->manager == GUEST_RAM_MANAGER_KERNEL) {
		for (int i = 0; i < m->nr_regions; i++)
			if (m->region[i].hva)
				munmap(m->region[i].hva, m->region[i].size);
	}
	if (m->reclaim && m->vmem)
		reclaim_remove_vm(m->reclaim, m->vmem);
	if (m->host && m->child) {
		host_vm_destroy(m->host, m->vmem);
	} else if (m->host) {
		host_vm_destroy(m->host, m->vmem);
		reclaim_destroy(m->reclaim); /* after the VMs: they put their slots */
		if (m->own_host)
			host_destroy(m->host);
	}
	memset(m, 0, sizeof(*m));
}

/* The region holding all of [gpa, gpa + len), or NULL. */
static const struct guest_ram_region *guest_ram_region_of(const struct guest_ram *m, uint64_t gpa,
							  uint64_t len)
{
	for (int i = 0; i < m->nr_regions; i++) {
		const struct guest_ram_region *r = &m->region[i];

		/* Written to avoid overflow for any gpa and len. */
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

/* Kernel manager: host address of [gpa, gpa + len) within one region. */
static uint8_t *guest_ram_hva(const struct guest_ram *m, uint64_t gpa, uint64_t len)
{
	const struct guest_ram_region *r = guest_ram_region_of(m, gpa, len);

	return r ? r->hva + (gpa - r->gpa) : NULL;
}

bool guest_ram_contains(const struct guest_ram *m, uint64_t gpa, uint64_t len)
{
	return guest_ram_region_of(m, gpa, len) != NULL;
}

int guest_ram_read(const struct guest_ram *m, uint64_t gpa, void *buf, size_t len)
{
	const uint8_t *p;

	if (m->vmem)
		return vmem_read(m->vmem, gpa, buf, len);
	p = guest_ram_hva(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int guest_ram_write(struct guest_ram *m, uint64_t gpa, const void *buf, size_t len)
{
	uint8_t *p;

	if (m->vmem)
		return vmem_write(m->vmem, gpa, buf, len);
	p = guest_ram_hva(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

int guest_ram_discard(struct guest_ram *m, uint64_t gpa, uint64_t len)
{
	void *p;

	if ((gpa | len) % EPT_PAGE_SIZE)
		return -EINVAL;
	if (m->vmem)
		return vmem_discard(m->vmem, gpa, len);
	p = guest_ram_hva(m, gpa, len);
	if (!p)
		return -EFAULT;
	return madvise(p, len, MADV_DONTNEED) < 0 ? -errno : 0;
}

int guest_ram_copy_page(struct guest_ram *m, uint64_t dst, uint64_t src)
{
	uint8_t *d, *s;

	if ((dst | src) % EPT_PAGE_SIZE)
		return -EINVAL;
	if (m->vmem)
		return vmem_copy_page(m->vmem, dst, src);
	d = guest_ram_hva(m, dst, EPT_PAGE_SIZE);
	s = guest_ram_hva(m, src, EPT_PAGE_SIZE);
	if (!d || !s)
		return -EFAULT;
	if (d != s)
		memcpy(d, s, EPT_PAGE_SIZE);
	return 0;
}
