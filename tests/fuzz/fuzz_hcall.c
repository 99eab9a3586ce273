/* tests/fuzz/fuzz_hcall.c: libFuzzer target for the hypercall handler.
 *
 * The input is what a hostile guest controls: a hypercall block and the
 * lists it points to, placed in guest RAM. The handler must answer or stop
 * the VM with a message; never crash or touch memory outside guest RAM.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hcall.h"
#include "vm.h"

#define FUZZ_RAM       (4 << 20)
#define FUZZ_BLOCK_GPA 0x10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static int ready;
	struct gmem_params p = {.size = FUZZ_RAM, .manager = GMEM_MANAGER_KERNEL};

	if (!ready) {
		err_set_quiet(1);
		if (gmem_init(&vm.mem, &p))
			abort();
		console_init(&vm.con, open("/dev/null", O_WRONLY | O_CLOEXEC));
		pthread_mutex_init(&vm.stop_lock, NULL);
		ready = 1;
	}
	vm.done = 0;
	if (size > FUZZ_RAM - FUZZ_BLOCK_GPA)
		size = FUZZ_RAM - FUZZ_BLOCK_GPA;
	/* Block first, then the rest of the input right after it: the lists. */
	gmem_write(&vm.mem, FUZZ_BLOCK_GPA, data, size);
	hcall_handle(&vm, FUZZ_BLOCK_GPA);
	console_destroy(&vm.con);
	return 0;
}
