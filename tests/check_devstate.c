/* tests/check_devstate.c: a VM's devices save as one run of sections and
 * restore from it into a fresh VM, each device once, whatever the order;
 * the exit port, which has no state, still has its versioned section. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devstate.h"
#include "forkid.h"
#include "hcall.h"
#include "testlib.h"
#include "vm.h"
#include "vmm_abi.h"

/* The devices of a VM and their rows, as vm_register_devices makes them. */
static void devstate_vm(struct vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	console_init(&vm->con, -1);
	serial_init(&vm->uart, VMM_PORT_SERIAL, &vm->con);
	ck_assert_int_eq(serial_register(&vm->uart, &vm->io, &vm->states), 0);
	ck_assert_int_eq(console_register(&vm->con, &vm->states), 0);
	ck_assert_int_eq(vm_exit_register(vm), 0);
	hcall_init(&vm->hcall, &vm->mem, &vm->con, NULL, NULL);
	ck_assert_int_eq(hcall_register(&vm->hcall, &vm->io, &vm->states), 0);
	ck_assert_int_eq(forkid_register(&vm->forkid, &vm->io, &vm->states), 0);
}

static struct vm a, b;
static uint8_t st[512];
static size_t len;

static void setup(void)
{
	devstate_vm(&a);
	devstate_vm(&b);
	serial_out(&a.uart, VMM_PORT_SERIAL + 7, 0x42);
	for (const char *p = "RESULT x=1\nhal"; *p; p++)
		serial_out(&a.uart, VMM_PORT_SERIAL, (uint8_t)*p);
	a.hcall.stats.calls[VMM_HC_LINE] = 4;
	forkid_set(&a.forkid, 1, 2);
	ck_assert_int_eq(devstate_save_all(&a.states, st, sizeof(st), &len), 0);
}

static void teardown(void)
{
	console_destroy(&a.con);
	console_destroy(&b.con);
}

