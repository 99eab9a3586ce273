/* tests/fuzz/fuzz_guest_counters.c: libFuzzer target for the VMM's reader
 * of the guest's counters page (vmm/guest_counters.c).
 *
 * The input is what a hostile guest writes into the page. It goes into
 * guest RAM at the page's GPA and is read as a report would read it: the
 * reader must never crash, read outside RAM or show a page that breaks
 * the ABI's rules (vmm_abi.h): a page it calls valid must carry the magic,
 * version, size, an even sequence number and the right check word.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "guest_counters.h"
#include "vm.h"

#define FUZZ_RAM (1 << 20)
#define FUZZ_GPA 0x3000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_check(const struct vmm_guest_counters *c)
{
	const uint64_t *w = (const uint64_t *)c;
	uint64_t x = 0;

	for (size_t i = 0; &w[i] < &c->check; i++)
		x = ((x << 7) | (x >> 57)) ^ w[i];
	return x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_ram mem;
	static bool ready;
	struct guest_counters gc = {0};
	struct vmm_guest_counters out, page = {0};
	const char *why;
	json_t *o;
	char *s;

	if (!ready) {
		struct guest_ram_params p = {.size = FUZZ_RAM,
					     .manager = GUEST_RAM_MANAGER_KERNEL,
					     .fault_around = 16,
					     .handler_cpu = -1};

		err_set_quiet(true);
		if (guest_ram_init(&mem, &p))
			abort();
		ready = true;
	}
	memcpy(&page, data, size < sizeof(page) ? size : sizeof(page));
	if (guest_ram_write(&mem, FUZZ_GPA, &page, sizeof(page)))
		abort();
	if (guest_counters_read(&gc, &mem, FUZZ_GPA, &out, &why) == GC_VALID &&
	    (out.magic != VMM_GC_MAGIC || out.version != VMM_GC_VERSION ||
	     out.size != sizeof(out) || out.seq & 1 || out.check != fuzz_check(&out) ||
	     out.resident_pages > out.total_pages))
		abort();
	o = guest_counters_json(&gc, &mem, FUZZ_GPA);
	s = o ? json_dumps(o, 0) : NULL;
	if (!s)
		abort();
	free(s);
	json_decref(o);
	/* At the end of RAM, a page cut short is outside RAM, never read past it. */
	if (guest_counters_read(&gc, &mem, FUZZ_RAM - 16, &out, &why) != GC_BAD)
		abort();
	return 0;
}
