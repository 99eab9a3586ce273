/* vmm/control/control_client.c: vmm stat|pause|resume|stop, the client side of the
 * control socket (see control.h for the protocol). */
#include "control_client.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "vm.h"

#define CONTROL_CLIENT_TIMEOUT_MS 60000 /* a pause waits for its vCPUs at most 10 s */

static int control_client_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return err_input(path, "--control: path longer than %zu bytes",
				 sizeof(a.sun_path) - 1);
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(path, "socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int ret =
		    err_errno(errno, path, "--control: connect: %s (is a vmm run serving it?)",
			      strerror(errno));

		close(fd);
		return ret;
	}
	return fd;
}

/* Read one reply line into buf; 0 or -errno. */
static int control_client_read_line(int fd, const char *path, char *buf, size_t size)
{
	size_t len = 0;

	while (len < size - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, CONTROL_CLIENT_TIMEOUT_MS) == 0)
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

static int control_client_print(const char *path, const char *cmd, const char *line)
{
	json_error_t jerr;
	json_t *r = json_loads(line, 0, &jerr);
	json_t *ok = json_object_get(r, "ok"), *result = json_object_get(r, "result");
	int status = VMM_STATUS_INTERNAL;

	if (!json_is_boolean(ok)) {
		err_input(path, "reply is not a control reply: %.80s", line);
	} else if (!json_is_true(ok)) {
		const char *e = json_string_value(json_object_get(r, "error"));

		err_input(cmd, "refused: %s", e ? e : "(no reason given)");
		status = VMM_STATUS_GUEST_FAIL;
	} else {
		if (!strcmp(cmd, "stat") && result)
			json_dumpf(result, stdout, JSON_INDENT(2));
		if (!strcmp(cmd, "stat"))
			putchar('\n');
		status = VMM_STATUS_OK;
	}
	json_decref(r);
	return status;
}

int control_client_run(const char *path, const char *cmd)
{
	static char reply[1 << 20];
	char req[128];
	int fd = control_client_connect(path), len, status = VMM_STATUS_INTERNAL;

	if (fd < 0)
		return fd == -ENOENT || fd == -ECONNREFUSED || fd == -ENOTSOCK || fd == -EINVAL
			   ? VMM_STATUS_USAGE
			   : VMM_STATUS_INTERNAL;
	len = snprintf(req, sizeof(req), "{\"id\": 1, \"cmd\": \"%s\"}\n", cmd);
	if (send(fd, req, len, MSG_NOSIGNAL) != len)
		err_sys(path, "send");
	else if (!control_client_read_line(fd, path, reply, sizeof(reply)))
		status = control_client_print(path, cmd, reply);
	close(fd);
	return status;
}
