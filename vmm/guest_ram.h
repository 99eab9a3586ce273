/* vmm/guest_ram.h: guest RAM as the VMM sees it.
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
 * The VMM's own accesses go through guest_ram_read()/guest_ram_write(),
 * which refuse ranges outside RAM; guest RAM starts zeroed.
 *
 * guest_ram is the VMM's side: the layout, the choice of manager, checked
 * access for the loader, boot data and hypercalls. ept/vmem.h is the
 * second level's side: one VM's table, view and fault thread.
 */
#ifndef VMM_GUEST_RAM_H
#define VMM_GUEST_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ept.h"
#include "frame.h"
#include "host.h"
#include "reclaim.h"
#include "vmem.h"

#define GUEST_RAM_MAX_REGIONS 2
#define GUEST_RAM_MAX_SIZE    (256ULL << 30) /* the guest identity-maps RAM below 512 GiB */
/* Fork children of one VM, at most: the frame store has room for the VM's
 * region, its image and one region per child (records cost nothing until
 * used). */
#define GUEST_RAM_FORK_MAX 64

enum guest_ram_manager {
	GUEST_RAM_MANAGER_VMM,
	GUEST_RAM_MANAGER_KERNEL,
};

struct guest_ram_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva; /* what KVM maps (the view) */
};

struct guest_ram_params {
	uint64_t size;
	enum guest_ram_manager manager;
	uint64_t host_mem;	/* budget in bytes (VMM manager); 0: size */
	int handler_cpu;	/* fault thread's CPU, -1: not pinned */
	unsigned fault_around;	/* max pages per second-level fault */
	vmem_fatal_fn on_fatal; /* the VM cannot go on */
	void *arg;
	/* Overcommit (VMM manager): with a swap file the reclaimer keeps the
	 * budget by swapping; sampling estimates the working set either way. */
	struct swapfile *swap; /* opened; guest_ram owns it from here on */
	bool oom_protect;
	unsigned swap_readahead;	     /* pages per swap-in, at most */
	unsigned wss_period_ms, wss_samples; /* 0: no sampling */
	/* Lazy restore (VMM manager): pages set with vmem_set_source_page
	 * come from here on first touch; NULL: none. */
	const struct vmem_source_ops *source;
	void *source_arg;
	/* The process's frame store (guest_ram_host_create), shared with the
	 * VM's fork children and outliving them; NULL: one of its own. */
	struct host *host;
};

struct guest_ram {
	struct guest_ram_region region[GUEST_RAM_MAX_REGIONS];
	int nr_regions;
	uint64_t size; /* total bytes of RAM */
	enum guest_ram_manager manager;
	struct host *host;   /* the frame store and VM ids (VMM manager) */
	struct frame_db *db; /* the host's frames */
	struct vmem *vmem;
	struct reclaimer *reclaim; /* NULL: no swap and no sampling */
	uint64_t budget_frames;	   /* its share of the store's budget: a child brings as much */
	bool child;		   /* a fork child: the host and reclaimer are its parent's */
	bool own_host;		   /* host was made for this RAM, and goes with it */
};

/* Split size bytes of RAM into regions (hva left NULL); returns the count. */
int guest_ram_layout(uint64_t size, struct guest_ram_region out[GUEST_RAM_MAX_REGIONS]);
/* Whether this user may have the memory manager mm (userfaultfd for the
 * VMM's), asked before /dev/kvm is opened so that the message names what
 * is missing: 0, or -errno with the message printed. */
int guest_ram_check_manager(enum guest_ram_manager mm);
int guest_ram_init(struct guest_ram *m, const struct guest_ram_params *p);
/* The frame store of a process whose first VM has size bytes of RAM and a
 * budget of host_mem bytes (0: size), with room for its fork children:
 * main makes it once and passes it in guest_ram_params.host. 0 or -errno,
 * printed; host_destroy releases it once every VM on it is gone. */
int guest_ram_host_create(uint64_t size, uint64_t host_mem, struct host **out);
/* A fork child's RAM (VMM manager): a view of parent's fork image, on
 * parent's store and under its reclaimer (its swap), which must outlive
 * it. The store's budget grows by parent's share. p gives the fault
 * thread's settings and on_fatal. */
int guest_ram_init_fork(struct guest_ram *m, struct guest_ram *parent,
			const struct guest_ram_params *p);
/* Start serving faults; before this only the VMM may touch RAM. */
int guest_ram_start(struct guest_ram *m);
/* The view moved (vmem_fork_freeze): each region's hva read again; the
 * KVM memory slots are the caller's to move (vm_move_memory). */
void guest_ram_refresh_views(struct guest_ram *m);
void guest_ram_destroy(struct guest_ram *m);

bool guest_ram_contains(const struct guest_ram *m, uint64_t gpa, uint64_t len);
/* 0, -EFAULT outside RAM (or across a region end), -ENOMEM over budget. */
int guest_ram_read(const struct guest_ram *m, uint64_t gpa, void *buf, size_t len);
int guest_ram_write(struct guest_ram *m, uint64_t gpa, const void *buf, size_t len);
/* Drop whole pages: their next read returns zeros. */
int guest_ram_discard(struct guest_ram *m, uint64_t gpa, uint64_t len);
int guest_ram_copy_page(struct guest_ram *m, uint64_t dst, uint64_t src);

const char *guest_ram_manager_name(enum guest_ram_manager mm);

#endif
