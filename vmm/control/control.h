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
	bool refused; /* its line was refused: the rest is read and dropped */
	size_t len;
	char buf[CONTROL_MAX_REQUEST + 1];
};

struct control {
	const char *path;
	char *lock_path; /* PATH.lock */
	int lock_fd;	 /* flock'ed while this vmm serves PATH */
	dev_t lock_dev;	 /* of the lock file, so that only ours is removed */
	ino_t lock_ino;
	bool bound; /* the socket file at path is ours */
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

/* A vmm that is exiting holds PATH.lock for a moment more. */
#define CONTROL_LOCK_WAIT_MS 3000

/* Bind and listen at path: 0, or -EEXIST (another vmm holds PATH.lock,
 * or a file that is not a socket is at path), -errno; the message says
 * which. PATH.lock, beside the socket, is locked (flock) for as long as
 * the socket is served; a held lock is waited for up to wait_ms. With the
 * lock taken, a socket file at path is stale (left by a killed vmm) and is
 * replaced. */
int control_open(struct control *c, const char *path, unsigned wait_ms);
/* Serve requests for vm from a thread of its own. */
int control_start(struct control *c, struct vm *vm, enum guest_ram_manager manager);
/* Stop serving, close every connection, remove the socket file and the
 * lock file, and release the lock. */
void control_close(struct control *c);

/* Read what client cl sent and serve each whole line: the serving
 * thread's step for a client whose fd polled readable (and the fuzz
 * target's). A client that has gone, or does not read its replies, is
 * closed (cl->fd -1). */
void control_serve(struct control *c, struct control_client *cl);

/* One request line in, one reply line out (without the newline); for the
 * serving thread and the unit tests. The reply is malloc'ed. */
char *control_handle_line(struct control *c, const char *line, size_t len);

#endif
