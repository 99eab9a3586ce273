/* vmm/devices/hcall.c: hypercalls, see hcall.h. */
#include "hcall.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "vm.h"
#include "vmm_abi.h"

static int hcall_line(struct vm *vm, const struct vmm_hcall *hc)
{
	char text[VMM_LINE_MAX];

	if (hc->arg1 > VMM_LINE_MAX)
		return err_input("hypercall LINE", "length %lu exceeds %u", (unsigned long)hc->arg1,
				 VMM_LINE_MAX);
	if (guest_ram_read(&vm->mem, hc->arg0, text, hc->arg1))
		return err_input("hypercall LINE", "text at GPA %#lx (+%lu) lies outside guest RAM",
				 (unsigned long)hc->arg0, (unsigned long)hc->arg1);
	console_write_line(&vm->con, text, hc->arg1);
	return 0;
}

/* Copy in the array of count entries of size bytes at GPA arg0. Copied,
 * so that the guest cannot change it between our checks and our use. */
static int hcall_array(struct vm *vm, const struct vmm_hcall *hc, void *out, size_t size,
		       const char *what)
{
	if (hc->count == 0 || hc->count > VMM_HC_MAX_PAGES || hc->arg0 % 8)
		return err_input(what, "%u entries at GPA %#lx: expected 1 to %u, 8-byte aligned",
				 hc->count, (unsigned long)hc->arg0, VMM_HC_MAX_PAGES);
	if (guest_ram_read(&vm->mem, hc->arg0, out, (size_t)hc->count * size))
		return err_input(what, "list at GPA %#lx (%u entries) lies outside guest RAM",
				 (unsigned long)hc->arg0, hc->count);
	return 0;
}

static int hcall_check_page(struct vm *vm, const char *what, uint64_t gpa)
{
	if (gpa % GUEST_RAM_PAGE_SIZE || !guest_ram_contains(&vm->mem, gpa, GUEST_RAM_PAGE_SIZE))
		return err_input(what, "page GPA %#lx: expected a page-aligned GPA in guest RAM",
				 (unsigned long)gpa);
	return 0;
}

/* Length of the run of neighbouring pages starting at list[i], in one region. */
static uint32_t hcall_run(struct vm *vm, const uint64_t *list, uint32_t i, uint32_t count)
{
	uint32_t run = 1;

	while (i + run < count && list[i + run] == list[i] + run * GUEST_RAM_PAGE_SIZE &&
	       guest_ram_contains(&vm->mem, list[i], (run + 1) * GUEST_RAM_PAGE_SIZE))
		run++;
	return run;
}

static int hcall_discard(struct vm *vm, const struct vmm_hcall *hc)
{
	uint64_t list[VMM_HC_MAX_PAGES];
	uint32_t i, run;
	int ret;

	ret = hcall_array(vm, hc, list, sizeof(list[0]), "hypercall DISCARD");
	for (i = 0; !ret && i < hc->count; i++)
		ret = hcall_check_page(vm, "hypercall DISCARD", list[i]);
	if (ret)
		return ret;
	/* Neighbouring pages go in one call: a syscall per page would dominate. */
	for (i = 0; i < hc->count; i += run) {
		run = hcall_run(vm, list, i, hc->count);
		ret = guest_ram_discard(&vm->mem, list[i], run * GUEST_RAM_PAGE_SIZE);
		if (ret)
			return err_errno(-ret, "hypercall DISCARD", "GPA %#lx: %s",
					 (unsigned long)list[i], strerror(-ret));
	}
	vm->stats.pages_discarded += hc->count;
	return 0;
}

static int hcall_copy(struct vm *vm, const struct vmm_hcall *hc)
{
	struct vmm_page_pair list[VMM_HC_MAX_PAGES];
	uint32_t i;
	int ret;

	ret = hcall_array(vm, hc, list, sizeof(list[0]), "hypercall COPY");
	for (i = 0; !ret && i < hc->count; i++) {
		ret = hcall_check_page(vm, "hypercall COPY", list[i].dst);
		if (!ret)
			ret = hcall_check_page(vm, "hypercall COPY", list[i].src);
	}
	for (i = 0; !ret && i < hc->count; i++) {
		ret = guest_ram_copy_page(&vm->mem, list[i].dst, list[i].src);
		if (ret)
			ret = err_errno(-ret, "hypercall COPY", "GPA %#lx -> %#lx: %s",
					(unsigned long)list[i].src, (unsigned long)list[i].dst,
					strerror(-ret));
	}
	if (!ret)
		vm->stats.pages_copied += hc->count;
	return ret;
}

/* A guest that repeats a bad request must not flood stderr: the first few
 * errors are printed, all are counted (hcalls.errors in the statistics). */
