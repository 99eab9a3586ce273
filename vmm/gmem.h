/* vmm/gmem.h: guest RAM as the VMM sees it.
 *
 * RAM is one or two regions: [0, min(size, VMM_LOW_RAM_END)) and, for
 * larger guests, the rest from VMM_HIGH_RAM_BASE, leaving a gap below
 * 4 GiB for KVM's TSS and identity-map pages. Every guest-supplied GPA is
 * translated through gmem_ptr(), which refuses ranges outside RAM.
 */
#ifndef VMM_GMEM_H
#define VMM_GMEM_H

#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 2
#define GMEM_PAGE_SIZE 4096ULL
#define GMEM_MIN_SIZE (2ULL << 20)
#define GMEM_MAX_SIZE (256ULL << 30) /* the guest identity-maps RAM below 512 GiB */

struct gmem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct gmem {
	struct gmem_region region[GMEM_MAX_REGIONS];
	int nr_regions;
	uint64_t size; /* total bytes of RAM */
};

/* Split size bytes of RAM into regions (hva left NULL); returns the count. */
int gmem_layout(uint64_t size, struct gmem_region out[GMEM_MAX_REGIONS]);
/* Lay out and map size bytes of zeroed RAM: 0 or -errno. */
int gmem_init(struct gmem *m, uint64_t size);
void gmem_destroy(struct gmem *m);

/* Host address of [gpa, gpa + len), or NULL if any of it is not RAM. */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);
/* Drop pages so that their next read returns zeros: 0 or -errno. */
int gmem_discard(struct gmem *m, uint64_t gpa, uint64_t len);

#endif
