/* tests/check_gk_tlb.c: the guest kernel's address-space switches and TLB
 * invalidation (guest-kernel/gk_tlb.c, included) against a model CPU
 * with a TLB tagged by PCID.
 *
 * No CPU this project runs on offers PCIDs (PVM's KVM and QEMU 7.2's TCG
 * lack them), so the PCID bookkeeping is tested here: the model stands
 * for gk_arch.h's instructions (CR3 with its no-flush bit, CR4.PCIDE,
 * INVLPG, INVPCID, CPUID) and caches a translation per (PCID, page) as a
 * real TLB may, keeping it until something invalidates it. Random
 * address spaces change their page tables the way the kernel does and
 * call gk_tlb as gk_mm.c does; every access through the model TLB must
 * then give what the space's page table says now. With and without
 * PCIDs and INVPCID; and a kernel that skips invalidation (tlb_skip)
 * must be caught by the model. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/* ---- the model CPU: gk_tlb.c's instructions, instead of gk_arch.h */

#define GK_ARCH_H
#define SLOTS	5
#define PAGES	16
#define PCIDS	(SLOTS + 1) /* PCID 0 is the kernel's */
#define NOFLUSH (1ULL << 63)

static struct {
	bool has_pcid, has_invpcid, pcide;
	uint64_t pml4;	       /* loaded */
	unsigned pcid;	       /* loaded */
	int tlb[PCIDS][PAGES]; /* cached frame + 1, 0: nothing cached */
	uint64_t hits_after_switch;
} cpu;

static void cpu_flush_pcid(unsigned pcid)
{
	memset(cpu.tlb[pcid], 0, sizeof(cpu.tlb[pcid]));
}

static inline void gk_arch_cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	*a = *b = *c = *d = 0;
	if (leaf == 1 && cpu.has_pcid)
		*c = 1u << 17;
	if (leaf == 7 && cpu.has_invpcid)
		*b = 1u << 10;
}

static inline uint64_t gk_arch_read_cr4(void)
{
	return cpu.pcide ? 1ULL << 17 : 0;
}

static inline void gk_arch_write_cr4(uint64_t v)
{
	ck_assert(cpu.has_pcid);
	ck_assert_uint_eq(cpu.pcid, 0); /* CR4.PCIDE needs CR3's PCID 0 */
	cpu.pcide = v & 1ULL << 17;
}

static inline void gk_arch_write_cr3(uint64_t v)
{
	cpu.pml4 = v & ~NOFLUSH & ~0xfffULL;
	cpu.pcid = cpu.pcide ? (unsigned)(v & 0xfff) : 0;
	ck_assert_uint_lt(cpu.pcid, PCIDS);
	if (!cpu.pcide)
		memset(cpu.tlb, 0, sizeof(cpu.tlb));
	else if (!(v & NOFLUSH))
		cpu_flush_pcid(cpu.pcid);
}

static inline void gk_arch_invlpg(uint64_t va)
{
	cpu.tlb[cpu.pcid][va % PAGES] = 0; /* the current PCID only, as INVLPG does */
}

static inline void gk_arch_invpcid(uint64_t type, uint64_t pcid, uint64_t va)
{
	ck_assert(cpu.has_invpcid);
	if (type == 0)
		cpu.tlb[pcid][va % PAGES] = 0;
	else
		cpu_flush_pcid((unsigned)pcid);
}

#include "gk_tlb.c"

/* ---- address spaces as the kernel keeps them */

struct space {
	struct gk_tlb_space tlb;
	int pte[PAGES]; /* frame + 1, 0: not mapped */
};

static struct gk_tlb t;
static struct space sp[SLOTS];
static uint64_t next_pml4;

#define KERNEL_PML4 0x1000ULL

static void space_new(unsigned slot)
{
	struct space *s = &sp[slot];

	if (t.loaded == &s->tlb)
		gk_tlb_load_kernel(&t); /* as gk_mm_destroy does */
	for (int i = 0; i < PAGES; i++)
		s->pte[i] = random() % 2 ? 1 + (int)(random() % 1000) : 0;
	gk_tlb_space_init(&t, &s->tlb, next_pml4 += 0x1000, slot);
}

static struct space *loaded(void)
{
	for (int i = 0; i < SLOTS; i++)
		if (t.loaded == &sp[i].tlb)
			return &sp[i];
	return NULL;
}

