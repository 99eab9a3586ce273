/* tests/check_vcpu_bytes.c: a vCPU's state as bytes comes back the same,
 * and bytes that no KVM could have given are refused with the part and the
 * field named. No KVM needed: the state is made up here (check_vcpu_state
 * takes a real one through KVM). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "vcpu_state.h"

#define HEADER 12 /* magic, version, parts */

static struct vcpu_state *st, *back;
static uint8_t *buf;
static size_t len;

/* A state as a 6.1 KVM with SREGS2 and XSAVE gives it, with values in every part. */
static void setup(void)
{
	st = calloc(1, sizeof(*st));
	back = calloc(1, sizeof(*back));
	buf = calloc(1, 2 * sizeof(*st));
	ck_assert_ptr_nonnull(buf);
	st->parts = VCPU_STATE_ALL_PARTS & ~(VCPU_STATE_SREGS | VCPU_STATE_FPU);
	st->regs.rip = 0x100004;
	st->regs.rax = 1000;
	st->regs.rflags = 0x2;
	st->sregs2.cr0 = 0x11;
	st->sregs2.cs.selector = 0x10;
	st->sregs2.apic_base = 0xfee00900;
	st->xsave_len = 4096;
	for (int i = 0; i < 4096; i += 7)
		st->xsave[i] = (uint8_t)i;
	st->xcrs.nr_xcrs = 1;
	st->xcrs.xcrs[0].value = 3;
	st->nr_msrs = 3;
	st->msrs[0] = (struct kvm_msr_entry){.index = 0xc0000081, .data = 0x23001000000000};
	st->msrs[1] = (struct kvm_msr_entry){.index = 0x10, .data = 123456789};
	st->msrs[2] = (struct kvm_msr_entry){.index = 0x6e0, .data = 1};
	memset(st->lapic.regs, 0x5a, sizeof(st->lapic.regs));
	st->events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	st->events.exception.nr = 14;
	st->mp_state.mp_state = KVM_MP_STATE_RUNNABLE;
	st->debugregs.dr7 = 0x400;
	ck_assert_int_eq(vcpu_state_to_bytes(st, buf, 2 * sizeof(*st), &len), 0);
}

static void teardown(void)
{
	free(st);
	free(back);
	free(buf);
}

static void assert_refused(const uint8_t *b, size_t n, const char *words)
{
	char err[256] = "";

	ck_assert_int_eq(vcpu_state_from_bytes(back, b, n, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "vCPU state: ") == err, "message: %s", err);
	ck_assert_msg(strstr(err, words), "message '%s' lacks '%s'", err, words);
}

/* st changed by the caller, then written and refused. */
static void assert_state_refused(const char *words)
{
	ck_assert_int_eq(vcpu_state_to_bytes(st, buf, 2 * sizeof(*st), &len), 0);
	assert_refused(buf, len, words);
}

/* Offset of a part's length word in buf. */
static size_t part_at(uint32_t part)
{
	size_t pos = HEADER;

	for (uint32_t p = 1; p < part; p <<= 1) {
		if (!(st->parts & p))
			continue;
		pos += 4 + (buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16);
	}
	return pos;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

START_TEST(vcpu_bytes_round_trip_gives_the_same_state_and_bytes)
{
	uint8_t *again = calloc(1, len);
	size_t len2;
	char err[128];

	ck_assert_int_eq(vcpu_state_from_bytes(back, buf, len, err, sizeof(err)), 0);
	ck_assert_mem_eq(back, st, sizeof(*st));
	ck_assert_int_eq(vcpu_state_to_bytes(back, again, len, &len2), 0);
	ck_assert_uint_eq(len2, len);
	ck_assert_mem_eq(again, buf, len);
	free(again);
}
END_TEST

START_TEST(vcpu_bytes_round_trip_of_an_old_kvm_state)
{
	char err[128];

	st->parts = VCPU_STATE_REGS | VCPU_STATE_SREGS | VCPU_STATE_FPU | VCPU_STATE_MSRS;
	memset(&st->sregs2, 0, sizeof(st->sregs2));
	memset(st->xsave, 0, sizeof(st->xsave));
	memset(&st->xcrs, 0, sizeof(st->xcrs));
	memset(&st->lapic, 0, sizeof(st->lapic));
	memset(&st->events, 0, sizeof(st->events));
	memset(&st->debugregs, 0, sizeof(st->debugregs));
	st->xsave_len = 0;
	st->sregs.cr0 = 0x11;
	st->sregs.interrupt_bitmap[1] = 1; /* vector 64 pending */
	st->fpu.fcw = 0x37f;
	ck_assert_int_eq(vcpu_state_to_bytes(st, buf, 2 * sizeof(*st), &len), 0);
	ck_assert_int_eq(vcpu_state_from_bytes(back, buf, len, err, sizeof(err)), 0);
	ck_assert_mem_eq(back, st, sizeof(*st));
}
END_TEST

START_TEST(vcpu_bytes_to_bytes_says_how_much_room_it_needs)
{
	size_t used;

	ck_assert_int_eq(vcpu_state_to_bytes(st, NULL, 0, &used), -ENOSPC);
	ck_assert_uint_eq(used, len);
	ck_assert_int_eq(vcpu_state_to_bytes(st, buf, len - 1, &used), -ENOSPC);
}
END_TEST

START_TEST(vcpu_bytes_refuses_every_short_state)
{
	for (size_t n = 0; n < len; n++) {
		char err[256] = "";

		ck_assert_int_eq(vcpu_state_from_bytes(back, buf, n, err, sizeof(err)), -EINVAL);
		ck_assert_msg(strstr(err, "left of"), "cut to %zu: '%s'", n, err);
	}
}
END_TEST

START_TEST(vcpu_bytes_refuses_bytes_after_the_last_part)
{
	assert_refused(buf, len + 1, "1 bytes left over");
}
END_TEST

START_TEST(vcpu_bytes_refuses_another_magic_or_version)
{
	buf[0] ^= 1;
	assert_refused(buf, len, "magic 0x55504357: expected 0x55504356");
	buf[0] ^= 1;
	buf[4] = VCPU_STATE_VERSION + 1;
	assert_refused(buf, len, "version 2: expected 1");
}
END_TEST

START_TEST(vcpu_bytes_refuses_parts_no_kvm_gives)
{
	static const uint32_t bad[] = {
	    1u << 11,	      /* unknown */
	    VCPU_STATE_SREGS, /* with sregs2 */
	    VCPU_STATE_FPU,   /* with xsave */
	    VCPU_STATE_XSAVE, /* neither fpu nor xsave */
	    VCPU_STATE_REGS,  /* no regs */
	    VCPU_STATE_MSRS,  /* no msrs */
	};
	uint32_t parts = st->parts;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_le32(buf + 8, parts ^ bad[i]);
		assert_refused(buf, len, "parts 0x");
	}
}
END_TEST

