/* vmm/control/control.c: the control socket, see control.h. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "fleet.h"
#include "fork.h"
#include "histo.h"
#include "snapshot.h"
#include "stats.h"
#include "vm.h"

typedef json_t *(*control_fn)(struct control *c, json_t *req, const char **error);

static json_t *control_stat(struct control *c, json_t *req, const char **error)
{
	(void)req;
	json_t *r = stats_report_json(c->vm, c->manager);

	if (r)
		json_object_set_new(r, "state", json_string(vm_state_name(c->vm)));
	else
		*error = "stat: out of memory";
	return r;
}

static const char *control_errno_text(const char *cmd, int err)
{
	switch (err) {
	case -EALREADY:
		return !strcmp(cmd, "pause") ? "pause: the VM is paused already" : "already done";
	case -EINVAL:
		return "resume: the VM is not paused";
	case -ESRCH:
		return "the VM has stopped";
	case -ETIMEDOUT:
		return "pause: a vCPU did not park in time; the VM runs on";
	default:
		return "failed";
	}
}

static json_t *control_pause(struct control *c, json_t *req, const char **error)
{
	(void)req;
	int ret = vm_pause(c->vm);

	if (ret) {
		*error = control_errno_text("pause", ret);
		return NULL;
	}
	return json_pack("{s:s}", "state", "paused");
}

static json_t *control_resume(struct control *c, json_t *req, const char **error)
{
	(void)req;
	int ret = vm_resume(c->vm);

	if (ret) {
		*error = control_errno_text("resume", ret);
		return NULL;
	}
	return json_pack("{s:s}", "state", "running");
}

/* The VM and its fork children: the vmm process ends. */
static json_t *control_stop(struct control *c, json_t *req, const char **error)
{
	static const char why[] = "stopped by request (control socket)";
	unsigned n = c->vm->cfg.fleet ? fleet_count(c->vm->cfg.fleet) : 0;

	(void)req;
	if (!strcmp(vm_state_name(c->vm), "stopped") && !n) {
		*error = "stop: the VM has stopped already";
		return NULL;
	}
	vm_stop(c->vm, VMM_STATUS_CRASH, "%s", why);
	if (c->vm->cfg.fleet)
		n = fleet_stop_all(c->vm->cfg.fleet, VMM_STATUS_CRASH, why);
	return json_pack("{s:s, s:i}", "state", "stopped", "children", n);
}

static const char *const control_snapshot_phases[] = {
    [SNAPSHOT_NONE] = "none",
    [SNAPSHOT_WRITING] = "writing",
    [SNAPSHOT_DONE] = "done",
    [SNAPSHOT_FAILED] = "failed",
};

/* The snapshot of id, or the current or last one: phase, progress and
 * the pause in parts. */
static json_t *control_snapshot_reply(struct control *c, uint64_t id, const char **error)
{
	struct snapshot_progress p;
	json_t *r;

	if (snapshot_status(c->vm, id, &p)) {
		snprintf(c->error, sizeof(c->error),
			 "snapshot-status: this VM has no snapshot %llu (the last %d are kept)",
			 (unsigned long long)id, SNAPSHOT_HISTORY);
		*error = c->error;
		return NULL;
	}
	r = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:I, s:I}",
		      "snapshot", (json_int_t)p.id, "phase", control_snapshot_phases[p.phase],
		      "dir", p.dir, "pages_total", (json_int_t)p.pages_total, "pages_done",
		      (json_int_t)p.pages_done, "bytes", (json_int_t)p.bytes, "pause_ns",
		      (json_int_t)p.pause_ns, "park_ns", (json_int_t)p.park_ns, "machine_ns",
		      (json_int_t)p.machine_ns, "freeze_ns", (json_int_t)p.freeze_ns, "resume_ns",
		      (json_int_t)p.resume_ns, "arm_ns", (json_int_t)p.arm_ns, "rearmed",
		      (json_int_t)p.rearmed, "reprotected", (json_int_t)p.reprotected, "write_ns",
		      (json_int_t)p.write_ns, "saved_by_fault", (json_int_t)p.saved_by_fault,
		      "wp_faults", (json_int_t)p.wp_faults);
	if (r && p.phase == SNAPSHOT_FAILED)
		json_object_set_new(r, "error", json_string(p.error));
	if (r && p.io_via[0])
		json_object_set_new(r, "io", json_string(p.io_via));
	if (!r)
		*error = "snapshot-status: out of memory";
	return r;
}

