/* tests/check_serial.c: the UART keeps what a polling driver writes, and
 * carries it through a snapshot: saved, restored into a fresh UART, it
 * reads back the same; state that no UART could have is refused. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "serial.h"
#include "testlib.h"
#include "vmm_abi.h"

#define BASE VMM_PORT_SERIAL
#define LCR  (BASE + 3)
#define DLAB 0x80

struct serial_fixture {
	struct console con;
	struct serial uart;
	uint8_t state[64];
	size_t len;
};

/* A UART that a driver has set up (divisor 0x0c01, 8N1, IER, MCR, SCR) and
 * written "hi" to, with its state saved. */
static void serial_fixture_init(struct serial_fixture *f)
{
	static const uint8_t setup[][2] = {{3, DLAB}, {0, 0x01}, {1, 0x0c}, {3, 0x03},
					   {1, 0x05}, {4, 0x0b}, {7, 0x5a}};

	memset(f, 0, sizeof(*f));
	console_init(&f->con, open("/dev/null", O_WRONLY | O_CLOEXEC));
	serial_init(&f->uart, BASE, &f->con);
	for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
		serial_out(&f->uart, BASE + setup[i][0], setup[i][1]);
	serial_out(&f->uart, BASE, 'h');
	serial_out(&f->uart, BASE, 'i');
	ck_assert_int_eq(serial_save(&f->uart, f->state, sizeof(f->state), &f->len), 0);
}

static void serial_fixture_destroy(struct serial_fixture *f)
{
	close(f->con.out_fd);
	console_destroy(&f->con);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Every register a driver can read, in both DLAB settings. */
static void assert_same_registers(struct serial *a, struct serial *b)
{
	uint8_t lcr = serial_in(a, LCR);

	ck_assert_uint_eq(serial_in(b, LCR), lcr);
	for (int dlab = 0; dlab < 2; dlab++) {
		serial_out(a, LCR, dlab ? lcr | DLAB : lcr & ~DLAB);
		serial_out(b, LCR, dlab ? lcr | DLAB : lcr & ~DLAB);
		for (uint16_t r = 0; r < SERIAL_NR_PORTS; r++)
			ck_assert_msg(serial_in(a, BASE + r) == serial_in(b, BASE + r),
				      "register %u, DLAB %d: %#x, restored %#x", r, dlab,
				      serial_in(a, BASE + r), serial_in(b, BASE + r));
	}
	serial_out(a, LCR, lcr);
	serial_out(b, LCR, lcr);
}

START_TEST(serial_state_round_trip_reads_back_the_same)
{
	struct serial_fixture f;
	struct console con2;
	struct serial fresh;
	uint8_t again[64];
	size_t len2;
	char err[128];

	serial_fixture_init(&f);
	ck_assert_uint_eq(f.len, DEVSTATE_HEADER + 6 + 8);
	console_init(&con2, -1);
	serial_init(&fresh, BASE, &con2);
	ck_assert_int_eq(serial_restore(&fresh, f.state, f.len, err, sizeof(err)), 0);
	ck_assert_uint_eq(fresh.bytes, 2);
	ck_assert_ptr_eq(fresh.con, &con2); /* the restoring VM's console, not saved */
	assert_same_registers(&f.uart, &fresh);
	ck_assert_int_eq(serial_save(&fresh, again, sizeof(again), &len2), 0);
	ck_assert_uint_eq(len2, f.len);
	ck_assert_mem_eq(again, f.state, f.len);
	serial_fixture_destroy(&f);
}
END_TEST

START_TEST(serial_save_says_how_much_room_it_needs)
{
	struct serial_fixture f;
	uint8_t small[64];
	size_t used = 0;

	serial_fixture_init(&f);
	ck_assert_int_eq(serial_save(&f.uart, NULL, 0, &used), -ENOSPC);
	ck_assert_uint_eq(used, f.len);
	memset(small, 0xee, sizeof(small));
	ck_assert_int_eq(serial_save(&f.uart, small, f.len - 1, &used), -ENOSPC);
	ck_assert_uint_eq(small[f.len - 1], 0xee); /* nothing written past len */
	serial_fixture_destroy(&f);
}
END_TEST

/* Restores st into a fresh UART and checks it refused with words, unchanged. */
static void assert_refused(const uint8_t *st, size_t len, const char *words)
{
	struct serial s;
	char err[160] = "";

	serial_init(&s, BASE, NULL);
	s.scr = 0x77;
	ck_assert_int_eq(serial_restore(&s, st, len, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "serial state: ") == err, "message: %s", err);
	ck_assert_msg(strstr(err, words), "message '%s' lacks '%s'", err, words);
	ck_assert_uint_eq(s.scr, 0x77);
	ck_assert_uint_eq(s.bytes, 0);
}

START_TEST(serial_restore_refuses_a_short_state)
{
	struct serial_fixture f;

	serial_fixture_init(&f);
	for (size_t n = 0; n < f.len; n++)
		assert_refused(f.state, n, n < DEVSTATE_HEADER ? "left of" : "length");
	serial_fixture_destroy(&f);
}
END_TEST

START_TEST(serial_restore_refuses_another_version)
{
	struct serial_fixture f;

	serial_fixture_init(&f);
	put_le32(f.state, SERIAL_STATE_VERSION + 1);
	assert_refused(f.state, f.len, "version 2: expected 1");
	serial_fixture_destroy(&f);
}
END_TEST

START_TEST(serial_restore_refuses_reserved_ier_bits)
{
	struct serial_fixture f;

	serial_fixture_init(&f);
	f.state[DEVSTATE_HEADER] = 0x10; /* ier */
	assert_refused(f.state, f.len, "ier 0x10");
	serial_fixture_destroy(&f);
}
END_TEST

START_TEST(serial_restore_refuses_bytes_after_the_last_field)
{
	struct serial_fixture f;

	serial_fixture_init(&f);
	put_le32(f.state + 4, (uint32_t)(f.len + 1 - DEVSTATE_HEADER));
	assert_refused(f.state, f.len + 1, "left over");
	serial_fixture_destroy(&f);
}
END_TEST

static Suite *serial_suite(void)
{
	Suite *s = suite_create("serial");
	TCase *tc = tcase_create("state");

	tcase_add_test(tc, serial_state_round_trip_reads_back_the_same);
	tcase_add_test(tc, serial_save_says_how_much_room_it_needs);
	tcase_add_test(tc, serial_restore_refuses_a_short_state);
	tcase_add_test(tc, serial_restore_refuses_another_version);
	tcase_add_test(tc, serial_restore_refuses_reserved_ier_bits);
	tcase_add_test(tc, serial_restore_refuses_bytes_after_the_last_field);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(serial_suite());
}
