/* vmm/gmem.h: guest RAM as the VMM sees it.
 *
 * RAM is one or two regions: [0, min(size, VMM_LOW_RAM_END)) and, for
 * larger guests, the rest from VMM_HIGH_RAM_BASE, leaving a gap below
 * 4 GiB for KVM's TSS and identity-map pages.
 *
 * Two memory managers sit behind it:
 *   vmm     the VMM's own second level (ept/vmem.h): every page the guest
 *           touches is a fault the VMM serves, under a host memory budget
 *   kernel  plain anonymous memory; the host kernel serves the faults
 *           (the baseline for comparison)
 * The VMM's own accesses go through gmem_read()/gmem_write(), which refuse
 * ranges outside RAM; guest RAM starts zeroed.
 */
#ifndef VMM_GMEM_H
#define VMM_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "host.h"
#include "vmem.h"

#define GMEM_MAX_REGIONS 2
#define GMEM_PAGE_SIZE	 4096ULL
#define GMEM_MAX_SIZE	 (256ULL << 30) /* the guest identity-maps RAM below 512 GiB */

enum gmem_manager {
	GMEM_MANAGER_VMM,
	GMEM_MANAGER_KERNEL,
};

struct gmem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva; /* what KVM maps (the view) */
};

struct gmem_params {
	uint64_t size;
	enum gmem_manager manager;
	uint64_t host_mem;	/* budget in bytes (VMM manager); 0: size */
	int handler_cpu;	/* fault thread's CPU, -1: not pinned */
	unsigned fault_around;	/* max pages per second-level fault */
	vmem_fatal_fn on_fatal; /* the VM cannot go on */
	void *arg;
};

struct gmem {
	struct gmem_region region[GMEM_MAX_REGIONS];
	int nr_regions;
	uint64_t size; /* total bytes of RAM */
	enum gmem_manager manager;
	struct host *host;   /* the frame store and VM ids (VMM manager) */
	struct frame_db *db; /* the host's frames */
	struct vmem *vmem;
};

/* Split size bytes of RAM into regions (hva left NULL); returns the count. */
int gmem_layout(uint64_t size, struct gmem_region out[GMEM_MAX_REGIONS]);
int gmem_init(struct gmem *m, const struct gmem_params *p);
/* Start serving faults; before this only the VMM may touch RAM. */
int gmem_start(struct gmem *m);
void gmem_destroy(struct gmem *m);

bool gmem_contains(const struct gmem *m, uint64_t gpa, uint64_t len);
/* 0, -EFAULT outside RAM (or across a region end), -ENOMEM over budget. */
int gmem_read(struct gmem *m, uint64_t gpa, void *buf, size_t len);
int gmem_write(struct gmem *m, uint64_t gpa, const void *buf, size_t len);
/* Drop whole pages: their next read returns zeros. */
int gmem_discard(struct gmem *m, uint64_t gpa, uint64_t len);
int gmem_copy_page(struct gmem *m, uint64_t dst, uint64_t src);

const char *gmem_manager_name(enum gmem_manager mm);

#endif
