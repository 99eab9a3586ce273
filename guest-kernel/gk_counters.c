/* guest-kernel/gk_counters.c: gather, publish and print the counters. */
#include "gk_counters.h"
#include "gk_arch.h"
#include "gk_kernel.h"
#include "gk_lib.h"

#define TSC_HZ_GUESS 2000000000ULL

void gk_counters_init(struct gk_kernel *k, uint64_t gpa)
{
	struct gk_counters *c = &k->counters;

	/* Only a page of the VMM's own area: never one the allocator hands out. */
	if (gpa && !(gpa % PAGE_SIZE) && gpa + PAGE_SIZE <= VMM_RESERVED_END)
		c->page = (struct vmm_guest_counters *)(uintptr_t)gpa;
	c->interval =
	    (k->boot.tsc_hz ? k->boot.tsc_hz : TSC_HZ_GUESS) / 1000000 * COUNTERS_INTERVAL_US;
}

void gk_counters_fill(struct gk_kernel *k, struct vmm_guest_counters *c)
{
	const struct gk_fault_stats *f = &k->faults;
	const struct gk_tlb_stats *t = &k->tlb.stats;

	c->magic = VMM_GC_MAGIC;
	c->version = VMM_GC_VERSION;
	c->size = sizeof(*c);
	c->fault_anon = f->anon;
	c->fault_cow = f->cow;
	c->fault_file = f->file;
	c->fault_stack = f->stack;
	c->fault_protection = f->protection;
	c->fault_invalid = f->invalid;
	c->cow_copies = f->cow_copies;
	c->cow_reuses = f->cow_reuses;
	c->cache_hits = k->cache.stats.hits;
	c->cache_misses = k->cache.stats.misses;
	c->procs_live = k->procs.live;
	c->procs_created = k->procs.created;
	c->oom_kills = k->procs.oom_kills;
	c->tlb_cr3_loads = t->cr3_loads;
	c->tlb_flush_page = t->flush_page;
	c->tlb_flush_pcid = t->flush_pcid;
	c->tlb_flush_all = t->flush_all;
	c->total_pages = k->frames.total;
	c->resident_pages = k->frames.total - k->frames.free;
}

/* The check word of vmm_abi.h over c's words before it, as they will
 * read once seq is seq. */
static uint64_t gk_counters_check(const struct vmm_guest_counters *c, uint64_t seq)
{
	const uint64_t *w = (const uint64_t *)c, *end = &c->check;
	uint64_t x = 0;

	for (; w < end; w++)
		x = (x << 7 | x >> 57) ^ (w == &c->seq ? seq : *w);
	return x;
}

void gk_counters_publish(struct gk_kernel *k)
{
	struct vmm_guest_counters *page = k->counters.page;
	uint64_t seq;

	if (!page)
		return;
	seq = page->seq + 1 + (page->seq & 1); /* the next odd number */
	page->seq = seq;
	__asm__ volatile("" ::: "memory"); /* x86 keeps stores in order; so must the compiler */
	gk_counters_fill(k, page);
	page->check = gk_counters_check(page, seq + 1);
	__asm__ volatile("" ::: "memory");
	page->seq = seq + 1;
	k->counters.last = gk_arch_rdtsc();
}

void gk_counters_tick(struct gk_kernel *k, uint64_t tsc)
{
	if (k->counters.page && tsc - k->counters.last > k->counters.interval)
		gk_counters_publish(k);
}

void gk_counters_line(struct gk_kernel *k)
{
	struct vmm_guest_counters c;

	gk_counters_fill(k, &c);
	gk_printf(&k->con,
		  "COUNTERS fault_anon=%lu fault_file=%lu fault_cow=%lu fault_stack=%lu "
		  "fault_protection=%lu fault_invalid=%lu cow_copies=%lu cow_reuses=%lu "
		  "cache_hits=%lu cache_misses=%lu procs=%lu oom_kills=%lu\n",
		  c.fault_anon, c.fault_file, c.fault_cow, c.fault_stack, c.fault_protection,
		  c.fault_invalid, c.cow_copies, c.cow_reuses, c.cache_hits, c.cache_misses,
		  c.procs_created, c.oom_kills);
	gk_printf(&k->con,
		  "COUNTERS tlb_cr3_loads=%lu tlb_flush_page=%lu tlb_flush_pcid=%lu "
		  "tlb_flush_all=%lu pcid=%d switches=%lu ticks=%lu resident_pages=%lu "
		  "total_pages=%lu\n",
		  c.tlb_cr3_loads, c.tlb_flush_page, c.tlb_flush_pcid, c.tlb_flush_all, k->tlb.pcid,
		  k->sched.switches, k->sched.ticks, c.resident_pages, c.total_pages);
}