/* "snapshot": which one (its number, as the snapshot reply gave it; the
 * request's "id" is the request's); none: the current or last. */
static json_t *control_snapshot_status(struct control *c, json_t *req, const char **error)
{
	json_t *id = json_object_get(req, "snapshot");

	if (id && (!json_is_integer(id) || json_integer_value(id) < 1)) {
		*error = "snapshot-status: expected \"snapshot\": a snapshot's number (1 or "
			 "more), as the snapshot reply gave it";
		return NULL;
	}
	return control_snapshot_reply(c, id ? (uint64_t)json_integer_value(id) : 0, error);
}

static json_t *control_snapshot(struct control *c, json_t *req, const char **error)
{
	json_t *out = json_object_get(req, "out"), *hash = json_object_get(req, "hash_memory");
	uint64_t id;
	int ret;

	if (!json_is_string(out) || !*json_string_value(out)) {
		*error = "snapshot: expected \"out\": the directory to write, as a string";
		return NULL;
	}
	if (hash && !json_is_boolean(hash)) {
		*error = "snapshot: expected \"hash_memory\" to be true or false";
		return NULL;
	}
	ret = snapshot_start(c->vm, json_string_value(out), json_is_true(hash), &id, c->error,
			     sizeof(c->error));
	if (ret) {
		*error = c->error;
		return NULL;
	}
	return control_snapshot_reply(c, id, error);
}

/* The children's ids, "G.I", as the fork made them. */
static json_t *control_fork_ids(const struct fork_result *r)
{
	json_t *ids = json_array();
	char id[16];

	for (unsigned i = 1; ids && i <= r->count; i++) {
		snprintf(id, sizeof(id), "%u.%u", r->generation, i);
		json_array_append_new(ids, json_string(id));
	}
	return ids;
}

static json_t *control_fork(struct control *c, json_t *req, const char **error)
{
	json_t *count = json_object_get(req, "count"), *reply;
	struct fork_result r;

	if (!json_is_integer(count) || json_integer_value(count) < 1 ||
	    json_integer_value(count) > GUEST_RAM_FORK_MAX) {
		*error = "fork: expected \"count\": the number of children, 1 to 64";
		return NULL;
	}
	if (fork_vm(c->vm, json_integer_value(count), &r, c->error, sizeof(c->error))) {
		*error = c->error;
		return NULL;
	}
	reply = json_pack("{s:i, s:i, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			  "count", r.count, "generation", r.generation, "children",
			  control_fork_ids(&r), "request_ns", (json_int_t)r.request_ns, "view_ns",
			  (json_int_t)r.view_ns, "slots_ns", (json_int_t)r.slots_ns, "pause_ns",
			  (json_int_t)r.pause_ns, "park_ns", (json_int_t)r.park_ns, "machine_ns",
			  (json_int_t)r.machine_ns, "freeze_ns", (json_int_t)r.freeze_ns,
			  "resume_ns", (json_int_t)r.resume_ns, "children_ns",
			  (json_int_t)r.children_ns, "shared_pages", (json_int_t)r.shared_pages);
	if (!reply)
		*error = "fork: out of memory";
	return reply;
}

/* The commands, in one place: adding one touches this table only. */
static const struct {
	const char *name;
	control_fn fn;
} control_commands[] = {
    {"stat", control_stat},	    {"pause", control_pause},
    {"resume", control_resume},	    {"stop", control_stop},
    {"snapshot", control_snapshot}, {"snapshot-status", control_snapshot_status},
    {"fork", control_fork},
};

/* Levels of nesting: 1 for a flat object. Each value is looked at once,
 * and no deeper than max + 1 levels: the answer is then "too deep". */
