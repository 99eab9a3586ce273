/* tests/fuzz/fuzz_hcall.c: libFuzzer target for the hypercall handler.
 *
 * The input is what a hostile guest controls: a hypercall block and the
 * lists it points to, placed in guest RAM, and the first byte choosing the
 * memory manager. Each input gets a fresh VM, so nothing carries over from
 * one input to the next. The handler must answer or stop the VM with a
 * message, never crash or touch memory outside guest RAM; under the VMM's
 * own manager the budget holds and the frame database's invariants hold
 * after every input.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console.h"
#include "err.h"
#include "guest_ram.h"
#include "hcall.h"

#define FUZZ_RAM       (4 << 20)
#define FUZZ_BUDGET    (64 << 12) /* small, so that COPY can run out of it */
#define FUZZ_BLOCK_GPA 0x10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_frames(const struct guest_ram *mem)
{
	struct frame_db_stats st;
	char why[256];

	if (!mem->db)
		return;
	if (frame_db_check(mem->db, why, sizeof(why))) {
		fprintf(stderr, "frame database invariant broken: %s\n", why);
		abort();
	}
	frame_db_stats(mem->db, &st);
	if (st.resident > FUZZ_BUDGET >> 12) {
		fprintf(stderr, "%lu frames resident, budget %d\n", (unsigned long)st.resident,
			FUZZ_BUDGET >> 12);
		abort();
	}
}

/* The guest stopping is an answer too: the handler said why. */
static void fuzz_stop(void *ctx, const char *reason)
{
	(void)ctx;
	if (!reason[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int console_fd = -1;
	struct guest_ram mem;
	struct console con;
	struct hcall dev;
	struct guest_ram_params p = {
	    .size = FUZZ_RAM, .host_mem = FUZZ_BUDGET, .fault_around = 16, .handler_cpu = -1};

	if (size < 1)
		return 0;
	if (console_fd < 0) {
		err_set_quiet(1);
		console_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	}
	p.manager = data[0] & 1 ? GUEST_RAM_MANAGER_VMM : GUEST_RAM_MANAGER_KERNEL;
	data++, size--;
	memset(&mem, 0, sizeof(mem));
	if (guest_ram_init(&mem, &p))
		abort();
	console_init(&con, console_fd);
	hcall_init(&dev, &mem, &con, fuzz_stop, NULL);
	dev.log = NULL;
	if (size > FUZZ_RAM - FUZZ_BLOCK_GPA)
		size = FUZZ_RAM - FUZZ_BLOCK_GPA;
	/* Block first, then the rest of the input right after it: the lists. */
	if (!guest_ram_write(&mem, FUZZ_BLOCK_GPA, data, size))
		hcall_handle(&dev, FUZZ_BLOCK_GPA);
	fuzz_check_frames(&mem);
	console_destroy(&con);
	guest_ram_destroy(&mem);
	return 0;
}
