/* vmm/devices/hcall.c: hypercalls, see hcall.h. */
#include "hcall.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "console.h"
#include "devstate.h"
#include "err.h"
#include "guest_ram.h"
#include "ioport.h"

static int hcall_line(struct hcall *h, const struct vmm_hcall *hc, char *why)
{
	char text[VMM_LINE_MAX];

	if (hc->arg1 > VMM_LINE_MAX)
		return err_into(why, HCALL_ERROR_MAX, -EINVAL,
				"hypercall LINE: length %lu exceeds %u", (unsigned long)hc->arg1,
				VMM_LINE_MAX);
	if (guest_ram_read(h->mem, hc->arg0, text, hc->arg1))
		return err_into(why, HCALL_ERROR_MAX, -EINVAL,
				"hypercall LINE: text at GPA %#lx (+%lu) lies outside guest RAM",
				(unsigned long)hc->arg0, (unsigned long)hc->arg1);
	console_write_line(h->con, text, hc->arg1);
	return 0;
}

/* Copy in the array of count entries of size bytes at GPA arg0. Copied,
 * so that the guest cannot change it between our checks and our use. */
static int hcall_array(struct hcall *h, const struct vmm_hcall *hc, void *out, size_t size,
		       const char *what, char *why)
{
	if (hc->count == 0 || hc->count > VMM_HC_MAX_PAGES || hc->arg0 % 8)
		return err_into(why, HCALL_ERROR_MAX, -EINVAL,
				"%s: %u entries at GPA %#lx: expected 1 to %u, 8-byte aligned",
				what, hc->count, (unsigned long)hc->arg0, VMM_HC_MAX_PAGES);
	if (guest_ram_read(h->mem, hc->arg0, out, (size_t)hc->count * size))
		return err_into(why, HCALL_ERROR_MAX, -EINVAL,
				"%s: list at GPA %#lx (%u entries) lies outside guest RAM", what,
				(unsigned long)hc->arg0, hc->count);
	return 0;
}

static int hcall_check_page(struct hcall *h, const char *what, uint64_t gpa, char *why)
{
	if (gpa % EPT_PAGE_SIZE || !guest_ram_contains(h->mem, gpa, EPT_PAGE_SIZE))
		return err_into(why, HCALL_ERROR_MAX, -EINVAL,
				"%s: page GPA %#lx: expected a page-aligned GPA in guest RAM", what,
				(unsigned long)gpa);
	return 0;
}

/* Length of the run of neighbouring pages starting at list[i], in one region. */
static uint32_t hcall_run(struct hcall *h, const uint64_t *list, uint32_t i, uint32_t count)
{
	uint32_t run = 1;

	while (i + run < count && list[i + run] == list[i] + run * EPT_PAGE_SIZE &&
	       guest_ram_contains(h->mem, list[i], (run + 1) * EPT_PAGE_SIZE))
		run++;
	return run;
}

static int hcall_discard(struct hcall *h, const struct vmm_hcall *hc, char *why)
{
	uint64_t list[VMM_HC_MAX_PAGES];
	uint32_t i, run;
	int ret;

	ret = hcall_array(h, hc, list, sizeof(list[0]), "hypercall DISCARD", why);
	for (i = 0; !ret && i < hc->count; i++)
		ret = hcall_check_page(h, "hypercall DISCARD", list[i], why);
	if (ret)
		return ret;
	/* Neighbouring pages go in one call: a syscall per page would dominate. */
	for (i = 0; i < hc->count; i += run) {
		run = hcall_run(h, list, i, hc->count);
		ret = guest_ram_discard(h->mem, list[i], run * EPT_PAGE_SIZE);
		if (ret)
			return err_into(why, HCALL_ERROR_MAX, ret,
					"hypercall DISCARD: GPA %#lx: %s", (unsigned long)list[i],
					strerror(-ret));
	}
	h->stats.discarded_pages += hc->count;
	return 0;
}

static int hcall_copy(struct hcall *h, const struct vmm_hcall *hc, char *why)
{
	struct vmm_page_pair list[VMM_HC_MAX_PAGES];
	uint32_t i;
	int ret;

	ret = hcall_array(h, hc, list, sizeof(list[0]), "hypercall COPY", why);
	for (i = 0; !ret && i < hc->count; i++) {
		ret = hcall_check_page(h, "hypercall COPY", list[i].dst, why);
		if (!ret)
			ret = hcall_check_page(h, "hypercall COPY", list[i].src, why);
	}
	for (i = 0; !ret && i < hc->count; i++) {
		ret = guest_ram_copy_page(h->mem, list[i].dst, list[i].src);
		if (ret)
			ret = err_into(
			    why, HCALL_ERROR_MAX, ret, "hypercall COPY: GPA %#lx -> %#lx: %s",
			    (unsigned long)list[i].src, (unsigned long)list[i].dst, strerror(-ret));
	}
	if (!ret)
		h->stats.copied_pages += hc->count;
	return ret;
}

