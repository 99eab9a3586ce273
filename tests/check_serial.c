/* tests/check_serial.c: the UART keeps what a driver writes, receives
 * what the host gives it through its FIFO, raises its interrupt line as a
 * 16550A does, and carries all of it through a snapshot: saved, restored
 * into a fresh UART, it reads back the same; state that no UART could
 * have is refused. */
#include <check.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "serial.h"
#include "testlib.h"
#include "vmm_abi.h"

#define BASE VMM_PORT_SERIAL
#define IER  (BASE + 1)
#define IIR  (BASE + 2)
#define FCR  (BASE + 2)
#define LCR  (BASE + 3)
#define MCR  (BASE + 4)
#define LSR  (BASE + 5)
#define MSR  (BASE + 6)
#define DLAB 0x80
/* Bytes of a saved state: header, 10 registers, count, FIFO, bytes. */
#define STATE_LEN(fifo) (DEVSTATE_HEADER + 10 + 4 + (fifo) + 8)

struct serial_fixture {
	struct console con;
	struct serial uart;
	uint8_t state[64];
	size_t len;
};

/* A UART that a driver has set up (divisor 0x0c01, 8N1, IER, FIFO with
 * trigger level 4, MCR, SCR), written "hi" to and been sent "ok" by the
 * host, with its state saved. */
static void serial_fixture_init(struct serial_fixture *f)
{
	static const uint8_t setup[][2] = {{3, DLAB}, {0, 0x01}, {1, 0x0c}, {3, 0x03},
					   {1, 0x05}, {2, 0x41}, {4, 0x0b}, {7, 0x5a}};

	memset(f, 0, sizeof(*f));
	console_init(&f->con, open("/dev/null", O_WRONLY | O_CLOEXEC));
	serial_init(&f->uart, BASE, &f->con);
	for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
		serial_out(&f->uart, BASE + setup[i][0], setup[i][1]);
	serial_out(&f->uart, BASE, 'h');
	serial_out(&f->uart, BASE, 'i');
	ck_assert_uint_eq(serial_receive(&f->uart, (const uint8_t *)"ok", 2), 2);
	ck_assert_int_eq(serial_save(&f->uart, f->state, sizeof(f->state), &f->len), 0);
}

