/* vmm/control/control.c: the control socket, see control.h. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "fleet.h"
#include "fork.h"
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
	unsigned n = c->vm->fleet ? fleet_count(c->vm->fleet) : 0;

	(void)req;
	if (!strcmp(vm_state_name(c->vm), "stopped") && !n) {
		*error = "stop: the VM has stopped already";
		return NULL;
	}
	vm_stop(c->vm, VMM_STATUS_CRASH, "stopped by request (control socket)");
	for (unsigned i = 0; i < n; i++)
		vm_stop(fleet_child_vm(c->vm->fleet, i), VMM_STATUS_CRASH,
			"stopped by request (control socket)");
	return json_pack("{s:s, s:i}", "state", "stopped", "children", n);
}

static const char *const control_snapshot_phases[] = {
    [SNAPSHOT_NONE] = "none",
    [SNAPSHOT_WRITING] = "writing",
    [SNAPSHOT_DONE] = "done",
    [SNAPSHOT_FAILED] = "failed",
};

/* The current or last snapshot: phase, progress and the pause in parts. */
static json_t *control_snapshot_status(struct control *c, json_t *req, const char **error)
{
	struct snapshot_progress p;
	json_t *r;

	(void)req;
	snapshot_status(c->vm, &p);
	r = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		      "phase", control_snapshot_phases[p.phase], "dir", p.dir, "pages_total",
		      (json_int_t)p.pages_total, "pages_done", (json_int_t)p.pages_done, "bytes",
		      (json_int_t)p.bytes, "pause_ns", (json_int_t)p.pause_ns, "park_ns",
		      (json_int_t)p.park_ns, "machine_ns", (json_int_t)p.machine_ns, "freeze_ns",
		      (json_int_t)p.freeze_ns, "resume_ns", (json_int_t)p.resume_ns, "arm_ns",
		      (json_int_t)p.arm_ns, "reprotected", (json_int_t)p.reprotected, "write_ns",
		      (json_int_t)p.write_ns, "saved_by_fault", (json_int_t)p.saved_by_fault,
		      "wp_faults", (json_int_t)p.wp_faults);
	if (r && p.phase == SNAPSHOT_FAILED)
		json_object_set_new(r, "error", json_string(p.error));
	if (!r)
		*error = "snapshot-status: out of memory";
	return r;
}

static json_t *control_snapshot(struct control *c, json_t *req, const char **error)
{
	json_t *out = json_object_get(req, "out"), *hash = json_object_get(req, "hash_memory");
	int ret;

	if (!json_is_string(out) || !*json_string_value(out)) {
		*error = "snapshot: expected \"out\": the directory to write, as a string";
		return NULL;
	}
	if (hash && !json_is_boolean(hash)) {
		*error = "snapshot: expected \"hash_memory\" to be true or false";
		return NULL;
	}
	ret = snapshot_start(c->vm, json_string_value(out), json_is_true(hash), c->error,
			     sizeof(c->error));
	if (ret) {
		*error = c->error;
		return NULL;
	}
	return control_snapshot_status(c, req, error);
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
	reply = json_pack(
	    "{s:i, s:i, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "count", r.count,
	    "generation", r.generation, "children", control_fork_ids(&r), "request_ns",
	    (json_int_t)r.request_ns, "arm_ns", (json_int_t)r.arm_ns, "reprotected",
	    (json_int_t)r.reprotected, "pause_ns", (json_int_t)r.pause_ns, "park_ns",
	    (json_int_t)r.park_ns, "machine_ns", (json_int_t)r.machine_ns, "freeze_ns",
	    (json_int_t)r.freeze_ns, "resume_ns", (json_int_t)r.resume_ns, "children_ns",
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

/* Levels of nesting: 1 for a flat object. */
static int control_depth(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;
	int d = 0;

	if (json_is_object(j)) {
		json_object_foreach(j, key, v) d = control_depth(v) > d ? control_depth(v) : d;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) d = control_depth(v) > d ? control_depth(v) : d;
	} else {
		return 0;
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
	} else if (control_depth(req) > CONTROL_MAX_DEPTH) {
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

char *control_handle_line(struct control *c, const char *line, size_t len)
{
	const char *error = NULL;
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *result = NULL;
	json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;
	control_fn fn = NULL;
	char *reply;

	if (!req)
		error = "request: not valid JSON";
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

/* A stale socket file (no one listening) is replaced; anything else there
 * is refused. */
static int control_check_path(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, live;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(path, "--control: stat");
	if (!S_ISSOCK(st.st_mode))
		return err_errno(EEXIST, path,
				 "--control: exists and is not a socket; refusing it");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(path, "--control: socket");
	memcpy(a.sun_path, path, strlen(path) + 1);
	live = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != ECONNREFUSED;
	close(fd);
	if (live)
		return err_errno(EEXIST, path,
				 "--control: a live socket is there (another vmm?); refusing it");
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
	/* Before listen, so that no one connects while it is open to all. */
	if (chmod(path, 0600) < 0 || stat(path, &st) < 0)
		return err_sys(path, "--control: chmod 0600");
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (listen(c->listen_fd, CONTROL_MAX_CLIENTS) < 0)
		return err_sys(path, "--control: listen");
	return 0;
}

int control_open(struct control *c, const char *path)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->listen_fd = c->stop_fd = -1;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->client[i].fd = -1;
	if (!*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return err_input("--control", "'%s': expected a path of 1 to %zu bytes", path,
				 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	ret = control_check_path(path);
	if (!ret)
		ret = control_bind(c, path);
	if (!ret) {
		c->path = path;
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
}

/* A client that does not read its replies is dropped, not waited for. */
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

/* Serve every whole line in the client's buffer. */
static void control_serve_lines(struct control *c, struct control_client *cl)
{
	char *nl;

	while (cl->fd >= 0 && (nl = memchr(cl->buf, '\n', cl->len))) {
		size_t n = nl - cl->buf;

		control_send(cl, control_handle_line(c, cl->buf, n));
		memmove(cl->buf, nl + 1, cl->len - n - 1);
		cl->len -= n + 1;
	}
	if (cl->fd >= 0 && cl->len >= CONTROL_MAX_REQUEST) {
		control_send(cl, control_reply(NULL, NULL, "request: longer than 4096 bytes"));
		if (cl->fd >= 0)
			control_drop(cl);
	}
}

static void control_read(struct control *c, struct control_client *cl)
{
	ssize_t n = read(cl->fd, cl->buf + cl->len, CONTROL_MAX_REQUEST - cl->len);

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

	if (fd < 0)
		return;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->client[i].fd < 0) {
			c->client[i].fd = fd;
			c->client[i].len = 0;
			return;
		}
	control_send(&(struct control_client){.fd = fd},
		     control_reply(NULL, NULL, "too many clients (16 at most)"));
	close(fd);
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
				control_read(c, &c->client[i]);
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

void control_close(struct control *c)
{
	struct stat st;

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
	if (c->path && stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	c->listen_fd = c->stop_fd = -1;
	c->path = NULL;
}
