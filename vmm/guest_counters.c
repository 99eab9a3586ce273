/* vmm/guest_counters.c: read and check the guest's counters page (see guest_counters.h). */
#include "guest_counters.h"

#include <string.h>

#include "guest_ram.h"

/* vmm_abi.h's check: over every word before check, rotate by 7 and xor. */
static uint64_t guest_counters_sum(const struct vmm_guest_counters *c)
{
	const uint64_t *w = (const uint64_t *)c;
	uint64_t x = 0;

	for (size_t i = 0; i < offsetof(struct vmm_guest_counters, check) / 8; i++)
		x = (x << 7 | x >> 57) ^ w[i];
	return x;
}

static bool guest_counters_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Values no kernel could have counted: the first one is named. */
static const char *guest_counters_impossible(const struct vmm_guest_counters *c, uint64_t ram_pages)
{
	if (c->total_pages > ram_pages)
		return "total_pages is more than the guest's RAM";
	if (c->resident_pages > c->total_pages)
		return "resident_pages is more than total_pages";
	if (c->cow_copies + c->cow_reuses > c->fault_cow || c->cow_copies > c->fault_cow)
		return "cow_copies + cow_reuses is more than fault_cow";
	if (c->procs_live > c->procs_created || c->oom_kills > c->procs_created)
		return "procs_live or oom_kills is more than procs_created";
	if (c->cache_hits + c->cache_misses < c->cache_hits)
		return "cache_hits + cache_misses overflows";
	return NULL;
}

enum guest_counters_state guest_counters_check(const void *page, size_t len, uint64_t ram_pages,
					       struct vmm_guest_counters *out, const char **why)
{
	struct vmm_guest_counters c;

	if (len < sizeof(c)) {
		*why = "shorter than struct vmm_guest_counters";
		return GC_BAD;
	}
	if (guest_counters_zero(page, sizeof(c)))
		return GC_ABSENT;
	memcpy(&c, page, sizeof(c));
	*why = c.magic != VMM_GC_MAGIC		   ? "wrong magic"
	       : c.version != VMM_GC_VERSION	   ? "unknown version"
	       : c.size != sizeof(c)		   ? "wrong size"
	       : c.seq & 1			   ? NULL
	       : guest_counters_sum(&c) != c.check ? "check word does not match"
						   : guest_counters_impossible(&c, ram_pages);
	if (*why)
		return GC_BAD;
	if (c.seq & 1)
		return GC_TORN;
	*out = c;
	return GC_VALID;
}

static uint64_t guest_counters_ram_pages(const struct guest_ram *m)
{
	uint64_t bytes = 0;

	for (int i = 0; i < m->nr_regions; i++)
		bytes += m->region[i].size;
	return bytes / EPT_PAGE_SIZE;
}

enum guest_counters_state guest_counters_read(struct guest_counters *gc, const struct guest_ram *m,
					      uint64_t gpa, struct vmm_guest_counters *out,
					      const char **why)
{
	struct vmm_guest_counters copy;
	enum guest_counters_state st = GC_TORN;
	uint64_t seq;

	*why = NULL;
	__atomic_add_fetch(&gc->reads, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < GUEST_COUNTERS_TRIES && st == GC_TORN; i++) {
		if (guest_ram_read(m, gpa, &copy, sizeof(copy)) ||
		    guest_ram_read(m, gpa + offsetof(struct vmm_guest_counters, seq), &seq,
				   sizeof(seq))) {
			*why = "the page is outside guest RAM";
			st = GC_BAD;
			break;
		}
		/* The seq that was copied must still be there: nothing moved. */
		st = guest_counters_check(&copy, sizeof(copy), guest_counters_ram_pages(m), out,
					  why);
		if (st == GC_VALID && seq != copy.seq)
			st = GC_TORN;
	}
	if (st == GC_BAD)
		__atomic_add_fetch(&gc->bad, 1, __ATOMIC_RELAXED);
	if (st == GC_TORN) {
		__atomic_add_fetch(&gc->torn, 1, __ATOMIC_RELAXED);
		*why = "the guest was writing it at every try";
	}
	return st;
}

static json_t *guest_counters_values(const struct vmm_guest_counters *c)
{
	return json_pack(
	    "{s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:{s:I, s:I}, "
	    "s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}}",
	    "faults", "anonymous", (json_int_t)c->fault_anon, "file", (json_int_t)c->fault_file,
	    "cow", (json_int_t)c->fault_cow, "stack_growth", (json_int_t)c->fault_stack,
	    "protection", (json_int_t)c->fault_protection, "invalid", (json_int_t)c->fault_invalid,
	    "cow_copies", (json_int_t)c->cow_copies, "cow_reuses", (json_int_t)c->cow_reuses,
	    "page_cache", "hits", (json_int_t)c->cache_hits, "misses", (json_int_t)c->cache_misses,
	    "processes", "live", (json_int_t)c->procs_live, "created", (json_int_t)c->procs_created,
	    "oom_kills", (json_int_t)c->oom_kills, "tlb", "cr3_loads", (json_int_t)c->tlb_cr3_loads,
	    "flush_page", (json_int_t)c->tlb_flush_page, "flush_pcid",
	    (json_int_t)c->tlb_flush_pcid, "flush_all", (json_int_t)c->tlb_flush_all, "frames",
	    "total", (json_int_t)c->total_pages, "resident", (json_int_t)c->resident_pages);
}

json_t *guest_counters_json(struct guest_counters *gc, const struct guest_ram *m, uint64_t gpa)
{
	static const char *const states[] = {"valid", "not written", "bad", "torn"};
	struct vmm_guest_counters c;
	const char *why;
	enum guest_counters_state st = guest_counters_read(gc, m, gpa, &c, &why);
	json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:I}", "page_gpa", (json_int_t)gpa, "state",
			      states[st], "reads", (json_int_t)gc->reads, "bad_reads",
			      (json_int_t)gc->bad, "torn_reads", (json_int_t)gc->torn);

	if (o && why)
		json_object_set_new(o, "error", json_string(why));
	if (o && st == GC_VALID)
		json_object_update_new(o, guest_counters_values(&c));
	return o;
}

void guest_counters_print(struct guest_counters *gc, const struct guest_ram *m, uint64_t gpa,
			  FILE *f)
{
	struct vmm_guest_counters c;
	const char *why;

	if (guest_counters_read(gc, m, gpa, &c, &why) != GC_VALID)
		return;
	fprintf(f, " guest_faults=%lu/%lu/%lu/%lu cow_copies=%lu procs=%lu",
		(unsigned long)c.fault_anon, (unsigned long)c.fault_file,
		(unsigned long)c.fault_cow, (unsigned long)c.fault_stack,
		(unsigned long)c.cow_copies, (unsigned long)c.procs_live);
}
