/* tests/check_control.c: the control socket, without KVM: a VM with no
 * vCPU thread stands in (its pause is acknowledged at once), and clients
 * are sockets in this process. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <grp.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "control_client.h"
#include "err.h"
#include "testlib.h"
#include "vm.h"

static struct vm vm;
static struct control ctl;
static char path[64], lock_path[80];

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.fd = vm.stats_fd = vm.vcpu.fd = vm.vcpu.stats_fd = -1;
	vm_init_sync(&vm);
	console_init(&vm.con, -1);
	snprintf(path, sizeof(path), "/tmp/check_control.%d.sock", getpid());
	snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
	unlink(path);
	unlink(lock_path);
	memset(&ctl, 0, sizeof(ctl));
	ctl.vm = &vm;
	ctl.manager = GUEST_RAM_MANAGER_KERNEL;
}

static void teardown(void)
{
	control_close(&ctl);
	unlink(path);
	unlink(lock_path);
	console_destroy(&vm.con);
}

/* Send one request line through control_handle_line; return the reply. */
static json_t *ask(const char *line)
{
	char *reply = control_handle_line(&ctl, line, strlen(line));
	json_error_t e;
	json_t *r = json_loads(reply, 0, &e);

	ck_assert_msg(r, "reply is not JSON: %s", reply);
	free(reply);
	return r;
}

static void expect_error(const char *line, const char *text)
{
	json_t *r = ask(line);
	const char *e = json_string_value(json_object_get(r, "error"));

	ck_assert(json_is_false(json_object_get(r, "ok")));
	ck_assert_msg(e && strstr(e, text), "error '%s' for %s, expected '%s'", e, line, text);
	json_decref(r);
}

static void expect_ok(const char *line)
{
	json_t *r = ask(line);

	ck_assert_msg(json_is_true(json_object_get(r, "ok")), "not ok: %s", line);
	json_decref(r);
}

START_TEST(control_malformed_requests_get_an_error_reply)
{
	expect_error("{\"cmd\": ", "not valid JSON");
	expect_error("[1, 2]", "expected a JSON object");
	expect_error("{\"id\": 1}", "expected a \"cmd\" string");
	expect_error("{\"cmd\": 7}", "expected a \"cmd\" string");
	expect_error("{\"cmd\": \"reboot\"}", "unknown cmd");
	expect_error("{\"cmd\": \"stat\", \"x\": [[[[[[[[[1]]]]]]]]]}", "nested deeper");
	expect_error("{\"cmd\": \"stat\", \"cmd\": \"stop\"}", "not valid JSON");
	expect_error("{\"cmd\": \"snapshot\"}", "expected \"out\"");
	expect_error("{\"cmd\": \"snapshot\", \"out\": 7}", "expected \"out\"");
	expect_error("{\"cmd\": \"snapshot\", \"out\": \"\"}", "expected \"out\"");
	expect_error("{\"cmd\": \"fork\"}", "expected \"count\"");
	expect_error("{\"cmd\": \"fork\", \"count\": 0}", "expected \"count\"");
	expect_error("{\"cmd\": \"fork\", \"count\": 65}", "expected \"count\"");
	expect_error("{\"cmd\": \"fork\", \"count\": \"2\"}", "expected \"count\"");
	ck_assert(!vm.done);
}
END_TEST

/* This VM has no memory of the VMM's own (as with the kernel manager). */
START_TEST(control_snapshot_is_refused_without_the_vmm_manager_and_status_says_none)
{
	json_t *r = ask("{\"cmd\": \"snapshot-status\"}");

	expect_error("{\"cmd\": \"snapshot\", \"out\": \"/nonexistent/s\"}", "vmm memory manager");
	expect_error("{\"cmd\": \"fork\", \"count\": 2}", "cannot have children here");
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "result"), "phase")),
			 "none");
	json_decref(r);
	ck_assert(!vm.done);
}
END_TEST

START_TEST(control_reply_carries_the_request_id)
{
	json_t *r = ask("{\"id\": \"abc\", \"cmd\": \"stat\"}");

	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "abc");
	ck_assert(json_is_object(json_object_get(json_object_get(r, "result"), "vmm")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "result"), "state")),
			 "running");
	json_decref(r);
}
END_TEST

