/* tests/check_ioport.c: the port bus hands each access to the device that
 * claimed the port, and to no one else. */
#include <check.h>
#include <errno.h>

#include "ioport.h"
#include "testlib.h"

struct fake_dev {
	int calls;
	uint16_t last_port;
};

static bool fake_io(void *dev, const struct ioport_access *a)
{
	struct fake_dev *d = dev;

	d->calls++;
	d->last_port = a->port;
	return a->size == 1;
}

START_TEST(ioport_dispatches_to_the_claiming_device)
{
	struct ioport_bus bus = {0};
	struct fake_dev uart = {0}, other = {0};
	uint8_t byte = 'x';

	ck_assert_int_eq(ioport_register(&bus, 0x3f8, 8, "uart", fake_io, &uart), 0);
	ck_assert_int_eq(ioport_register(&bus, 0x510, 4, "other", fake_io, &other), 0);
	ck_assert(ioport_dispatch(&bus, &(struct ioport_access){0x3fd, false, 1, 1, &byte}));
	ck_assert_int_eq(uart.calls, 1);
	ck_assert_int_eq(uart.last_port, 0x3fd);
	ck_assert_int_eq(other.calls, 0);
}
END_TEST

START_TEST(ioport_unclaimed_or_refused_access_is_not_served)
{
	struct ioport_bus bus = {0};
	struct fake_dev uart = {0};
	uint32_t word = 0;

	ck_assert_int_eq(ioport_register(&bus, 0x3f8, 8, "uart", fake_io, &uart), 0);
	ck_assert(
	    !ioport_dispatch(&bus, &(struct ioport_access){0x400, true, 1, 1, (void *)&word}));
	ck_assert_int_eq(uart.calls, 0);
	ck_assert(
	    !ioport_dispatch(&bus, &(struct ioport_access){0x3f8, true, 4, 1, (void *)&word}));
}
END_TEST

START_TEST(ioport_overlapping_or_too_many_ranges_are_refused)
{
	struct ioport_bus bus = {0};
	struct fake_dev d = {0};

	ck_assert_int_eq(ioport_register(&bus, 0x3f8, 8, "uart", fake_io, &d), 0);
	ck_assert_int_eq(ioport_register(&bus, 0x3ff, 1, "clash", fake_io, &d), -EEXIST);
	ck_assert_int_eq(ioport_register(&bus, 0x3f0, 9, "clash", fake_io, &d), -EEXIST);
	ck_assert_int_eq(ioport_register(&bus, 0x3f0, 8, "below", fake_io, &d), 0);
	ck_assert_int_eq(ioport_register(&bus, 0xfff0, 0, "empty", fake_io, &d), -EINVAL);
	for (int i = 2; i < IOPORT_MAX_RANGES; i++)
		ck_assert_int_eq(ioport_register(&bus, 0x1000 + i * 16, 16, "n", fake_io, &d), 0);
	ck_assert_int_eq(ioport_register(&bus, 0x8000, 1, "full", fake_io, &d), -ENOSPC);
}
END_TEST

static Suite *ioport_suite(void)
{
	Suite *s = suite_create("ioport");
	TCase *tc = tcase_create("bus");

	tcase_add_test(tc, ioport_dispatches_to_the_claiming_device);
	tcase_add_test(tc, ioport_unclaimed_or_refused_access_is_not_served);
	tcase_add_test(tc, ioport_overlapping_or_too_many_ranges_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(ioport_suite());
}