START_TEST(vcpu_bytes_refuses_a_part_of_another_size)
{
	size_t at = part_at(VCPU_STATE_EVENTS);

	put_le32(buf + at, sizeof(struct kvm_vcpu_events) - 1);
	assert_refused(buf, len, "events: 63 bytes: expected 64");
}
END_TEST

START_TEST(vcpu_bytes_refuses_msrs_no_kvm_gives)
{
	size_t at = part_at(VCPU_STATE_MSRS);

	put_le32(buf + at + 4, VCPU_STATE_MAX_MSRS + 1);
	assert_refused(buf, len, "msrs: 513 entries");
	st->msrs[1].reserved = 1;
	assert_state_refused("entry 1 (MSR 0x10): reserved field is 0x1");
	st->msrs[1].reserved = 0;
	st->msrs[2].index = 0xc0000081;
	assert_state_refused("MSR 0xc0000081 twice");
}
END_TEST

START_TEST(vcpu_bytes_refuses_an_xsave_area_of_no_kvm_size)
{
	st->xsave_len = 4095;
	assert_state_refused("xsave: 4095 bytes: expected 4096 to 16384");
	st->xsave_len = 4096;
	ck_assert_int_eq(vcpu_state_to_bytes(st, buf, 2 * sizeof(*st), &len), 0);
	put_le32(buf + part_at(VCPU_STATE_XSAVE), VCPU_STATE_XSAVE_MAX + 1);
	assert_refused(buf, len, "xsave: 16385 bytes");
}
END_TEST

START_TEST(vcpu_bytes_refuses_flags_and_values_kvm_never_gives)
{
	st->sregs2.flags = 2;
	assert_state_refused("sregs2: flags 0x2");
	st->sregs2.flags = 0;
	st->xcrs.nr_xcrs = KVM_MAX_XCRS + 1;
	assert_state_refused("xcrs: 17 registers");
	st->xcrs.nr_xcrs = 1;
	st->events.flags = 0x40;
	assert_state_refused("events: flags 0x40");
	st->events.flags = 0;
	st->events.exception.nr = 32;
	assert_state_refused("exception 32");
	st->events.exception.nr = 0;
	st->mp_state.mp_state = KVM_MP_STATE_OPERATING;
	assert_state_refused("mp_state 7");
	st->mp_state.mp_state = 0;
	st->debugregs.flags = 1;
	assert_state_refused("debugregs: flags 0x1");
}
END_TEST

START_TEST(vcpu_bytes_refuses_two_pending_interrupts)
{
	st->parts ^= VCPU_STATE_SREGS | VCPU_STATE_SREGS2;
	st->sregs.interrupt_bitmap[0] = 0x3;
	assert_state_refused("sregs: 2 interrupts pending");
}
END_TEST

static Suite *vcpu_bytes_suite(void)
{
	Suite *s = suite_create("vcpu_bytes");
	TCase *tc = tcase_create("bytes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, vcpu_bytes_round_trip_gives_the_same_state_and_bytes);
	tcase_add_test(tc, vcpu_bytes_round_trip_of_an_old_kvm_state);
	tcase_add_test(tc, vcpu_bytes_to_bytes_says_how_much_room_it_needs);
	tcase_add_test(tc, vcpu_bytes_refuses_every_short_state);
	tcase_add_test(tc, vcpu_bytes_refuses_bytes_after_the_last_part);
	tcase_add_test(tc, vcpu_bytes_refuses_another_magic_or_version);
	tcase_add_test(tc, vcpu_bytes_refuses_parts_no_kvm_gives);
	tcase_add_test(tc, vcpu_bytes_refuses_a_part_of_another_size);
	tcase_add_test(tc, vcpu_bytes_refuses_msrs_no_kvm_gives);
	tcase_add_test(tc, vcpu_bytes_refuses_an_xsave_area_of_no_kvm_size);
	tcase_add_test(tc, vcpu_bytes_refuses_flags_and_values_kvm_never_gives);
	tcase_add_test(tc, vcpu_bytes_refuses_two_pending_interrupts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(vcpu_bytes_suite());
}