#define HCALL_ERRORS_PRINTED 10

void hcall_handle(struct vm *vm, uint32_t block_gpa)
{
	bool was_quiet = err_set_quiet(true);
	struct vmm_hcall hc;
	int64_t ret;
	int rc;

	err_set_quiet(was_quiet || vm->stats.hcall_errors >= HCALL_ERRORS_PRINTED);
	if (block_gpa % 8 || guest_ram_read(&vm->mem, block_gpa, &hc, sizeof(hc))) {
		vm_stop(vm, VMM_STATUS_CRASH,
			"hypercall block at GPA %#x: expected 8-byte aligned and inside guest RAM",
			block_gpa);
		err_set_quiet(was_quiet);
		return;
	}
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
	if (!ret && hc.nr < sizeof(vm->stats.hcalls) / sizeof(vm->stats.hcalls[0]))
		vm->stats.hcalls[hc.nr]++;
	if (ret && ++vm->stats.hcall_errors == HCALL_ERRORS_PRINTED && !was_quiet)
		fprintf(stderr, "vmm: further hypercall errors are counted, not printed\n");
	/* A guest that cannot read the answer would take a stale one for it. */
	rc = guest_ram_write(&vm->mem, block_gpa + offsetof(struct vmm_hcall, ret), &ret,
			     sizeof(ret));
	if (rc)
		vm_stop(vm, VMM_STATUS_CRASH,
			"hypercall block at GPA %#x: cannot write the answer (%ld) back: %s",
			block_gpa, (long)ret, strerror(-rc));
	err_set_quiet(was_quiet);
}

static bool hcall_io(void *dev, const struct ioport_access *a)
{
	uint32_t gpa;

	if (!a->out || a->size != 4 || a->count != 1)
		return false;
	memcpy(&gpa, a->data, sizeof(gpa));
	hcall_handle(dev, gpa);
	return true;
}

int hcall_save(const struct vm *vm, void *buf, size_t len, size_t *used)
{
	const struct vm_stats *st = &vm->stats;
	struct devstate_writer w;

	devstate_begin(&w, buf, len, HCALL_STATE_VERSION);
	for (int nr = VMM_HC_LINE; nr <= VMM_HC_COPY; nr++)
		devstate_put_u64(&w, st->hcalls[nr]);
	devstate_put_u64(&w, st->hcall_errors);
	devstate_put_u64(&w, st->pages_discarded);
	devstate_put_u64(&w, st->pages_copied);
	return devstate_end(&w, used);
}

/* Each DISCARD or COPY that counted moved 1 to VMM_HC_MAX_PAGES pages. */
static void hcall_check_pages(struct devstate_reader *r, const char *what, uint64_t calls,
			      uint64_t pages)
{
	if (pages < calls || pages / VMM_HC_MAX_PAGES > calls ||
	    (pages / VMM_HC_MAX_PAGES == calls && pages % VMM_HC_MAX_PAGES))
		devstate_fail(r, "%s: %lu pages in %lu calls: expected 1 to %u pages a call", what,
			      (unsigned long)pages, (unsigned long)calls, VMM_HC_MAX_PAGES);
}

int hcall_restore(struct vm *vm, const void *buf, size_t len, char *err, size_t errlen)
{
	static const char *const names[] = {[VMM_HC_LINE] = "hcalls.line",
					    [VMM_HC_DISCARD] = "hcalls.discard",
					    [VMM_HC_COPY] = "hcalls.copy"};
	struct vm_stats n = vm->stats;
	struct devstate_reader r;

	devstate_open(&r, "hypercall", HCALL_STATE_VERSION, buf, len, err, errlen);
	for (int nr = VMM_HC_LINE; nr <= VMM_HC_COPY; nr++)
		n.hcalls[nr] = devstate_get_u64(&r, names[nr]);
	n.hcall_errors = devstate_get_u64(&r, "errors");
	n.pages_discarded = devstate_get_u64(&r, "pages_discarded");
	n.pages_copied = devstate_get_u64(&r, "pages_copied");
	hcall_check_pages(&r, "pages_discarded", n.hcalls[VMM_HC_DISCARD], n.pages_discarded);
	hcall_check_pages(&r, "pages_copied", n.hcalls[VMM_HC_COPY], n.pages_copied);
	if (devstate_close(&r))
		return r.ret;
	vm->stats = n;
	return 0;
}

DEVSTATE_OPS(hcall_state_ops, "hypercall", struct vm, hcall_save, hcall_restore);

int hcall_register(struct vm *vm)
{
	int ret = ioport_register(&vm->io, VMM_PORT_HCALL, 4, "hypercall", hcall_io, vm);

	return ret ? ret : devstate_register(&vm->states, &hcall_state_ops, vm);
}
