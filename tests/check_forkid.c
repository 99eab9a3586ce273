/* tests/check_forkid.c: the fork identity port reads a VM's generation and
 * index as one 32-bit IN and serves nothing else; the identity survives a
 * snapshot, and an identity no fork could make is refused by name. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "forkid.h"
#include "testlib.h"
#include "devstate.h"
#include "ioport.h"
#include "vmm_abi.h"

/* The device on a bus of its own, as a VM would have it; fresh: another's. */
static struct forkid id, fresh;
static struct ioport_bus io, fresh_io;
static struct devstate_table states, fresh_states;

static void setup(void)
{
	memset(&id, 0, sizeof(id));
	memset(&fresh, 0, sizeof(fresh));
	memset(&io, 0, sizeof(io));
	memset(&fresh_io, 0, sizeof(fresh_io));
	memset(&states, 0, sizeof(states));
	memset(&fresh_states, 0, sizeof(fresh_states));
	ck_assert_int_eq(forkid_register(&id, &io, &states), 0);
	ck_assert_int_eq(forkid_register(&fresh, &fresh_io, &fresh_states), 0);
}

/* One IN of size bytes at port: whether the bus served it, and what it read. */
static bool port_in(uint16_t port, uint8_t size, uint32_t count, uint32_t *out)
{
	uint8_t data[16];

	memset(data, 0xee, sizeof(data));
	if (!ioport_dispatch(&io, &(struct ioport_access){port, false, size, count, data}))
		return false;
	memcpy(out, data, sizeof(*out));
	return true;
}

START_TEST(forkid_booted_vm_reads_generation_0_index_0)
{
	uint32_t v = 1;

	ck_assert(port_in(VMM_PORT_FORKID, 4, 1, &v));
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(forkid_child_reads_generation_high_index_low)
{
	uint32_t v = 0;

	forkid_set(&id, 3, 0x1234);
	ck_assert(port_in(VMM_PORT_FORKID, 4, 1, &v));
	ck_assert_uint_eq(v, 0x00031234);
	forkid_set(&id, UINT16_MAX, UINT16_MAX);
	ck_assert(port_in(VMM_PORT_FORKID, 4, 1, &v));
	ck_assert_uint_eq(v, 0xffffffff);
}
END_TEST

/* What Linux's /dev/port does with a 4-byte read: 4 byte INs. */
START_TEST(forkid_reads_a_byte_at_a_time)
{
	uint32_t v = 0;

	forkid_set(&id, 3, 0x1234);
	for (uint16_t k = 0; k < 4; k++) {
		ck_assert(port_in(VMM_PORT_FORKID + k, 1, 1, &v));
		ck_assert_uint_eq(v & 0xff, (0x00031234u >> (8 * k)) & 0xff);
	}
	ck_assert(!port_in(VMM_PORT_FORKID, 1, 2, &v)); /* not as a string */
}
END_TEST

START_TEST(forkid_refuses_out_other_sizes_and_strings)
{
	uint32_t v = 0x00010001;

	ck_assert(!ioport_dispatch(
	    &io, &(struct ioport_access){VMM_PORT_FORKID, true, 4, 1, (void *)&v}));
	ck_assert(!port_in(VMM_PORT_FORKID, 2, 1, &v));
	ck_assert(!port_in(VMM_PORT_FORKID + 2, 2, 1, &v));
	ck_assert(!port_in(VMM_PORT_FORKID, 4, 2, &v));
	ck_assert(!port_in(VMM_PORT_FORKID + 1, 4, 1, &v));
}
END_TEST

START_TEST(forkid_state_round_trip_keeps_the_identity)
{
	uint8_t st[32], again[32];
	size_t len, len2;
	char err[128];

	forkid_set(&id, 2, 5);
	ck_assert_int_eq(forkid_save(&id, st, sizeof(st), &len), 0);
	ck_assert_uint_eq(len, DEVSTATE_HEADER + 8);
	ck_assert_int_eq(forkid_restore(&fresh, st, len, err, sizeof(err)), 0);
	ck_assert_uint_eq(forkid_value(&fresh), 0x00020005);
	ck_assert_int_eq(forkid_save(&fresh, again, sizeof(again), &len2), 0);
	ck_assert_uint_eq(len2, len);
	ck_assert_mem_eq(again, st, len);
	ck_assert_int_eq(forkid_save(&fresh, again, len - 1, &len2), -ENOSPC);
	ck_assert_uint_eq(len2, len);
}
END_TEST

/* The state of generation g, index i, as raw fields. */
static size_t state_of(uint8_t *st, size_t size, uint32_t g, uint32_t i)
{
	struct devstate_writer w;
	size_t len;

	devstate_begin(&w, st, size, FORKID_STATE_VERSION);
	devstate_put_u32(&w, g);
	devstate_put_u32(&w, i);
	ck_assert_int_eq(devstate_end(&w, &len), 0);
	return len;
}

static void assert_refused(const uint8_t *st, size_t len, const char *words)
{
	char err[200] = "";

	forkid_set(&fresh, 1, 9);
	ck_assert_int_eq(forkid_restore(&fresh, st, len, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, words), "message '%s' lacks '%s'", err, words);
	ck_assert_uint_eq(forkid_value(&fresh), 0x00010009); /* left as it was */
}

START_TEST(forkid_restore_refuses_an_identity_no_fork_makes)
{
	uint8_t st[32];

	assert_refused(st, state_of(st, sizeof(st), 0x10000, 1),
		       "forkid state: generation 65536: expected 0 to 65535");
	assert_refused(st, state_of(st, sizeof(st), 1, 0x10000),
		       "forkid state: index 65536: expected 0 to 65535");
	assert_refused(st, state_of(st, sizeof(st), 0, 3), "index 3 at generation 0");
	assert_refused(st, state_of(st, sizeof(st), 4, 0), "index 0 at generation 4");
}
END_TEST

START_TEST(forkid_restore_refuses_a_short_state_or_another_version)
{
	uint8_t st[32];
	size_t len = state_of(st, sizeof(st), 1, 1);

	st[4] = 4; /* the header's length: only the generation */
	assert_refused(st, DEVSTATE_HEADER + 4, "index at byte 12 needs 4 bytes");
	st[4] = 8;
	st[0] = FORKID_STATE_VERSION + 1;
	assert_refused(st, len, "forkid state: version 2: expected 1");
}
END_TEST

static Suite *forkid_suite(void)
{
	Suite *s = suite_create("forkid");
	TCase *tc = tcase_create("port and state");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, forkid_booted_vm_reads_generation_0_index_0);
	tcase_add_test(tc, forkid_child_reads_generation_high_index_low);
	tcase_add_test(tc, forkid_refuses_out_other_sizes_and_strings);
	tcase_add_test(tc, forkid_reads_a_byte_at_a_time);
	tcase_add_test(tc, forkid_state_round_trip_keeps_the_identity);
	tcase_add_test(tc, forkid_restore_refuses_an_identity_no_fork_makes);
	tcase_add_test(tc, forkid_restore_refuses_a_short_state_or_another_version);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(forkid_suite());
}