static int control_depth(json_t *j, int max)
{
	const char *key;
	json_t *v;
	size_t i;
	int d = 0, c;

	if (!json_is_object(j) && !json_is_array(j))
		return 0;
	if (max < 0)
		return 1;
	if (json_is_object(j)) {
		json_object_foreach(j, key, v) if ((c = control_depth(v, max - 1)) > d) d = c;
	} else {
		json_array_foreach(j, i, v) if ((c = control_depth(v, max - 1)) > d) d = c;
	}
	return d + 1;
}

static char *control_reply(json_t *id, json_t *result, const char *error)
{
	json_t *r = error ? json_pack("{s:O?, s:b, s:s}", "id", id, "ok", 0, "error", error)
			  : json_pack("{s:O?, s:b, s:o}", "id", id, "ok", 1, "result", result);
	char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;

	json_decref(r);
	return text ? text : strdup("{\"ok\": false, \"error\": \"out of memory\"}");
}

/* Check the request's shape; NULL and *error set if it is not one. */
static control_fn control_parse(json_t *req, const char **error)
{
	json_t *cmd = json_object_get(req, "cmd");

	if (!json_is_object(req)) {
		*error = "request: expected a JSON object";
	} else if (control_depth(req, CONTROL_MAX_DEPTH) > CONTROL_MAX_DEPTH) {
		*error = "request: nested deeper than 8 levels";
	} else if (!json_is_string(cmd)) {
		*error = "request: expected a \"cmd\" string";
	} else {
		for (size_t i = 0; i < sizeof(control_commands) / sizeof(control_commands[0]); i++)
			if (!strcmp(json_string_value(cmd), control_commands[i].name))
				return control_commands[i].fn;
		*error = "request: unknown cmd (expected stat, pause, resume, stop, snapshot, "
			 "snapshot-status or fork)";
	}
	return NULL;
}

/* Why line is not a request: jansson refuses integers past 64 bits, which
 * is not the same as bad JSON; an id is the likely one. */
static const char *control_load_error(const char *line, size_t len, json_error_t *jerr)
{
	const char *error = "request: an integer out of range (at most 64 bits)";
	json_t *req, *id;

	if (json_error_code(jerr) != json_error_numeric_overflow)
		return "request: not valid JSON";
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
	id = json_object_get(req, "id");
	if (json_is_real(id) && fabs(json_real_value(id)) >= 0x1p63)
		error = "request: id out of range: an integer id must fit in 64 bits (or send it "
			"as a string)";
	json_decref(req);
	return error;
}

char *control_handle_line(struct control *c, const char *line, size_t len)
{
	const char *error = NULL;
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *result = NULL;
	json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;
	control_fn fn = NULL;
	char *reply;

	if (!req)
		error = control_load_error(line, len, &jerr);
	else
		fn = control_parse(req, &error);
	if (fn)
		result = fn(c, req, &error);
	if (error)
		json_decref(result);
	reply = control_reply(id, error ? NULL : result, error);
	json_decref(req);
	return reply;
}

/* The pid a lock file names (what its holder wrote), or 0. */
static long control_lock_owner(int fd)
{
	char buf[24] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	return n > 0 ? strtol(buf, NULL, 10) : 0;
}

/* Open PATH.lock and try to take it: 1 taken, 0 held by another process
 * (*owner its pid), or -errno. Taken only if the file is still the one
 * at PATH.lock: a holder that has just removed it at exit leaves a file
 * no one else can see. */
static int control_try_lock(struct control *c, long *owner)
{
	struct stat st, now;
	int fd = open(c->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0)
		return err_sys(c->lock_path, "--control: cannot open the lock file");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_errno(EEXIST, c->lock_path,
				 "--control: the lock file beside the socket is not a regular "
				 "file; refusing it");
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int ret = errno == EWOULDBLOCK ? 0 : err_sys(c->lock_path, "--control: flock");

		*owner = control_lock_owner(fd);
		close(fd);
		return ret;
	}
	if (stat(c->lock_path, &now) < 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
		close(fd);
		return -EAGAIN;
	}
	c->lock_fd = fd;
	c->lock_dev = st.st_dev;
	c->lock_ino = st.st_ino;
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%ld\n", (long)getpid());
	return 1;
}

