/* vmm/control/control_client.c: vmm stat|pause|resume|stop, the client side of the
 * control socket (see control.h for the protocol). */
#include "control_client.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "histo.h"
#include "vm.h"

#define CONTROL_CLIENT_TIMEOUT_MS 60000 /* a pause waits for its vCPUs at most 10 s */

/* A connection on a listener whose backlog is full: again until deadline
 * (CLOCK_MONOTONIC ns). AF_UNIX has no connect in progress to poll for. */
static int control_client_connect_by(int fd, const char *path, const struct sockaddr_un *a,
				     unsigned timeout_ms)
{
	uint64_t deadline = histo_now_ns() + timeout_ms * 1000000ULL;

	while (connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return err_errno(errno, path,
					 "--control: connect: %s (is a vmm run serving it?)",
					 strerror(errno));
		if (histo_now_ns() >= deadline)
			return err_errno(ETIMEDOUT, path,
					 "--control: connect: the socket did not take the "
					 "connection (its backlog stayed full) within %u ms",
					 timeout_ms);
		usleep(10000);
	}
	return 0;
}

int control_client_connect(const char *path, unsigned timeout_ms)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, ret;

	if (strlen(path) >= sizeof(a.sun_path))
		return err_input(path, "--control: path longer than %zu bytes",
				 sizeof(a.sun_path) - 1);
	memcpy(a.sun_path, path, strlen(path) + 1);
	/* Non-blocking, so that a listener that never accepts cannot hold
	 * connect(); blocking again once connected. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_sys(path, "socket");
	ret = control_client_connect_by(fd, path, &a, timeout_ms);
	if (!ret && fcntl(fd, F_SETFL, 0) < 0)
		ret = err_sys(path, "fcntl");
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Read one reply line into buf by deadline (CLOCK_MONOTONIC ns); 0 or
 * -errno. */
static int control_client_read_line(int fd, const char *path, char *buf, size_t size,
				    uint64_t deadline)
{
	size_t len = 0;

	while (len < size - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = histo_now_ns();
		ssize_t n;

		if (now >= deadline || poll(&p, 1, (int)((deadline - now + 999999) / 1000000)) == 0)
			return err_errno(ETIMEDOUT, path, "no reply within %d s",
					 CONTROL_CLIENT_TIMEOUT_MS / 1000);
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? err_sys(path, "read")
				     : err_errno(EPIPE, path, "closed without a reply");
		len += n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len))
			return 0;
	}
	return err_errno(E2BIG, path, "reply longer than %zu bytes", size - 1);
}

/* Send req on fd and read its reply: the reply object (to json_decref),
 * or NULL with the failure reported. */
#define CONTROL_REPLY_MAX (1 << 20)
/* The buffer is the heap's, not thread-local: static TLS is set up in
 * every thread of the vmm that links this, a fork child's three too. */
static json_t *control_client_ask(int fd, const char *path, json_t *req)
{
	char *text = json_dumps(req, JSON_COMPACT), *reply = malloc(CONTROL_REPLY_MAX);
	size_t len = text ? strlen(text) : 0;
	json_t *r = NULL;

	if (!text || !reply) {
		err_errno(ENOMEM, path, "request");
		free(text);
		free(reply);
		return NULL;
	}
	text[len] = '\n'; /* json_dumps left room: the NUL */
	if (send(fd, text, len + 1, MSG_NOSIGNAL) != (ssize_t)(len + 1))
		err_sys(path, "send");
	else if (!control_client_read_line(fd, path, reply, CONTROL_REPLY_MAX,
					   histo_now_ns() +
					       CONTROL_CLIENT_TIMEOUT_MS * 1000000ULL) &&
		 !(r = json_loads(reply, 0, NULL)))
		err_input(path, "reply is not JSON: %.80s", reply);
	free(text);
	free(reply);
	return r;
}

/* The result of reply r, with *status: VMM_STATUS_OK; NULL and
 * VMM_STATUS_GUEST_FAIL if the VM refused (its reason printed), or
 * VMM_STATUS_INTERNAL if r is no control reply. */
static json_t *control_client_result(json_t *r, const char *cmd, int *status)
{
	json_t *ok = json_object_get(r, "ok");
	const char *e;

	if (!json_is_boolean(ok)) {
		err_input(cmd, "the reply is not a control reply");
		*status = VMM_STATUS_INTERNAL;
		return NULL;
	}
	if (json_is_true(ok)) {
		*status = VMM_STATUS_OK;
		return json_object_get(r, "result");
	}
	e = json_string_value(json_object_get(r, "error"));
	err_input(cmd, "refused: %s", e ? e : "(no reason given)");
	*status = VMM_STATUS_GUEST_FAIL;
	return NULL;
}