/* An access through the model TLB; false if it saw a stale translation. */
static bool access_ok(int va)
{
	struct space *s = loaded();
	int *e;

	if (!s)
		return true;
	ck_assert_uint_eq(cpu.pml4, s->tlb.pml4);
	e = &cpu.tlb[cpu.pcid][va];
	if (*e) {
		cpu.hits_after_switch++;
		return *e == s->pte[va];
	}
	*e = s->pte[va]; /* a walk caches what is mapped (and, here, what is not) */
	return true;
}

/* Random operations; the step that first saw a stale translation, or -1. */
static int run(int steps)
{
	for (int step = 0; step < steps; step++) {
		unsigned slot = random() % SLOTS, r = random() % 100;
		struct space *s = &sp[slot];
		int va = random() % PAGES;

		if (r < 25) {
			gk_tlb_load(&t, &s->tlb);
		} else if (r < 60) {
			if (!access_ok(va))
				return step;
		} else if (r < 75) { /* one PTE: unmap, map, another frame, a protection */
			s->pte[va] = random() % 3 ? 1 + (int)(random() % 1000) : 0;
			gk_tlb_flush_page(&t, &s->tlb, (uint64_t)va);
		} else if (r < 82) { /* many PTEs: fork, a large munmap */
			for (int i = 0; i < PAGES; i++)
				if (random() % 2)
					s->pte[i] = 1 + (int)(random() % 1000);
			gk_tlb_flush_space(&t, &s->tlb);
		} else if (r < 90) { /* exit, and a new process in the slot (its PCID) */
			space_new(slot);
		} else if (r < 93) {
			gk_tlb_load_kernel(&t);
		}
	}
	return -1;
}

static void setup_cpu(bool pcid, bool invpcid)
{
	memset(&cpu, 0, sizeof(cpu));
	memset(&t, 0, sizeof(t));
	cpu.has_pcid = pcid;
	cpu.has_invpcid = invpcid;
	next_pml4 = 0x100000;
	gk_tlb_init(&t, KERNEL_PML4, true);
	ck_assert_int_eq(t.pcid, pcid);
	ck_assert_int_eq(t.invpcid, pcid && invpcid);
	for (unsigned i = 0; i < SLOTS; i++)
		space_new(i);
}

static const struct {
	bool pcid, invpcid;
} configs[] = {{false, false}, {true, false}, {true, true}};

START_TEST(tlb_never_serves_a_stale_translation)
{
	srandom(testlib_seed("tlb_never_serves_a_stale_translation", "GK_TLB_TEST_SEED") + _i);
	setup_cpu(configs[_i].pcid, configs[_i].invpcid);
	ck_assert_int_eq(run(50000), -1);
	/* With PCIDs, translations outlive switches: nothing is flushed for nothing. */
	if (configs[_i].pcid)
		ck_assert_uint_gt(t.stats.cr3_loads, t.stats.flush_pcid);
	ck_assert_uint_gt(cpu.hits_after_switch, 0);
}
END_TEST

START_TEST(tlb_model_catches_a_kernel_that_skips_invalidation)
{
	srandom(
	    testlib_seed("tlb_model_catches_a_kernel_that_skips_invalidation", "GK_TLB_TEST_SEED") +
	    _i);
	setup_cpu(configs[_i].pcid, configs[_i].invpcid);
	t.skip = true;
	ck_assert_int_ge(run(50000), 0);
}
END_TEST

START_TEST(tlb_pcid_off_asked_runs_without_pcids)
{
	memset(&cpu, 0, sizeof(cpu));
	memset(&t, 0, sizeof(t));
	cpu.has_pcid = cpu.has_invpcid = true;
	gk_tlb_init(&t, KERNEL_PML4, false);
	ck_assert(!t.pcid);
	ck_assert(!cpu.pcide);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gk_tlb");
	TCase *tc = tcase_create("tlb");

	tcase_add_loop_test(tc, tlb_never_serves_a_stale_translation, 0, 3);
	tcase_add_loop_test(tc, tlb_model_catches_a_kernel_that_skips_invalidation, 0, 3);
	tcase_add_test(tc, tlb_pcid_off_asked_runs_without_pcids);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