START_TEST(control_out_of_order_requests_are_refused)
{
	expect_error("{\"cmd\": \"resume\"}", "not paused");
	expect_ok("{\"cmd\": \"pause\"}");
	expect_error("{\"cmd\": \"pause\"}", "paused already");
	expect_ok("{\"cmd\": \"resume\"}");
	ck_assert_uint_eq(vm.run.pause.pauses, 1);
	ck_assert_uint_eq(vm.run.pause.resumes, 1);
	expect_ok("{\"cmd\": \"stop\"}");
	ck_assert(vm.done);
	ck_assert_ptr_nonnull(strstr(vm.reason, "stopped by request"));
	expect_error("{\"cmd\": \"stop\"}", "stopped already");
	expect_error("{\"cmd\": \"pause\"}", "has stopped");
}
END_TEST

/* Stands in for a vCPU that takes a while to leave KVM_RUN: parks some
 * time after the pause was asked for. */
static void *slow_vcpu(void *arg)
{
	struct vm *v = arg;

	while (!__atomic_load_n(&v->run.pause_req, __ATOMIC_SEQ_CST))
		usleep(1000);
	usleep(200000);
	pthread_mutex_lock(&v->run.lock);
	v->run.nr_parked++;
	pthread_cond_broadcast(&v->run.cond);
	pthread_mutex_unlock(&v->run.lock);
	return NULL;
}

/* The pause returns once every vCPU has parked, not before and not with a
 * timeout: its deadline is on the clock the condition waits on. */
START_TEST(control_pause_waits_for_every_vcpu_to_park)
{
	pthread_t t;

	vm.run.nr_running = 1;
	ck_assert_int_eq(pthread_create(&t, NULL, slow_vcpu, &vm), 0);
	expect_ok("{\"cmd\": \"pause\"}");
	ck_assert_int_eq(vm.run.nr_parked, 1);
	pthread_join(t, NULL);
	vm.run.nr_parked = vm.run.nr_running = 0;
}
END_TEST

static int client(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static json_t *client_reply(int fd)
{
	char buf[1 << 16];
	size_t len = 0;
	json_error_t e;

	while (!memchr(buf, '\n', len)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		ck_assert_int_eq(poll(&p, 1, 10000), 1);
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		ck_assert_int_gt(n, 0);
		len += n;
	}
	buf[len] = '\0';
	return json_loads(buf, 0, &e);
}

static json_t *client_ask(int fd, const char *line)
{
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	return client_reply(fd);
}

START_TEST(control_socket_is_private_and_removed_at_close)
{
	struct stat st;

	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	control_close(&ctl);
	ck_assert_int_eq(stat(path, &st), -1);
}
END_TEST

START_TEST(control_silent_client_blocks_no_one)
{
	int silent, other;
	json_t *r;

	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
	ck_assert_int_eq(control_start(&ctl, &vm, GUEST_RAM_MANAGER_KERNEL), 0);
	silent = client();
	ck_assert_int_eq(write(silent, "{\"cmd\"", 6), 6); /* half a request, never ended */
	other = client();
	r = client_ask(other, "{\"id\": 2, \"cmd\": \"stat\"}\n");
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	close(silent);
	close(other);
}
END_TEST

START_TEST(control_oversized_request_is_refused)
{
	static char big[CONTROL_MAX_REQUEST + 100];
	int fd;
	json_t *r;

	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
	ck_assert_int_eq(control_start(&ctl, &vm, GUEST_RAM_MANAGER_KERNEL), 0);
	fd = client();
	memset(big, ' ', sizeof(big) - 1);
	r = client_ask(fd, big);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r, "error")), "longer"));
	json_decref(r);
	close(fd);
	ck_assert(!vm.done);
}
END_TEST

START_TEST(control_refuses_a_socket_another_vmm_holds_or_another_file)
{
	struct control other;
	char want[64];
	int fd;

	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
	ck_assert_int_eq(control_open(&other, path, 0), -EEXIST);
	snprintf(want, sizeof(want), "pid %d holds", (int)getpid());
	ck_assert_msg(strstr(last_error(), want), "%s", last_error());
	control_close(&ctl);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(control_open(&other, path, 0), -EEXIST);
	ck_assert_ptr_nonnull(strstr(last_error(), "not a socket"));
}
END_TEST

START_TEST(control_replaces_a_stale_socket)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(a.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd); /* a socket file no one listens on: a killed vmm's */
	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
}
END_TEST

/* A vmm that is exiting still listens for a moment, and still holds the
 * lock: the next one waits for the lock and takes the socket over; it
 * does not ask the dying one, which would still take the connection. */