/* A guest that repeats a bad request must not flood stderr: the first few
 * errors are printed, all are counted (hcalls.errors in the statistics). */
#define HCALL_ERRORS_PRINTED 10

static int64_t hcall_dispatch(struct hcall *h, const struct vmm_hcall *hc, uint32_t block_gpa,
			      char *why)
{
	switch (hc->nr) {
	case VMM_HC_LINE:
		return hcall_line(h, hc, why);
	case VMM_HC_DISCARD:
		return hcall_discard(h, hc, why);
	case VMM_HC_COPY:
		return hcall_copy(h, hc, why);
	default:
		return err_into(why, HCALL_ERROR_MAX, -EINVAL,
				"hypercall: number %u at GPA %#x: unknown", hc->nr, block_gpa);
	}
}

/* The first few errors are printed; all are counted. */
static void hcall_count_error(struct hcall *h, const char *why)
{
	h->stats.errors++;
	memcpy(h->last_error, why, sizeof(h->last_error));
	if (!h->log)
		return;
	if (h->stats.errors <= HCALL_ERRORS_PRINTED)
		fprintf(h->log, "vmm: %s\n", why);
	if (h->stats.errors == HCALL_ERRORS_PRINTED)
		fprintf(h->log, "vmm: further hypercall errors are counted, not printed\n");
}

void hcall_handle(struct hcall *h, uint32_t block_gpa)
{
	char why[HCALL_ERROR_MAX];
	struct vmm_hcall hc;
	int64_t ret;
	int rc;

	if (block_gpa % 8 || guest_ram_read(h->mem, block_gpa, &hc, sizeof(hc))) {
		snprintf(why, sizeof(why),
			 "hypercall block at GPA %#x: expected 8-byte aligned and inside guest RAM",
			 block_gpa);
		h->stop(h->ctx, why);
		return;
	}
	ret = hcall_dispatch(h, &hc, block_gpa, why);
	if (!ret)
		h->stats.calls[hc.nr]++;
	else
		hcall_count_error(h, why);
	/* A guest that cannot read the answer would take a stale one for it. */
	rc =
	    guest_ram_write(h->mem, block_gpa + offsetof(struct vmm_hcall, ret), &ret, sizeof(ret));
	if (rc) {
		snprintf(why, sizeof(why),
			 "hypercall block at GPA %#x: cannot write the answer (%ld) back: %s",
			 block_gpa, (long)ret, strerror(-rc));
		h->stop(h->ctx, why);
	}
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

int hcall_save(const struct hcall *h, void *buf, size_t len, size_t *used)
{
	const struct hcall_stats *st = &h->stats;
	struct devstate_writer w;

	devstate_begin(&w, buf, len, HCALL_STATE_VERSION);
	for (int nr = VMM_HC_LINE; nr <= VMM_HC_COPY; nr++)
		devstate_put_u64(&w, st->calls[nr]);
	devstate_put_u64(&w, st->errors);
	devstate_put_u64(&w, st->discarded_pages);
	devstate_put_u64(&w, st->copied_pages);
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

int hcall_restore(struct hcall *h, const void *buf, size_t len, char *err, size_t errlen)
{
	static const char *const names[] = {[VMM_HC_LINE] = "hcalls.line",
					    [VMM_HC_DISCARD] = "hcalls.discard",
					    [VMM_HC_COPY] = "hcalls.copy"};
	struct hcall_stats n = h->stats;
	struct devstate_reader r;

	devstate_open(&r, "hypercall", HCALL_STATE_VERSION, buf, len, err, errlen);
	for (int nr = VMM_HC_LINE; nr <= VMM_HC_COPY; nr++)
		n.calls[nr] = devstate_get_u64(&r, names[nr]);
	n.errors = devstate_get_u64(&r, "errors");
	n.discarded_pages = devstate_get_u64(&r, "pages_discarded");
	n.copied_pages = devstate_get_u64(&r, "pages_copied");
	hcall_check_pages(&r, "pages_discarded", n.calls[VMM_HC_DISCARD], n.discarded_pages);
	hcall_check_pages(&r, "pages_copied", n.calls[VMM_HC_COPY], n.copied_pages);
	if (devstate_close(&r))
		return r.ret;
	h->stats = n;
	return 0;
}

DEVSTATE_OPS(hcall_state_ops, "hypercall", struct hcall, hcall_save, hcall_restore);

void hcall_init(struct hcall *h, struct guest_ram *mem, struct console *con, hcall_stop_fn stop,
		void *ctx)
{
	*h = (struct hcall){.mem = mem, .con = con, .stop = stop, .ctx = ctx, .log = stderr};
}

int hcall_register(struct hcall *h, struct ioport_bus *io, struct devstate_table *states)
{
	int ret = ioport_register(io, VMM_PORT_HCALL, 4, "hypercall", hcall_io, h);

	return ret ? ret : devstate_register(states, &hcall_state_ops, h);
}
