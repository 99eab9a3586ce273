/* vmm/control/control.h: the control socket of a running VM (vmm run --control PATH).
 *
 * A UNIX stream socket, mode 0600, removed at exit. The protocol is JSON
 * lines (docs/control.md): one request per line,
 *     {"id": 1, "cmd": "stat"}
 * and one reply per request, with the request's id,
 *     {"id": 1, "ok": true, "result": {...}}
 *     {"id": 1, "ok": false, "error": "resume: the VM is not paused"}
 * Requests are untrusted: at most CONTROL_MAX_REQUEST bytes and
 * CONTROL_MAX_DEPTH levels of nesting, parsed by jansson. A malformed,
 * oversized, unknown or out-of-order request gets an error reply and the VM
 * keeps running. One thread serves every client with poll(), so a client
 * that connects and never sends anything blocks no one.
 */
#ifndef VMM_CONTROL_H
#define VMM_CONTROL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "guest_ram.h"

#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_DEPTH   8
#define CONTROL_MAX_CLIENTS 16

struct vm;

struct control_client {
	int fd;
	size_t len;
	char buf[CONTROL_MAX_REQUEST + 1];
};

struct control {
	const char *path;
	int listen_fd;
	int stop_fd; /* eventfd: tells the thread to leave */
	dev_t dev;   /* of the socket file, so that only ours is removed */
	ino_t ino;
	struct vm *vm;
	enum guest_ram_manager manager;
	pthread_t thread;
	bool running;
	struct control_client client[CONTROL_MAX_CLIENTS];
	char error[512]; /* the last refusal that needed words of its own */
};

/* Bind and listen at path: 0, or -EEXIST (a live socket or another file
 * is there), -errno; the message says which. A socket file that no one
 * listens on (left by a killed vmm) is replaced. */
int control_open(struct control *c, const char *path);
/* Serve requests for vm from a thread of its own. */
int control_start(struct control *c, struct vm *vm, enum guest_ram_manager manager);
/* Stop serving, close every connection, remove the socket file. */
void control_close(struct control *c);

/* One request line in, one reply line out (without the newline); for the
 * serving thread and the unit tests. The reply is malloc'ed. */
char *control_handle_line(struct control *c, const char *line, size_t len);

#endif
