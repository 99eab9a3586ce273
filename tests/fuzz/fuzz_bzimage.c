/* tests/fuzz/fuzz_bzimage.c: libFuzzer target for the bzImage header
 * checks (vmm/boot/bzimage.c, through kernel_check as vmm run reads an
 * image).
 *
 * Any byte string must be accepted or refused with -EINVAL and a message;
 * never a crash or a sanitizer report. An accepted bzImage's kernel must
 * fit the file and guest RAM, and loading it and writing its boot data
 * must stay inside guest RAM. Seeds: make fuzz writes the corpus of
 * tests/linux/bzimage-corpus.c (and Debian's vmlinuz header if cached).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "bzimage.h"
#include "err.h"
#include "guest_ram.h"
#include "kernel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_ram mem;
	static int ready;
	struct kernel k = {0};
	struct bzimage_boot b = {.cmdline = "console=ttyS0"};
	int ret;

	if (!ready) {
		struct guest_ram_params p = {.size = 64 << 20, .manager = GUEST_RAM_MANAGER_KERNEL};

		err_set_quiet(1);
		if (guest_ram_init(&mem, &p))
			abort();
		ready = 1;
	}
	ret = kernel_check("fuzz.bzImage", data, size, &mem, &k);
	if (ret && ret != -EINVAL)
		abort();
	if (ret || k.format != KERNEL_BZIMAGE)
		return 0;
	if (k.bz.setup_bytes + k.bz.kernel_bytes != size ||
	    !guest_ram_contains(&mem, k.bz.load_gpa, k.bz.init_size))
		abort();
	if (bzimage_load("fuzz.bzImage", data, &k.bz, &mem))
		abort();
	ret = bzimage_setup(&mem, data, &k.bz, &b);
	if (ret && ret != -EINVAL)
		abort();
	return 0;
}
