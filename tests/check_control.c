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
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "err.h"
#include "testlib.h"
#include "vm.h"

static struct vm vm;
static struct control ctl;
static char path[64];

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.fd = vm.stats_fd = vm.vcpu.fd = vm.vcpu.stats_fd = -1;
	vm_init_sync(&vm);
	console_init(&vm.con, -1);
	snprintf(path, sizeof(path), "/tmp/check_control.%d.sock", getpid());
	unlink(path);
	memset(&ctl, 0, sizeof(ctl));
	ctl.vm = &vm;
	ctl.manager = GUEST_RAM_MANAGER_KERNEL;
}

static void teardown(void)
{
	control_close(&ctl);
	unlink(path);
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
	ck_assert_uint_eq(vm.pause.pauses, 1);
	ck_assert_uint_eq(vm.pause.resumes, 1);
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

	while (!__atomic_load_n(&v->pause_req, __ATOMIC_SEQ_CST))
		usleep(1000);
	usleep(200000);
	pthread_mutex_lock(&v->stop_lock);
	v->nr_parked++;
	pthread_cond_broadcast(&v->state_cond);
	pthread_mutex_unlock(&v->stop_lock);
	return NULL;
}

/* The pause returns once every vCPU has parked, not before and not with a
 * timeout: its deadline is on the clock the condition waits on. */
START_TEST(control_pause_waits_for_every_vcpu_to_park)
{
	pthread_t t;

	vm.nr_running = 1;
	ck_assert_int_eq(pthread_create(&t, NULL, slow_vcpu, &vm), 0);
	expect_ok("{\"cmd\": \"pause\"}");
	ck_assert_int_eq(vm.nr_parked, 1);
	pthread_join(t, NULL);
	vm.nr_parked = vm.nr_running = 0;
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

static json_t *client_ask(int fd, const char *line)
{
	char buf[1 << 16];
	size_t len = 0;
	json_error_t e;

	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
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

START_TEST(control_socket_is_private_and_removed_at_close)
{
	struct stat st;

	ck_assert_int_eq(control_open(&ctl, path), 0);
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

	ck_assert_int_eq(control_open(&ctl, path), 0);
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

	ck_assert_int_eq(control_open(&ctl, path), 0);
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

START_TEST(control_refuses_a_live_socket_or_another_file)
{
	struct control other;
	int fd;

	ck_assert_int_eq(control_open(&ctl, path), 0);
	ck_assert_int_eq(control_open(&other, path), -EEXIST);
	ck_assert_ptr_nonnull(strstr(last_error(), "live socket"));
	control_close(&ctl);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(control_open(&other, path), -EEXIST);
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
	ck_assert_int_eq(control_open(&ctl, path), 0);
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *proto = tcase_create("protocol");
	TCase *sock = tcase_create("socket");

	tcase_add_checked_fixture(proto, setup, teardown);
	tcase_add_test(proto, control_malformed_requests_get_an_error_reply);
	tcase_add_test(proto, control_reply_carries_the_request_id);
	tcase_add_test(proto,
		       control_snapshot_is_refused_without_the_vmm_manager_and_status_says_none);
	tcase_add_test(proto, control_out_of_order_requests_are_refused);
	tcase_add_test(proto, control_pause_waits_for_every_vcpu_to_park);
	suite_add_tcase(s, proto);
	tcase_add_checked_fixture(sock, setup, teardown);
	tcase_add_test(sock, control_socket_is_private_and_removed_at_close);
	tcase_add_test(sock, control_silent_client_blocks_no_one);
	tcase_add_test(sock, control_oversized_request_is_refused);
	tcase_add_test(sock, control_refuses_a_live_socket_or_another_file);
	tcase_add_test(sock, control_replaces_a_stale_socket);
	suite_add_tcase(s, sock);
	return s;
}

int main(void)
{
	return testlib_run(control_suite());
}