START_TEST(devstate_every_device_round_trips)
{
	uint8_t again[512];
	size_t len2;
	char err[128];

	ck_assert_int_eq(a.states.nr, 5);
	ck_assert_int_eq(devstate_restore_all(&b.states, st, len, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(serial_in(&b.uart, VMM_PORT_SERIAL + 7), 0x42);
	ck_assert_uint_eq(b.uart.bytes, 14);
	ck_assert_str_eq(b.con.results[0], "x=1");
	ck_assert_uint_eq(b.con.len, 3);
	ck_assert_uint_eq(b.hcall.stats.calls[VMM_HC_LINE], 4);
	ck_assert_uint_eq(forkid_value(&b.forkid), 0x00010002);
	ck_assert_int_eq(devstate_save_all(&b.states, again, sizeof(again), &len2), 0);
	ck_assert_uint_eq(len2, len);
	ck_assert_mem_eq(again, st, len);
}
END_TEST

START_TEST(devstate_save_all_says_how_much_room_it_needs)
{
	size_t used;

	ck_assert_int_eq(devstate_save_all(&a.states, NULL, 0, &used), -ENOSPC);
	ck_assert_uint_eq(used, len);
	ck_assert_int_eq(devstate_save_all(&a.states, st, len - 1, &used), -ENOSPC);
	ck_assert_uint_eq(used, len);
}
END_TEST

/* Byte offset of the section named name in st. */
static size_t section_at(const char *name)
{
	size_t pos = 0;

	while (pos < len) {
		size_t n = st[pos], body = st[pos + 1 + n + 4] | st[pos + 1 + n + 5] << 8;

		if (n == strlen(name) && !memcmp(st + pos + 1, name, n))
			return pos;
		pos += 1 + n + DEVSTATE_HEADER + body;
	}
	ck_abort_msg("no section %s", name);
	return 0;
}

static void assert_refused(const uint8_t *buf, size_t n, const char *words)
{
	char err[200] = "";

	ck_assert_int_eq(devstate_restore_all(&b.states, buf, n, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, words), "message '%s' lacks '%s'", err, words);
}

START_TEST(devstate_sections_may_come_in_any_order)
{
	uint8_t swapped[512];
	size_t exit_at = section_at("exit"), hc = section_at("hypercall");
	char err[128];

	/* exit comes before hypercall and forkid, the last: put it last. */
	memcpy(swapped, st, exit_at);
	memcpy(swapped + exit_at, st + hc, len - hc);
	memcpy(swapped + exit_at + (len - hc), st + exit_at, hc - exit_at);
	ck_assert_int_eq(devstate_restore_all(&b.states, swapped, len, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.hcall.stats.calls[VMM_HC_LINE], 4);
}
END_TEST

START_TEST(devstate_refuses_a_device_this_vm_lacks)
{
	uint8_t bad[512];

	memcpy(bad, st, len);
	memcpy(bad + section_at("exit") + 1, "tixe", 4);
	assert_refused(bad, len, "'tixe' is no device of this VM");
}
END_TEST

START_TEST(devstate_refuses_a_device_twice_or_missing)
{
	uint8_t bad[1024];
	size_t serial_len = section_at("console");

	memcpy(bad, st, len);
	memcpy(bad + len, st, serial_len);
	assert_refused(bad, len + serial_len, "'serial' again");
	assert_refused(st, section_at("hypercall"), "hypercall state: missing");
}
END_TEST

/* Snapshots from before the fork identity port have no forkid section, and
 * a missing row is an error (no row is optional): they are refused. */
START_TEST(devstate_refuses_devices_without_forkid_by_name)
{
	assert_refused(st, section_at("forkid"), "forkid state: missing");
}
END_TEST

START_TEST(devstate_refuses_a_section_past_the_end)
{
	for (size_t n = 1; n < len; n++) {
		char err[200] = "";

		ck_assert_int_eq(devstate_restore_all(&b.states, st, n, NULL, err, sizeof(err)),
				 -EINVAL);
		ck_assert_msg(err[0], "truncated to %zu: no message", n);
	}
}
END_TEST

START_TEST(devstate_exit_port_has_a_version_and_no_fields)
{
	uint8_t buf[16];
	size_t used;
	char err[128];

	ck_assert_int_eq(vm_exit_save(&a, buf, sizeof(buf), &used), 0);
	ck_assert_uint_eq(used, DEVSTATE_HEADER);
	ck_assert_int_eq(vm_exit_restore(&b, buf, used, err, sizeof(err)), 0);
	buf[0] = VM_EXIT_STATE_VERSION + 1;
	ck_assert_int_eq(vm_exit_restore(&b, buf, used, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "exit state: version 2: expected 1");
	buf[0] = VM_EXIT_STATE_VERSION;
	buf[4] = 1;
	ck_assert_int_eq(vm_exit_restore(&b, buf, used + 1, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "exit state: 1 bytes left over"));
}
END_TEST

START_TEST(devstate_table_refuses_a_name_twice_or_a_row_too_many)
{
	static char names[DEVSTATE_MAX_DEVS + 1][8];
	static struct devstate_ops ops[DEVSTATE_MAX_DEVS + 1];
	struct devstate_table t = {0};

	for (int i = 0; i <= DEVSTATE_MAX_DEVS; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d", i);
		ops[i].name = names[i];
	}
	for (int i = 0; i < DEVSTATE_MAX_DEVS; i++)
		ck_assert_int_eq(devstate_register(&t, &ops[i], NULL), 0);
	ck_assert_int_eq(devstate_register(&t, &ops[0], NULL), -EEXIST);
	ck_assert_int_eq(devstate_register(&t, &ops[DEVSTATE_MAX_DEVS], NULL), -ENOSPC);
}
END_TEST

/* A Linux machine's table: what vm_create_begin registers for it. */
START_TEST(devstate_linux_machine_round_trips_and_a_vmm_machine_refuses_it)
{
	static struct vm lx, lx2, own;
	static uint8_t buf[2048];
	struct vm_config cfg = {.console_fd = -1, .machine = MACHINE_LINUX};
	const char *names[] = {"serial",   "console", "exit",  "irqchip", "pit",
			       "kvmclock", "acpi-pm", "reset", "forkid"};
	size_t n;
	char err[256];

	ck_assert_int_eq(vm_create_begin(&lx, &cfg), 0);
	ck_assert_int_eq(vm_create_begin(&lx2, &cfg), 0);
	ck_assert_int_eq(vm_create_begin(&own, &(struct vm_config){.console_fd = -1}), 0);
	ck_assert_int_eq(lx.states.nr, 9);
	for (int i = 0; i < 9; i++)
		ck_assert_str_eq(lx.states.row[i].ops->name, names[i]);
	lx.pc.clock.ns = 987654321;
	lx.pc.pit.state.channels[0].count = 0x2e9c;
	lx.pc.pit.state.channels[0].mode = 2;
	ck_assert_int_eq(devstate_save_all(&lx.states, buf, sizeof(buf), &n), 0);
	ck_assert_msg(devstate_restore_all(&lx2.states, buf, n, NULL, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_uint_eq(lx2.pc.clock.ns, 987654321);
	ck_assert(lx2.pc.clock.restored && lx2.pc.pit.restored && lx2.pc.irqchip.restored);
	ck_assert_uint_eq(lx2.pc.pit.state.channels[0].count, 0x2e9c);
	ck_assert_int_eq(devstate_restore_all(&own.states, buf, n, NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "'irqchip' is no device of this VM"));
	vm_destroy(&lx);
	vm_destroy(&lx2);
	vm_destroy(&own);
}
END_TEST

static Suite *devstate_suite(void)
{
	Suite *s = suite_create("devstate");
	TCase *tc = tcase_create("sections");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, devstate_every_device_round_trips);
	tcase_add_test(tc, devstate_save_all_says_how_much_room_it_needs);
	tcase_add_test(tc, devstate_sections_may_come_in_any_order);
	tcase_add_test(tc, devstate_refuses_a_device_this_vm_lacks);
	tcase_add_test(tc, devstate_refuses_a_device_twice_or_missing);
	tcase_add_test(tc, devstate_refuses_devices_without_forkid_by_name);
	tcase_add_test(tc, devstate_refuses_a_section_past_the_end);
	tcase_add_test(tc, devstate_exit_port_has_a_version_and_no_fields);
	tcase_add_test(tc, devstate_table_refuses_a_name_twice_or_a_row_too_many);
	tcase_add_test(tc, devstate_linux_machine_round_trips_and_a_vmm_machine_refuses_it);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(devstate_suite());
}
