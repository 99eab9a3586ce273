/* tests/fuzz/fuzz_loader.c: libFuzzer target for the ELF/PVH loader.
 *
 * Any byte string must load or be refused with -EINVAL and a message;
 * never a crash, a sanitizer report or a write outside guest RAM.
 * Build and run: make -C tests fuzz (needs clang with libFuzzer).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "guest_ram.h"
#include "loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_ram mem;
	static int ready;
	struct load_info li;
	int ret;

	if (!ready) {
		struct guest_ram_params p = {.size = 8 << 20, .manager = GUEST_RAM_MANAGER_KERNEL};

		err_set_quiet(1);
		if (guest_ram_init(&mem, &p))
			abort();
		ready = 1;
	}
	ret = loader_load_image("fuzz.elf", data, size, &mem, &li);
	if (ret && ret != -EINVAL)
		abort();
	if (!ret && (li.entry > UINT32_MAX || !guest_ram_contains(&mem, li.entry, 1)))
		abort();
	return 0;
}
