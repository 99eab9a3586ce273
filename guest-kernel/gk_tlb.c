/* guest-kernel/gk_tlb.c: CR3 loads, INVLPG and INVPCID (see gk_tlb.h). */
#include "gk_tlb.h"
#include "gk_arch.h"
#include "gk_lib.h"

#define CR4_PCIDE	   (1ULL << 17)
#define CR3_NOFLUSH	   (1ULL << 63) /* with PCIDs: keep the new PCID's TLB entries */
#define CPUID1_ECX_PCID	   (1u << 17)
#define CPUID7_EBX_INVPCID (1u << 10)
#define INVPCID_CONTEXT	   1

void gk_tlb_init(struct gk_tlb *t, uint64_t kernel_pml4, bool want_pcid)
{
	uint32_t a, b, c, d;

	t->kernel_pml4 = kernel_pml4;
	gk_arch_cpuid(1, &a, &b, &c, &d);
	t->pcid = want_pcid && (c & CPUID1_ECX_PCID);
	if (!t->pcid)
		return;
	gk_arch_cpuid(7, &a, &b, &c, &d);
	t->invpcid = b & CPUID7_EBX_INVPCID;
	/* CR3 holds PCID 0 (the kernel's tables) now, as setting PCIDE requires. */
	gk_arch_write_cr4(gk_arch_read_cr4() | CR4_PCIDE);
}

void gk_tlb_space_init(const struct gk_tlb *t, struct gk_tlb_space *s, uint64_t pml4, unsigned slot)
{
	s->pml4 = pml4;
	s->pcid = t->pcid ? (uint16_t)(slot + 1) : 0;
	s->stale = t->pcid && !t->skip;
}

void gk_tlb_load(struct gk_tlb *t, struct gk_tlb_space *s)
{
	uint64_t cr3 = s->pml4 | s->pcid;

	if (t->loaded == s)
		return;
	if (t->pcid && !s->stale)
		cr3 |= CR3_NOFLUSH;
	else if (t->pcid)
		t->stats.flush_pcid++;
	else
		t->stats.flush_all++;
	s->stale = false;
	gk_arch_write_cr3(cr3);
	t->loaded = s;
	t->stats.cr3_loads++;
}

void gk_tlb_load_kernel(struct gk_tlb *t)
{
	if (!t->loaded)
		return;
	/* PCID 0 is the kernel's: its entries are the identity map only. */
	gk_arch_write_cr3(t->kernel_pml4 | (t->pcid ? CR3_NOFLUSH : 0));
	t->loaded = NULL;
	t->stats.cr3_loads++;
}

void gk_tlb_flush_page(struct gk_tlb *t, struct gk_tlb_space *s, uint64_t va)
{
	if (t->skip)
		return;
	if (t->loaded == s) {
		gk_arch_invlpg(va);
		t->stats.flush_page++;
	} else if (t->pcid) {
		s->stale = true;
	}
}

void gk_tlb_flush_space(struct gk_tlb *t, struct gk_tlb_space *s)
{
	if (t->skip)
		return;
	if (t->loaded != s) {
		s->stale |= t->pcid;
		return;
	}
	if (t->invpcid) {
		gk_arch_invpcid(INVPCID_CONTEXT, s->pcid, 0);
		t->stats.flush_pcid++;
	} else {
		gk_arch_write_cr3(s->pml4 | s->pcid);
		t->stats.cr3_loads++;
		if (t->pcid)
			t->stats.flush_pcid++;
		else
			t->stats.flush_all++;
	}
}
