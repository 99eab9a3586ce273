/* tests/fuzz/fuzz_control.c: libFuzzer target for the control protocol.
 *
 * The input is what a client sends on the control socket, byte 0 aside:
 * its bit 0 says whether the client reads its replies as they come (1) or
 * never (0: the server must drop it once its socket is full, as a client
 * that does not read its replies is dropped). The rest goes down one end
 * of a socket pair whose other end the serving code reads, as its thread
 * does for a real client: lines, partial lines, lines past 4096 bytes.
 * Each input gets a fresh VM that stands in for a running one (no vCPU
 * thread, so a pause is acknowledged at once; the kernel memory manager,
 * so snapshot and fork are refused before touching anything). The server
 * must answer or drop the client, never crash or hang: run it with
 * -timeout (make -C tests fuzz does), which is what finds a request that
 * takes exponential time. Seeds: control-seeds.py.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "err.h"
#include "vm.h"

#define FUZZ_MAX_STEPS 4096 /* reads of the server: each takes one at least */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_vm_init(struct vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->fd = vm->stats_fd = vm->vcpu.fd = vm->vcpu.stats_fd = -1;
	vm_init_sync(vm);
	console_init(&vm->con, -1);
}

static void fuzz_vm_destroy(struct vm *vm)
{
	console_destroy(&vm->con);
	pthread_mutex_destroy(&vm->run.lock);
	pthread_mutex_destroy(&vm->snap_lock);
	pthread_cond_destroy(&vm->run.cond);
}

/* Drain what the server replied, if this client reads. */
static void fuzz_client_read(int fd, bool reads)
{
	char buf[4096];

	while (reads && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Serve the client until it is dropped or has nothing more to say. */
static void fuzz_serve(struct control *c, struct control_client *cl, int peer, bool reads)
{
	for (int i = 0; i < FUZZ_MAX_STEPS && cl->fd >= 0; i++) {
		struct pollfd p = {.fd = cl->fd, .events = POLLIN};

		if (poll(&p, 1, 0) != 1)
			break;
		control_serve(c, cl);
		fuzz_client_read(peer, reads);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct control c;
	static struct control_client cl;
	int sv[2], small = 8192;
	struct vm vm;
	bool reads;

	if (size < 1)
		return 0;
	err_set_quiet(true);
	reads = data[0] & 1;
	data++, size--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* A small buffer for replies, so that a client that does not read
	 * fills it within a few of them. */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	fuzz_vm_init(&vm);
	memset(&c, 0, sizeof(c));
	c.listen_fd = c.stop_fd = c.lock_fd = -1;
	c.vm = &vm;
	c.manager = GUEST_RAM_MANAGER_KERNEL;
	cl = (struct control_client){.fd = sv[0]};
	/* In pieces as large as the socket takes, served in between. */
	while (size && cl.fd >= 0) {
		ssize_t n = send(sv[1], data, size, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		data += n, size -= n;
		fuzz_serve(&c, &cl, sv[1], reads);
	}
	shutdown(sv[1], SHUT_WR); /* the client is done: the server sees its end */
	fuzz_serve(&c, &cl, sv[1], reads);
	if (cl.fd >= 0)
		close(cl.fd);
	close(sv[1]);
	fuzz_vm_destroy(&vm);
	return 0;
}