START_TEST(control_waits_for_a_dying_vmm_instead_of_refusing_its_socket)
{
	struct control dying;
	int ready[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (control_open(&dying, path, 0))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		usleep(300000); /* dying: its socket still listens */
		_exit(0);	/* the kernel closes its fds: no control_close */
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(control_open(&ctl, path, 30000), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

START_TEST(control_lock_file_goes_with_the_socket)
{
	char lock[80];
	struct stat st;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
	ck_assert_int_eq(stat(lock, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	control_close(&ctl);
	ck_assert_int_eq(stat(lock, &st), -1);
	ck_assert_int_eq(stat(path, &st), -1);
}
END_TEST

/* The server still answers a new client, and the VM runs on. */
static void expect_served_on(void)
{
	int fd = client();
	json_t *r = client_ask(fd, "{\"id\": 2, \"cmd\": \"stat\"}\n");

	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	close(fd);
	ck_assert(!vm.done);
}

/* Replies are bigger than requests: a client that sends many and reads
 * none fills its socket, is dropped, and nothing else changes (the
 * buffer of a dropped client was moved by a negative size). */
START_TEST(control_client_that_reads_no_reply_is_dropped_and_nothing_else_changes)
{
	static const char req[] = "{\"id\": 1, \"cmd\": \"stat\"}\n";
	static char many[1000 * (sizeof(req) - 1)];
	struct pollfd p = {.events = POLLRDHUP};
	int fd;
	char buf[4096];

	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
	ck_assert_int_eq(control_start(&ctl, &vm, GUEST_RAM_MANAGER_KERNEL), 0);
	p.fd = fd = client();
	for (size_t i = 0; i < 1000; i++)
		memcpy(many + i * (sizeof(req) - 1), req, sizeof(req) - 1);
	ck_assert_int_eq(send(fd, many, sizeof(many), MSG_NOSIGNAL), (ssize_t)sizeof(many));
	/* Not a byte read until the server hangs up: it drops this client. */
	ck_assert_int_eq(poll(&p, 1, 60000), 1);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	expect_served_on();
}
END_TEST

/* A client gone before its reply is dropped the same way. */
START_TEST(control_client_gone_before_its_reply_is_dropped)
{
	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
	ck_assert_int_eq(control_start(&ctl, &vm, GUEST_RAM_MANAGER_KERNEL), 0);
	for (int i = 0; i < 50; i++) {
		int fd = client();

		ck_assert_int_eq(write(fd, "{\"cmd\": \"stat\"}\n{\"cmd\": \"stat\"}\n", 32), 32);
		close(fd);
	}
	expect_served_on();
}
END_TEST

/* Each level was looked at twice, so 60 levels took 2^60 steps. */
START_TEST(control_deep_nesting_is_refused_at_once)
{
	char line[256] = "{\"cmd\":\"stat\",\"x\":";

	memset(line + strlen(line), '[', 60);
	memset(line + strlen(line), ']', 60);
	strcat(line, "}");
	expect_error(line, "nested deeper than 8 levels");
}
END_TEST

START_TEST(control_integer_id_past_64_bits_is_out_of_range)
{
	expect_error("{\"id\": 12345678901234567890, \"cmd\": \"stat\"}", "id out of range");
	expect_error("{\"id\": -12345678901234567890, \"cmd\": \"stat\"}", "id out of range");
	expect_error("{\"cmd\": \"fork\", \"count\": 99999999999999999999}", "out of range");
	expect_ok("{\"id\": 9223372036854775807, \"cmd\": \"stat\"}");
}
END_TEST

/* The refusal of a line too long reaches a client still writing it. */
static void *write_long_line(void *arg)
{
	static char line[256 << 10];
	int fd = *(int *)arg;

	memset(line, ' ', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	return (void *)(intptr_t)(send(fd, line, sizeof(line), MSG_NOSIGNAL) ==
				  (ssize_t)sizeof(line));
}

START_TEST(control_refusal_of_a_long_line_is_read_before_the_close)
{
	pthread_t t;
	void *sent;
	int fd;
	json_t *r;

	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
	ck_assert_int_eq(control_start(&ctl, &vm, GUEST_RAM_MANAGER_KERNEL), 0);
	fd = client();
	ck_assert_int_eq(pthread_create(&t, NULL, write_long_line, &fd), 0);
	pthread_join(t, &sent);
	ck_assert_msg(sent, "the line could not be sent whole: the server closed first");
	r = client_reply(fd);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r, "error")), "longer"));
	json_decref(r);
	close(fd);
}
END_TEST

/* The socket layer's closes, counted: a second close of an fd number is
 * EBADF, or worse, another thread's new fd. */
static int closes_ebadf;

int close(int fd)
{
	long r = syscall(SYS_close, fd);

	if (r < 0 && errno == EBADF)
		__atomic_add_fetch(&closes_ebadf, 1, __ATOMIC_SEQ_CST);
	return r < 0 ? -1 : 0;
}

/* The 17th client gets "too many clients", or its fd closed if that
 * cannot be sent: closed once. */
START_TEST(control_client_past_the_limit_is_closed_once)
{
	int fd[CONTROL_MAX_CLIENTS], extra;

	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		fd[i] = client();
	extra = client();
	close(extra); /* before the server accepts it: its reply cannot be sent */
	closes_ebadf = 0;
	ck_assert_int_eq(control_start(&ctl, &vm, GUEST_RAM_MANAGER_KERNEL), 0);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		json_t *r = client_ask(fd[i], "{\"cmd\": \"stat\"}\n");

		ck_assert(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
	}
	control_close(&ctl);
	ck_assert_int_eq(closes_ebadf, 0);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		close(fd[i]);
}
END_TEST

/* A listener that never accepts, its backlog full: the client gives up. */
START_TEST(control_client_connect_gives_up_on_a_full_backlog)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int l = socket(AF_UNIX, SOCK_STREAM, 0), fill[4];

	strcpy(a.sun_path, path);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 0), 0);
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	ck_assert_int_eq(control_client_connect(path, 200), -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(last_error(), "did not take the connection"));
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(l);
}
END_TEST

