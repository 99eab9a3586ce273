/* vmm/hcall.c: hypercalls, see hcall.h. */
#include "hcall.h"

#include <errno.h>
#include <string.h>

#include "err.h"
#include "vm.h"
#include "vmm_abi.h"

static int hcall_line(struct vm *vm, const struct vmm_hcall *hc)
{
	const char *text;

	if (hc->arg1 > VMM_LINE_MAX)
		return err_input("hypercall LINE", "length %lu exceeds %u",
				 (unsigned long)hc->arg1, VMM_LINE_MAX);
	text = gmem_ptr(&vm->mem, hc->arg0, hc->arg1);
	if (!text)
		return err_input("hypercall LINE", "text at GPA %#lx (+%lu) lies outside guest RAM",
				 (unsigned long)hc->arg0, (unsigned long)hc->arg1);
	console_write_line(&vm->con, text, hc->arg1);
	return 0;
}

/* The array of count entries of size bytes at GPA arg0, or NULL. */
static const void *hcall_array(struct vm *vm, const struct vmm_hcall *hc, size_t size,
			       const char *what)
{
	const void *p;

	if (hc->count == 0 || hc->count > VMM_HC_MAX_PAGES || hc->arg0 % 8) {
		err_input(what, "%u entries at GPA %#lx: expected 1 to %u, 8-byte aligned", hc->count,
			  (unsigned long)hc->arg0, VMM_HC_MAX_PAGES);
		return NULL;
	}
	p = gmem_ptr(&vm->mem, hc->arg0, (uint64_t)hc->count * size);
	if (!p)
		err_input(what, "list at GPA %#lx (%u entries) lies outside guest RAM",
			  (unsigned long)hc->arg0, hc->count);
	return p;
}

static int hcall_check_page(struct vm *vm, const char *what, uint64_t gpa)
{
	if (gpa % GMEM_PAGE_SIZE || !gmem_ptr(&vm->mem, gpa, GMEM_PAGE_SIZE))
		return err_input(what, "page GPA %#lx: expected a page-aligned GPA in guest RAM",
				 (unsigned long)gpa);
	return 0;
}

static int hcall_discard(struct vm *vm, const struct vmm_hcall *hc)
{
	const uint64_t *gpa = hcall_array(vm, hc, sizeof(*gpa), "hypercall DISCARD");
	uint64_t list[VMM_HC_MAX_PAGES];
	uint32_t i, run;
	int ret;

	if (!gpa)
		return -EINVAL;
	/* Copied first: the guest must not change the list while we check it. */
	memcpy(list, gpa, hc->count * sizeof(*gpa));
	for (i = 0; i < hc->count; i++) {
		ret = hcall_check_page(vm, "hypercall DISCARD", list[i]);
		if (ret)
			return ret;
	}
	/* Neighbouring pages go in one call: a syscall per page would dominate. */
	for (i = 0; i < hc->count; i += run) {
		for (run = 1; i + run < hc->count &&
			      list[i + run] == list[i] + run * GMEM_PAGE_SIZE &&
			      gmem_ptr(&vm->mem, list[i], (run + 1) * GMEM_PAGE_SIZE);
		     run++)
			;
		ret = gmem_discard(&vm->mem, list[i], run * GMEM_PAGE_SIZE);
		if (ret)
			return err_errno(-ret, "hypercall DISCARD", "GPA %#lx: %s",
					 (unsigned long)list[i], strerror(-ret));
	}
	vm->stats.pages_discarded += hc->count;
	return 0;
}

static int hcall_copy(struct vm *vm, const struct vmm_hcall *hc)
{
	const struct vmm_page_pair *pp = hcall_array(vm, hc, sizeof(*pp), "hypercall COPY");
	struct vmm_page_pair list[VMM_HC_MAX_PAGES];
	uint32_t i;
	int ret;

	if (!pp)
		return -EINVAL;
	memcpy(list, pp, hc->count * sizeof(*pp));
	for (i = 0; i < hc->count; i++) {
		ret = hcall_check_page(vm, "hypercall COPY", list[i].dst);
		if (!ret)
			ret = hcall_check_page(vm, "hypercall COPY", list[i].src);
		if (ret)
			return ret;
	}
	for (i = 0; i < hc->count; i++)
		if (list[i].dst != list[i].src)
			memcpy(gmem_ptr(&vm->mem, list[i].dst, GMEM_PAGE_SIZE),
			       gmem_ptr(&vm->mem, list[i].src, GMEM_PAGE_SIZE), GMEM_PAGE_SIZE);
	vm->stats.pages_copied += hc->count;
	return 0;
}

void hcall_handle(struct vm *vm, uint32_t block_gpa)
{
	struct vmm_hcall *block = NULL, hc;
	int ret;

	if (block_gpa % 8 == 0)
		block = gmem_ptr(&vm->mem, block_gpa, sizeof(*block));
	if (!block) {
		vm_stop(vm, VMM_STATUS_CRASH,
			"hypercall block at GPA %#x: expected 8-byte aligned and inside guest RAM",
			block_gpa);
		return;
	}
	memcpy(&hc, block, sizeof(hc));
	switch (hc.nr) {
	case VMM_HC_LINE:
		ret = hcall_line(vm, &hc);
		break;
	case VMM_HC_DISCARD:
		ret = hcall_discard(vm, &hc);
		break;
	case VMM_HC_COPY:
		ret = hcall_copy(vm, &hc);
		break;
	default:
		ret = err_input("hypercall", "number %u at GPA %#x: unknown", hc.nr, block_gpa);
		break;
	}
	if (ret)
		vm->stats.hcall_errors++;
	else if (hc.nr < sizeof(vm->stats.hcalls) / sizeof(vm->stats.hcalls[0]))
		vm->stats.hcalls[hc.nr]++;
	block->ret = ret;
}
