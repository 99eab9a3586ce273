/* vmm/boot/devtree.h: the flattened device tree handed to the guest.
 *
 * Built with libfdt: /memory@0 with one reg pair per RAM region,
 * /chosen/bootargs (and the initrd's range, as Linux names it), /cpus with the TSC frequency, and
 * the /vmm node that names the VMM's ports and page services (include/vmm_abi.h).
 */
#ifndef VMM_DEVTREE_H
#define VMM_DEVTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_ram.h"

struct devtree_params {
	const struct guest_ram_region *regions;
	int nr_regions;
	const char *bootargs;
	uint64_t tsc_hz;       /* 0: unknown, property left out */
	unsigned nr_cpus;      /* cpu@0 .. cpu@(nr_cpus - 1); 0 counts as 1 */
	bool hcall_services;   /* advertise the hypercall and fork identity ports, the features */
	uint64_t counters_gpa; /* the guest-counters page (vmm_abi.h); 0: none */
	/* The initrd's GPA range: /chosen's linux,initrd-start and -end, and a
	 * reserve-map entry; start == end: none. */
	uint64_t initrd_start, initrd_end;
};

/* Write the tree into buf: 0, or -ENOSPC if it does not fit. */
int devtree_build(void *buf, size_t size, const struct devtree_params *p);

#endif