/* A socket this user may not use: a usage error (2), not a failure (4). */
START_TEST(control_client_without_permission_is_a_usage_error)
{
	struct ctl_opts o = {.cmd = "stat", .control = path};
	pid_t pid;
	int st;

	ck_assert_int_eq(control_open(&ctl, path, 0), 0);
	chmod(path, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* root passes permission checks: be nobody */
		if (geteuid() == 0 && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(99);
		_exit(control_client_run(&o));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), VMM_STATUS_USAGE);
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *proto = tcase_create("protocol");
	TCase *sock = tcase_create("socket");

	tcase_add_checked_fixture(proto, setup, teardown);
	tcase_set_timeout(proto, 60);
	tcase_set_timeout(sock, 60);
	tcase_add_test(proto, control_malformed_requests_get_an_error_reply);
	tcase_add_test(proto, control_reply_carries_the_request_id);
	tcase_add_test(proto,
		       control_snapshot_is_refused_without_the_vmm_manager_and_status_says_none);
	tcase_add_test(proto, control_out_of_order_requests_are_refused);
	tcase_add_test(proto, control_pause_waits_for_every_vcpu_to_park);
	tcase_add_test(proto, control_deep_nesting_is_refused_at_once);
	tcase_add_test(proto, control_integer_id_past_64_bits_is_out_of_range);
	suite_add_tcase(s, proto);
	tcase_add_checked_fixture(sock, setup, teardown);
	tcase_add_test(sock, control_socket_is_private_and_removed_at_close);
	tcase_add_test(sock, control_silent_client_blocks_no_one);
	tcase_add_test(sock, control_oversized_request_is_refused);
	tcase_add_test(sock, control_refuses_a_socket_another_vmm_holds_or_another_file);
	tcase_add_test(sock, control_replaces_a_stale_socket);
	tcase_add_test(sock, control_waits_for_a_dying_vmm_instead_of_refusing_its_socket);
	tcase_add_test(sock, control_lock_file_goes_with_the_socket);
	tcase_add_test(sock,
		       control_client_that_reads_no_reply_is_dropped_and_nothing_else_changes);
	tcase_add_test(sock, control_client_gone_before_its_reply_is_dropped);
	tcase_add_test(sock, control_refusal_of_a_long_line_is_read_before_the_close);
	tcase_add_test(sock, control_client_past_the_limit_is_closed_once);
	tcase_add_test(sock, control_client_connect_gives_up_on_a_full_backlog);
	tcase_add_test(sock, control_client_without_permission_is_a_usage_error);
	suite_add_tcase(s, sock);
	return s;
}

int main(void)
{
	return testlib_run(control_suite());
}