static void serial_fixture_destroy(struct serial_fixture *f)
{
	close(f->con.out_fd);
	console_destroy(&f->con);
	serial_destroy(&f->uart);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Every register a driver can read, in both DLAB settings (the data
 * register last: reading it takes a byte from the FIFO). */
static void assert_same_registers(struct serial *a, struct serial *b)
{
	uint8_t lcr = serial_in(a, LCR);

	ck_assert_uint_eq(serial_in(b, LCR), lcr);
	for (int dlab = 0; dlab < 2; dlab++) {
		serial_out(a, LCR, dlab ? lcr | DLAB : lcr & ~DLAB);
		serial_out(b, LCR, dlab ? lcr | DLAB : lcr & ~DLAB);
		for (uint16_t r = SERIAL_NR_PORTS; r-- > 0;)
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
	ck_assert_uint_eq(f.len, STATE_LEN(2));
	console_init(&con2, -1);
	serial_init(&fresh, BASE, &con2);
	ck_assert_int_eq(serial_restore(&fresh, f.state, f.len, err, sizeof(err)), 0);
	ck_assert_uint_eq(fresh.bytes, 2);
	ck_assert_ptr_eq(fresh.con, &con2); /* the restoring VM's console, not saved */
	ck_assert_int_eq(serial_save(&fresh, again, sizeof(again), &len2), 0);
	ck_assert_uint_eq(len2, f.len);
	ck_assert_mem_eq(again, f.state, f.len);
	assert_same_registers(&f.uart, &fresh);
	ck_assert_uint_eq(serial_in(&fresh, BASE), 'k'); /* the FIFO goes on: 'o' was read */
	ck_assert_uint_eq(serial_in(&fresh, LSR) & 0x01, 0);
	serial_fixture_destroy(&f);
	serial_destroy(&fresh);
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
	serial_destroy(&s);
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
	assert_refused(f.state, f.len, "version 3: expected 2");
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

START_TEST(serial_restore_refuses_what_no_16550_holds)
{
	struct serial_fixture f;
	uint8_t bad[64];

	serial_fixture_init(&f);
	memcpy(bad, f.state, f.len);
	bad[DEVSTATE_HEADER + 7] &= ~0x01; /* lsr: DR clear with bytes waiting */
	assert_refused(bad, f.len, "LSR.DR set exactly when bytes wait");
	memcpy(bad, f.state, f.len);
	bad[DEVSTATE_HEADER + 7] &= ~0x20; /* lsr: THRE clear */
	assert_refused(bad, f.len, "THRE and TEMT set");
	memcpy(bad, f.state, f.len);
	bad[DEVSTATE_HEADER + 6] = 0x40; /* fcr: FIFO off, two bytes waiting */
	assert_refused(bad, f.len, "1 with the FIFO off");
	memcpy(bad, f.state, f.len);
	bad[DEVSTATE_HEADER + 9] = 2; /* thr_ipending */
	assert_refused(bad, f.len, "thr_ipending 2");
	serial_fixture_destroy(&f);
}
END_TEST

/* What a polled UART saved before it had a FIFO. */
START_TEST(serial_restore_reads_version_1)
{
	static const uint8_t v1[] = {1,	   0,	 0,    0, 14, 0, 0, 0, 0x05, 0x03, 0x0b,
				     0x5a, 0x01, 0x0c, 7, 0,  0, 0, 0, 0,    0,	   0};
	struct serial s;
	char err[128];

	serial_init(&s, BASE, NULL);
	ck_assert_msg(serial_restore(&s, v1, sizeof(v1), err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(serial_in(&s, IER), 0x05);
	ck_assert_uint_eq(serial_in(&s, LSR), 0x60);
	ck_assert_uint_eq(serial_in(&s, IIR), 0x01);
	ck_assert_uint_eq(s.bytes, 7);
	serial_destroy(&s);
}
END_TEST

struct irq_probe {
	int level, changes;
};

static void irq_probe_fn(void *arg, bool level)
{
	struct irq_probe *p = arg;

	p->level = level;
	p->changes++;
}

/* A UART with an interrupt line, as a Linux machine has it. */
static void irq_uart(struct serial *s, struct console *con, struct irq_probe *p)
{
	console_init(con, -1);
	serial_init(s, BASE, con);
	*p = (struct irq_probe){.level = -1};
	serial_set_irq(s, irq_probe_fn, p);
}

START_TEST(serial_raises_its_line_for_received_data_until_it_is_read)
{
	struct serial s;
	struct console con;
	struct irq_probe p;

	irq_uart(&s, &con, &p);
	serial_receive(&s, (const uint8_t *)"a", 1);
	serial_out(&s, IER, 0x01); /* RDI, without OUT2: the driver is not ready */
	ck_assert_int_eq(p.level, 0);
	ck_assert_uint_eq(serial_in(&s, LSR) & 0x01, 0);
	serial_out(&s, MCR, 0x08); /* OUT2: now */
	ck_assert_int_eq(p.level, 1);
	ck_assert_uint_eq(serial_in(&s, IIR), 0x04); /* received data, no FIFO */
	ck_assert_uint_eq(serial_in(&s, BASE), 'a');
	ck_assert_int_eq(p.level, 0);
	ck_assert_uint_eq(serial_in(&s, IIR), 0x01);
	serial_destroy(&s);
	console_destroy(&con);
}
END_TEST

START_TEST(serial_holds_host_input_until_the_fifo_has_room)
{
	uint8_t in[40];
	struct serial s;
	struct console con;
	struct irq_probe p;

	irq_uart(&s, &con, &p);
	serial_out(&s, FCR, 0xc1); /* FIFO on, trigger level 14 */
	serial_out(&s, MCR, 0x08);
	serial_out(&s, IER, 0x01);
	for (int i = 0; i < 40; i++)
		in[i] = (uint8_t)('A' + i);
	ck_assert_uint_eq(serial_receive(&s, in, sizeof(in)), sizeof(in));
	ck_assert_uint_eq(serial_in(&s, IIR), 0xc4); /* FIFO full: at the trigger level */
	for (int i = 0; i < 40; i++) {
		ck_assert_uint_eq(serial_in(&s, LSR) & 0x03, 0x01); /* data, never an overrun */
		ck_assert_uint_eq(serial_in(&s, BASE), 'A' + i);
	}
	ck_assert_uint_eq(serial_in(&s, LSR) & 0x01, 0);
	ck_assert_int_eq(p.level, 0);
	serial_receive(&s, in, 2);
	ck_assert_uint_eq(serial_in(&s, IIR), 0xcc); /* below the trigger: a timeout, at once */
	serial_out(&s, FCR, 0xc3);		     /* clear the FIFO: back to the host's queue */
	ck_assert_uint_eq(serial_in(&s, BASE), 'A');
	ck_assert_uint_eq(serial_in(&s, BASE), 'B');
	serial_destroy(&s);
	console_destroy(&con);
}
END_TEST

START_TEST(serial_thre_interrupt_comes_back_after_each_byte)
{
	struct serial s;
	struct console con;
	struct irq_probe p;

	irq_uart(&s, &con, &p);
	serial_out(&s, IER, 0x02); /* THRI, with THR empty: pending at once */
	ck_assert_int_eq(p.level, 1);
	ck_assert_uint_eq(serial_in(&s, IIR), 0x02);
	ck_assert_int_eq(p.level, 0); /* reading IIR took it */
	ck_assert_uint_eq(serial_in(&s, IIR), 0x01);
	serial_out(&s, BASE, 'x');
	ck_assert_int_eq(p.level, 1); /* sent: empty again */
	serial_out(&s, IER, 0x00);
	ck_assert_int_eq(p.level, 0);
	ck_assert_uint_eq(s.bytes, 1);
	serial_destroy(&s);
	console_destroy(&con);
}
END_TEST

START_TEST(serial_loopback_drives_modem_status_from_mcr)
{
	struct serial s;
	struct console con;
	struct irq_probe p;

	irq_uart(&s, &con, &p);
	ck_assert_uint_eq(serial_in(&s, MSR), 0xb0);
	serial_out(&s, MCR, 0x1a); /* LOOP, OUT2, RTS: what Linux's probe writes */
	ck_assert_uint_eq(serial_in(&s, MSR) & 0xf0, 0x90);
	serial_out(&s, BASE, 'z');
	ck_assert_uint_eq(serial_in(&s, BASE), 'z'); /* back to itself, not out */
	ck_assert_uint_eq(s.bytes, 0);
	serial_destroy(&s);
	console_destroy(&con);
}
END_TEST

/* A prompt: "# " and then the driver stops sending (IER's THRI off). */
static void serial_prompt(int out_fd)
{
	struct serial s;
	struct console con;
	struct irq_probe p;

	irq_uart(&s, &con, &p);
	console_set_output(&con, out_fd, NULL);
	serial_out(&s, IER, 0x02);
	serial_out(&s, BASE, '#');
	serial_out(&s, BASE, ' ');
	serial_out(&s, IER, 0x00);
	serial_destroy(&s);
	console_destroy(&con);
}

START_TEST(serial_shows_a_partial_line_on_a_terminal_when_the_driver_stops_sending)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY), slave;
	char buf[16] = "";

	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master) | unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	ck_assert_int_ge(slave, 0);
	serial_prompt(slave);
	ck_assert_int_eq(read(master, buf, sizeof(buf) - 1), 2);
	ck_assert_str_eq(buf, "# ");
	close(slave);
	close(master);
}
END_TEST

START_TEST(serial_keeps_lines_whole_in_a_pipe)
{
	int fds[2];
	char buf[16];

	ck_assert_int_eq(pipe2(fds, O_NONBLOCK), 0);
	serial_prompt(fds[1]);
	ck_assert_int_eq(read(fds[0], buf, sizeof(buf)), -1); /* nothing yet */
	close(fds[0]);
	close(fds[1]);
}
END_TEST

static Suite *serial_suite(void)
{
	Suite *s = suite_create("serial");
	TCase *tc = tcase_create("state");
	TCase *uart = tcase_create("uart");

	tcase_add_test(tc, serial_state_round_trip_reads_back_the_same);
	tcase_add_test(tc, serial_save_says_how_much_room_it_needs);
	tcase_add_test(tc, serial_restore_refuses_a_short_state);
	tcase_add_test(tc, serial_restore_refuses_another_version);
	tcase_add_test(tc, serial_restore_refuses_reserved_ier_bits);
	tcase_add_test(tc, serial_restore_refuses_bytes_after_the_last_field);
	tcase_add_test(tc, serial_restore_refuses_what_no_16550_holds);
	tcase_add_test(tc, serial_restore_reads_version_1);
	suite_add_tcase(s, tc);
	tcase_add_test(uart, serial_raises_its_line_for_received_data_until_it_is_read);
	tcase_add_test(uart, serial_holds_host_input_until_the_fifo_has_room);
	tcase_add_test(uart, serial_thre_interrupt_comes_back_after_each_byte);
	tcase_add_test(uart, serial_loopback_drives_modem_status_from_mcr);
	tcase_add_test(uart,
		       serial_shows_a_partial_line_on_a_terminal_when_the_driver_stops_sending);
	tcase_add_test(uart, serial_keeps_lines_whole_in_a_pipe);
	suite_add_tcase(s, uart);
	return s;
}

int main(void)
{
	return testlib_run(serial_suite());
}