/* stat prints its result, as JSON on stdout; the others print nothing. */
static int control_client_simple(int fd, const char *path, const char *cmd, unsigned count)
{
	json_t *req = count ? json_pack("{s:i, s:s, s:i}", "id", 1, "cmd", cmd, "count", count)
			    : json_pack("{s:i, s:s}", "id", 1, "cmd", cmd);
	json_t *r = req ? control_client_ask(fd, path, req) : NULL, *result;
	int status = VMM_STATUS_INTERNAL;

	result = r ? control_client_result(r, cmd, &status) : NULL;
	if (result && (!strcmp(cmd, "stat") || count)) {
		json_dumpf(result, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(r);
	json_decref(req);
	return status;
}

static uint64_t control_client_u64(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* One line on stderr: pages, MiB written, MiB/s and the time left. */
static void control_client_progress(json_t *st, double secs)
{
	uint64_t total = control_client_u64(st, "pages_total");
	uint64_t done = control_client_u64(st, "pages_done");
	double mib = control_client_u64(st, "bytes") / 1048576.0, rate = secs > 0 ? mib / secs : 0;
	double pages_s = secs > 0 ? done / secs : 0;

	fprintf(stderr,
		"vmm snapshot: %llu of %llu pages (%.0f%%), %.1f MiB written, %.1f MiB/s, ETA %.0f "
		"s\n",
		(unsigned long long)done, (unsigned long long)total,
		total ? 100.0 * done / total : 100.0, mib, rate,
		pages_s > 0 ? (total - done) / pages_s : 0.0);
}

/* The VM ended while its snapshot was written, and took the socket with
 * it: the snapshot is there if its directory is. */
static int control_client_lost(const char *dir)
{
	char file[4200];

	snprintf(file, sizeof(file), "%s/snapshot", dir);
	if (access(file, R_OK) == 0) {
		fprintf(stderr, "vmm snapshot: the VM has exited; %s is complete\n", dir);
		return VMM_STATUS_OK;
	}
	err_input(dir, "the VM exited before the snapshot was on disk");
	return VMM_STATUS_INTERNAL;
}

/* How long to wait before asking again, elapsed_ns into a snapshot: a
 * twentieth of it, between 2 and 100 ms, so that the end is seen at most
 * 5% late (a fixed 100 ms made a 40 ms snapshot of 64M return after 110)
 * while a long one costs the vmm ten requests a second. */
static useconds_t control_client_poll_us(uint64_t elapsed_ns)
{
	uint64_t us = elapsed_ns / 20 / 1000;

	return us < 2000 ? 2000 : us > 100000 ? 100000 : (useconds_t)us;
}

/* Poll snapshot number id, the one this client started (another client
 * may start the next), until it is on disk; its summary goes to stdout. */
static int control_client_follow(int fd, const char *path, const char *dir, json_int_t id)
{
	json_t *req =
	    json_pack("{s:i, s:s, s:I}", "id", 2, "cmd", "snapshot-status", "snapshot", id);
	uint64_t t0 = histo_now_ns(), last = 0;
	int status = VMM_STATUS_INTERNAL;

	for (bool done = false; !done;) {
		bool quiet = err_set_quiet(true);
		json_t *r = control_client_ask(fd, path, req), *st;
		const char *phase;

		err_set_quiet(quiet);
		if (!r)
			return json_decref(req), control_client_lost(dir);
		st = control_client_result(r, "snapshot", &status);
		phase = json_string_value(json_object_get(st, "phase"));
		done = !st || !phase || strcmp(phase, "writing");
		if (done && phase) {
			control_client_progress(st, (histo_now_ns() - t0) / 1e9);
			status = !strcmp(phase, "done") ? VMM_STATUS_OK : VMM_STATUS_INTERNAL;
			if (status)
				err_input(dir, "snapshot failed: %s",
					  json_string_value(json_object_get(st, "error")));
			json_dumpf(st, stdout, JSON_COMPACT);
			putchar('\n');
		} else if (!done && histo_now_ns() - last >= 1000000000ULL) {
			control_client_progress(st, (histo_now_ns() - t0) / 1e9);
			last = histo_now_ns();
		}
		json_decref(r);
		if (!done)
			usleep(control_client_poll_us(histo_now_ns() - t0));
	}
	json_decref(req);
	return status;
}

/* The directory as the vmm serving the socket will see it: absolute, since
 * its working directory is not ours. */
static int control_client_abs(const char *out, char *buf, size_t size)
{
	char cwd[4096];

	if (out[0] == '/')
		return snprintf(buf, size, "%s", out) < (int)size ? 0 : -ENAMETOOLONG;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return snprintf(buf, size, "%s/%s", cwd, out) < (int)size ? 0 : -ENAMETOOLONG;
}

static int control_client_snapshot(int fd, const char *path, const char *out, bool hash)
{
	char dir[4096];
	json_t *req, *r, *result;
	json_int_t id;
	int status = VMM_STATUS_INTERNAL, ret = control_client_abs(out, dir, sizeof(dir));

	if (ret)
		return err_errno(-ret, out, "--out: cannot make it absolute"), VMM_STATUS_USAGE;
	req = json_pack("{s:i, s:s, s:s, s:b}", "id", 1, "cmd", "snapshot", "out", dir,
			"hash_memory", hash);
	r = req ? control_client_ask(fd, path, req) : NULL;
	result = r ? control_client_result(r, "snapshot", &status) : NULL;
	id = json_integer_value(json_object_get(result, "snapshot"));
	if (result && id < 1) {
		err_input(path, "the snapshot reply gives no snapshot number");
		status = VMM_STATUS_INTERNAL;
	} else if (result) {
		status = control_client_follow(fd, path, dir, id);
	}
	json_decref(r);
	json_decref(req);
	return status;
}

int control_client_run(const struct ctl_opts *o)
{
	const char *path = o->control, *cmd = o->cmd;
	int fd = control_client_connect(path, CONTROL_CLIENT_CONNECT_MS), status;

	/* No socket there, no one serving it, or not ours to use: usage. */
	if (fd < 0)
		return fd == -ENOENT || fd == -ECONNREFUSED || fd == -ENOTSOCK || fd == -EINVAL ||
			       fd == -EACCES || fd == -EPERM || fd == -ENOTDIR
			   ? VMM_STATUS_USAGE
			   : VMM_STATUS_INTERNAL;
	if (!strcmp(cmd, "snapshot"))
		status = control_client_snapshot(fd, path, o->out, o->hash_memory);
	else
		status = control_client_simple(fd, path, cmd, o->count);
	close(fd);
	return status;
}