/* PATH.lock, held for as long as this vmm serves PATH: whoever holds it
 * owns the socket. A vmm that is exiting (killed, or tearing down a large
 * guest) still holds it for a moment, so a held lock is waited for up to
 * wait_ms before PATH is refused. */
static int control_lock(struct control *c, unsigned wait_ms)
{
	uint64_t deadline = histo_now_ns() + wait_ms * 1000000ULL;
	long owner = 0;
	int ret;

	while ((ret = control_try_lock(c, &owner)) <= 0) {
		if (ret < 0 && ret != -EAGAIN)
			return ret;
		if (!ret && histo_now_ns() >= deadline)
			return err_errno(EEXIST, c->path,
					 "--control: in use by a running vmm (pid %ld holds %s); "
					 "refusing it",
					 owner, c->lock_path);
		usleep(10000);
	}
	return 0;
}

/* With the lock held: a socket file there is stale (its vmm is gone) and
 * is replaced; anything else there is refused. */
static int control_check_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(path, "--control: stat");
	if (!S_ISSOCK(st.st_mode))
		return err_errno(EEXIST, path,
				 "--control: exists and is not a socket; refusing it");
	return unlink(path) < 0 ? err_sys(path, "--control: unlink stale socket") : 0;
}

static int control_bind(struct control *c, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;

	memcpy(a.sun_path, path, strlen(path) + 1);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0)
		return err_sys(path, "--control: socket");
	if (bind(c->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return err_sys(path, "--control: bind");
	if (stat(path, &st) < 0)
		return err_sys(path, "--control: stat");
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->bound = true;
	/* Before listen, so that no one connects while it is open to all. */
	if (chmod(path, 0600) < 0)
		return err_sys(path, "--control: chmod 0600");
	if (listen(c->listen_fd, CONTROL_MAX_CLIENTS) < 0)
		return err_sys(path, "--control: listen");
	return 0;
}

int control_open(struct control *c, const char *path, unsigned wait_ms)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->listen_fd = c->stop_fd = c->lock_fd = -1;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->client[i].fd = -1;
	if (!*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return err_input("--control", "'%s': expected a path of 1 to %zu bytes", path,
				 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	c->path = path;
	if (asprintf(&c->lock_path, "%s.lock", path) < 0) {
		c->lock_path = NULL;
		ret = err_errno(ENOMEM, path, "--control: out of memory");
	} else {
		ret = control_lock(c, wait_ms);
	}
	if (!ret)
		ret = control_check_path(path);
	if (!ret)
		ret = control_bind(c, path);
	if (!ret) {
		c->stop_fd = eventfd(0, EFD_CLOEXEC);
		if (c->stop_fd < 0)
			ret = err_sys(path, "--control: eventfd");
	}
	if (ret)
		control_close(c);
	return ret;
}

static void control_drop(struct control_client *cl)
{
	close(cl->fd);
	cl->fd = -1;
	cl->len = 0;
	cl->refused = false;
}

/* A client that does not read its replies is dropped, not waited for:
 * afterwards cl->fd is -1 and its buffer empty. */
static void control_send(struct control_client *cl, char *reply)
{
	size_t len = strlen(reply), off = 0;

	reply[len++] = '\n'; /* json_dumps left room: the NUL */
	while (off < len) {
		ssize_t n = send(cl->fd, reply + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			control_drop(cl);
			break;
		}
		off += n;
	}
	free(reply);
}

/* The line is refused and the connection ends, but only once the client
 * has sent the rest of it: a client still writing its line when the
 * socket closed would get EPIPE and never read the reply. Until then its
 * input is read and thrown away. */
static void control_refuse(struct control_client *cl, const char *why)
{
	control_send(cl, control_reply(NULL, NULL, why));
	if (cl->fd < 0)
		return;
	shutdown(cl->fd, SHUT_WR);
	cl->refused = true;
	cl->len = 0;
}

/* Serve every whole line in the client's buffer. */
static void control_serve_lines(struct control *c, struct control_client *cl)
{
	char *nl;

	while (cl->fd >= 0 && (nl = memchr(cl->buf, '\n', cl->len))) {
		size_t n = nl - cl->buf;
		char *reply = control_handle_line(c, cl->buf, n);

		/* The line is taken out before the reply goes: a send that
		 * drops the client empties the buffer. */
		cl->len -= n + 1;
		memmove(cl->buf, nl + 1, cl->len);
		control_send(cl, reply);
	}
	if (cl->fd >= 0 && cl->len >= CONTROL_MAX_REQUEST)
		control_refuse(cl, "request: longer than 4096 bytes");
}

/* After a refusal: the rest of the line is read and dropped, and the
 * connection closed at its end (or the client's). */
static void control_discard(struct control_client *cl)
{
	char buf[CONTROL_MAX_REQUEST];
	ssize_t n = read(cl->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0 || memchr(buf, '\n', n))
		control_drop(cl);
}

void control_serve(struct control *c, struct control_client *cl)
{
	ssize_t n;

	if (cl->refused) {
		control_discard(cl);
		return;
	}
	n = read(cl->fd, cl->buf + cl->len, CONTROL_MAX_REQUEST - cl->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		control_drop(cl);
		return;
	}
	cl->len += n;
	control_serve_lines(c, cl);
}

static void control_accept(struct control *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct control_client extra = {.fd = fd};

	if (fd < 0)
		return;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->client[i].fd < 0) {
			c->client[i] = (struct control_client){.fd = fd};
			return;
		}
	/* The send closes fd if it fails: then it is closed already. */
	control_send(&extra, control_reply(NULL, NULL, "too many clients (16 at most)"));
	if (extra.fd >= 0)
		close(extra.fd);
}

static void *control_thread(void *arg)
{
	struct control *c = arg;
	struct pollfd p[CONTROL_MAX_CLIENTS + 2];

	for (;;) {
		p[0] = (struct pollfd){.fd = c->stop_fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = c->listen_fd, .events = POLLIN};
		for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
			p[i + 2] = (struct pollfd){.fd = c->client[i].fd, .events = POLLIN};
		if (poll(p, CONTROL_MAX_CLIENTS + 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN)
			control_accept(c);
		for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
			if (c->client[i].fd >= 0 && p[i + 2].revents)
				control_serve(c, &c->client[i]);
	}
	return NULL;
}

int control_start(struct control *c, struct vm *vm, enum guest_ram_manager manager)
{
	int ret;

	c->vm = vm;
	c->manager = manager;
	ret = pthread_create(&c->thread, NULL, control_thread, c);
	if (ret)
		return err_errno(ret, c->path, "--control: cannot start its thread");
	c->running = true;
	return 0;
}

/* The socket file, if it is still ours, then the lock file, then the
 * lock: whoever takes the lock next finds no socket of ours. */
static void control_unlink(struct control *c)
{
	struct stat st;

	if (c->bound && c->path && stat(c->path, &st) == 0 && st.st_dev == c->dev &&
	    st.st_ino == c->ino)
		unlink(c->path);
	if (c->lock_fd >= 0 && c->lock_path && stat(c->lock_path, &st) == 0 &&
	    st.st_dev == c->lock_dev && st.st_ino == c->lock_ino)
		unlink(c->lock_path);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
}

void control_close(struct control *c)
{
	if (c->running) {
		if (write(c->stop_fd, &(uint64_t){1}, sizeof(uint64_t)) == sizeof(uint64_t))
			pthread_join(c->thread, NULL);
		c->running = false;
	}
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->client[i].fd >= 0)
			control_drop(&c->client[i]);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	control_unlink(c);
	free(c->lock_path);
	c->listen_fd = c->stop_fd = c->lock_fd = -1;
	c->lock_path = NULL;
	c->path = NULL;
	c->bound = false;
}
