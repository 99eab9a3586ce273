/* tests/check_hcall.c: hypercalls are guest input: each request is checked
 * against guest RAM, answered in .ret, and counted. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hcall.h"
#include "console.h"
#include "devstate.h"
#include "guest_ram.h"
#include "testlib.h"
#include "vmm_abi.h"

#define RAM   (8 << 20)
#define BLOCK 0x10000
#define LIST  0x11000

/* The device and what it needs of a VM: no VM is built. */
static struct guest_ram mem;
static struct console con;
static struct hcall dev;
static int console_pipe[2];
static int stops;
static char stop_reason[256];

static void record_stop(void *ctx, const char *reason)
{
	(void)ctx;
	stops++;
	snprintf(stop_reason, sizeof(stop_reason), "%s", reason);
}

/* Both memory managers serve the VMM's accesses: every request is tested
 * under each, and under the VMM's own the frame database's invariants are
 * checked after each test. budget: host memory of the VMM manager. */
static void setup_with(enum guest_ram_manager manager, uint64_t budget)
{
	struct guest_ram_params p = {.size = RAM,
				     .manager = manager,
				     .host_mem = budget,
				     .fault_around = 16,
				     .handler_cpu = -1};

	memset(&mem, 0, sizeof(mem));
	ck_assert_int_eq(guest_ram_init(&mem, &p), 0);
	ck_assert_int_eq(pipe2(console_pipe, O_NONBLOCK), 0);
	console_init(&con, console_pipe[1]);
	hcall_init(&dev, &mem, &con, record_stop, NULL);
	dev.log = NULL; /* the words are checked in dev.last_error */
	stops = 0;
	stop_reason[0] = 0;
}

static void setup_kernel(void)
{
	setup_with(GUEST_RAM_MANAGER_KERNEL, 0);
}

static void setup_vmm(void)
{
	setup_with(GUEST_RAM_MANAGER_VMM, RAM);
}

static void teardown(void)
{
	char why[256] = "";

	if (mem.db)
		ck_assert_msg(frame_db_check(mem.db, why, sizeof(why)) == 0, "frame database: %s",
			      why);
	console_destroy(&con);
	guest_ram_destroy(&mem);
	close(console_pipe[0]);
	close(console_pipe[1]);
}

/* Place a block, ring the doorbell, return what the VMM answered. */
static int64_t call(uint32_t nr, uint32_t count, uint64_t arg0, uint64_t arg1)
{
	struct vmm_hcall hc = {.nr = nr, .count = count, .arg0 = arg0, .arg1 = arg1, .ret = 1};

	ck_assert_int_eq(guest_ram_write(&mem, BLOCK, &hc, sizeof(hc)), 0);
	hcall_handle(&dev, BLOCK);
	ck_assert_int_eq(guest_ram_read(&mem, BLOCK + offsetof(struct vmm_hcall, ret), &hc.ret, 8),
			 0);
	return hc.ret;
}

START_TEST(hcall_line_reaches_the_console)
{
	char out[64] = {0};

	ck_assert_int_eq(guest_ram_write(&mem, LIST, "hello guest", 11), 0);
	ck_assert_int_eq(call(VMM_HC_LINE, 0, LIST, 11), 0);
	ck_assert_int_eq(read(console_pipe[0], out, sizeof(out) - 1), 12);
	ck_assert_str_eq(out, "hello guest\n");
	ck_assert_uint_eq(dev.stats.calls[VMM_HC_LINE], 1);
}
END_TEST

START_TEST(hcall_line_outside_ram_is_refused)
{
	ck_assert_int_eq(call(VMM_HC_LINE, 0, RAM - 4, 16), -EINVAL);
	ck_assert_ptr_nonnull(strstr(dev.last_error, "outside guest RAM"));
	ck_assert_int_eq(call(VMM_HC_LINE, 0, LIST, VMM_LINE_MAX + 1), -EINVAL);
	ck_assert_uint_eq(dev.stats.errors, 2);
	ck_assert_uint_eq(dev.stats.calls[VMM_HC_LINE], 0);
}
END_TEST

START_TEST(hcall_discard_zeroes_pages)
{
	uint64_t list[2] = {0x200000, 0x201000}, word = 0;

	ck_assert_int_eq(guest_ram_write(&mem, 0x201008, "secret!", 8), 0);
	ck_assert_int_eq(guest_ram_write(&mem, LIST, list, sizeof(list)), 0);
	ck_assert_int_eq(call(VMM_HC_DISCARD, 2, LIST, 0), 0);
	ck_assert_int_eq(guest_ram_read(&mem, 0x201008, &word, 8), 0);
	ck_assert_uint_eq(word, 0);
	ck_assert_uint_eq(dev.stats.discarded_pages, 2);
}
END_TEST

START_TEST(hcall_discard_refuses_unaligned_or_foreign_pages)
{
	uint64_t bad[] = {0x200001, RAM, UINT64_MAX & ~0xfffULL};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(guest_ram_write(&mem, LIST, &bad[i], 8), 0);
		ck_assert_int_eq(call(VMM_HC_DISCARD, 1, LIST, 0), -EINVAL);
		ck_assert_ptr_nonnull(strstr(dev.last_error, "page GPA"));
	}
	ck_assert_int_eq(call(VMM_HC_DISCARD, 0, LIST, 0), -EINVAL);
	ck_assert_int_eq(call(VMM_HC_DISCARD, VMM_HC_MAX_PAGES + 1, LIST, 0), -EINVAL);
	ck_assert_uint_eq(dev.stats.discarded_pages, 0);
}
END_TEST

START_TEST(hcall_copy_copies_pages)
{
	struct vmm_page_pair pair = {.dst = 0x300000, .src = 0x310000};
	char buf[8];

	ck_assert_int_eq(guest_ram_write(&mem, 0x310000, "payload", 8), 0);
	ck_assert_int_eq(guest_ram_write(&mem, LIST, &pair, sizeof(pair)), 0);
	ck_assert_int_eq(call(VMM_HC_COPY, 1, LIST, 0), 0);
	ck_assert_int_eq(guest_ram_read(&mem, 0x300000, buf, 8), 0);
	ck_assert_str_eq(buf, "payload");
}
END_TEST

START_TEST(hcall_unknown_number_is_refused)
{
	ck_assert_int_eq(call(99, 0, 0, 0), -EINVAL);
	ck_assert_ptr_nonnull(strstr(dev.last_error, "unknown"));
}
END_TEST

START_TEST(hcall_block_outside_ram_stops_the_vm)
{
	hcall_handle(&dev, RAM - 8);
	ck_assert_int_eq(stops, 1);
	ck_assert_ptr_nonnull(strstr(stop_reason, "hypercall block at GPA"));
}
END_TEST

START_TEST(hcall_errors_are_all_counted)
{
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(call(99, 0, 0, 0), -EINVAL);
	ck_assert_uint_eq(dev.stats.errors, 50);
}
END_TEST

/* A COPY the budget cannot hold fails, and the guest reads that failure
 * in .ret, never a stale 0. */
START_TEST(hcall_copy_over_budget_answers_enomem)
{
	struct vmm_page_pair pairs[4];
	struct vmm_hcall hc = {.nr = VMM_HC_COPY, .count = 4, .arg0 = LIST, .ret = 1};

	teardown();
	setup_with(GUEST_RAM_MANAGER_VMM, 4 * 4096); /* block and list pages, two more */
	for (int i = 0; i < 4; i++)
		pairs[i] = (struct vmm_page_pair){.dst = 0x300000 + i * 4096, .src = 0x200000};
	ck_assert_int_eq(guest_ram_write(&mem, 0x200000, "src", 4), 0);
	ck_assert_int_eq(guest_ram_write(&mem, LIST, pairs, sizeof(pairs)), 0);
	ck_assert_int_eq(guest_ram_write(&mem, BLOCK, &hc, sizeof(hc)), 0);
	hcall_handle(&dev, BLOCK);
	ck_assert_int_eq(guest_ram_read(&mem, BLOCK + offsetof(struct vmm_hcall, ret), &hc.ret, 8),
			 0);
	ck_assert_int_eq(hc.ret, -ENOMEM);
}
END_TEST

/* An answer the VMM cannot write back stops the VM: the guest would
 * otherwise read whatever .ret held as the answer. */
START_TEST(hcall_answer_that_cannot_be_written_stops_the_vm)
{
	static const uint8_t page[4096];

	teardown();
	setup_with(GUEST_RAM_MANAGER_VMM, 2 * 4096);
	ck_assert_int_eq(guest_ram_write(&mem, 0x200000, page, sizeof(page)), 0);
	ck_assert_int_eq(guest_ram_write(&mem, 0x201000, page, sizeof(page)), 0);
	hcall_handle(&dev, BLOCK); /* never written: reads as zeros, its answer needs a frame */
	ck_assert_int_eq(stops, 1);
	ck_assert_ptr_nonnull(strstr(stop_reason, "cannot write the answer"));
}
END_TEST

/* The device's counters, after a few requests of each kind and one bad one. */
static size_t hcall_state_fixture(uint8_t *st, size_t len)
{
	uint64_t list[2] = {0x200000, 0x201000};
	struct vmm_page_pair pair = {.dst = 0x300000, .src = 0x310000};
	size_t used;

	ck_assert_int_eq(guest_ram_write(&mem, LIST, "hi", 2), 0);
	ck_assert_int_eq(call(VMM_HC_LINE, 0, LIST, 2), 0);
	ck_assert_int_eq(guest_ram_write(&mem, LIST, list, sizeof(list)), 0);
	ck_assert_int_eq(call(VMM_HC_DISCARD, 2, LIST, 0), 0);
	ck_assert_int_eq(guest_ram_write(&mem, LIST, &pair, sizeof(pair)), 0);
	ck_assert_int_eq(call(VMM_HC_COPY, 1, LIST, 0), 0);
	ck_assert_int_eq(call(99, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(hcall_save(&dev, st, len, &used), 0);
	return used;
}

START_TEST(hcall_state_round_trip_keeps_the_counters)
{
	static struct hcall fresh;
	uint8_t st[128], again[128];
	size_t len = hcall_state_fixture(st, sizeof(st)), len2;
	char err[128];

	ck_assert_uint_eq(len, DEVSTATE_HEADER + 6 * 8);
	hcall_init(&fresh, &mem, &con, record_stop, NULL);
	ck_assert_int_eq(hcall_restore(&fresh, st, len, err, sizeof(err)), 0);
	ck_assert_mem_eq(fresh.stats.calls, dev.stats.calls, sizeof(dev.stats.calls));
	ck_assert_uint_eq(fresh.stats.errors, 1);
	ck_assert_uint_eq(fresh.stats.discarded_pages, 2);
	ck_assert_uint_eq(fresh.stats.copied_pages, 1);
	ck_assert_ptr_eq(fresh.mem, &mem); /* the device's links are not state */
	ck_assert_int_eq(hcall_save(&fresh, again, sizeof(again), &len2), 0);
	ck_assert_uint_eq(len2, len);
	ck_assert_mem_eq(again, st, len);
	ck_assert_int_eq(hcall_save(&fresh, again, len - 1, &len2), -ENOSPC);
}
END_TEST

static void hcall_assert_refused(const uint8_t *st, size_t len, const char *words)
{
	static struct hcall fresh;
	char err[200] = "";

	hcall_init(&fresh, &mem, &con, record_stop, NULL);
	fresh.stats.errors = 3;
	ck_assert_int_eq(hcall_restore(&fresh, st, len, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "hypercall state: ") == err, "message: %s", err);
	ck_assert_msg(strstr(err, words), "message '%s' lacks '%s'", err, words);
	ck_assert_uint_eq(fresh.stats.errors, 3);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

START_TEST(hcall_restore_refuses_a_short_state_or_another_version)
{
	uint8_t st[128];
	size_t len = hcall_state_fixture(st, sizeof(st));

	for (size_t n = 0; n < len; n++)
		hcall_assert_refused(st, n, n < DEVSTATE_HEADER ? "left of" : "length");
	st[0] = HCALL_STATE_VERSION + 1;
	hcall_assert_refused(st, len, "version 2: expected 1");
}
END_TEST

/* Offsets: the header, then line, discard, copy, errors, discarded, copied. */
START_TEST(hcall_restore_refuses_page_counts_no_calls_could_make)
{
	uint8_t st[128], bad[128];
	size_t len = hcall_state_fixture(st, sizeof(st));

	memcpy(bad, st, len);
	put_le64(bad + DEVSTATE_HEADER + 4 * 8, 0); /* discarded: 0 pages in 1 call */
	hcall_assert_refused(bad, len, "pages_discarded: 0 pages in 1 calls");
	memcpy(bad, st, len);
	put_le64(bad + DEVSTATE_HEADER + 5 * 8, VMM_HC_MAX_PAGES + 1);
	hcall_assert_refused(bad, len, "pages_copied: 513 pages in 1 calls");
	memcpy(bad, st, len);
	put_le64(bad + DEVSTATE_HEADER + 2 * 8, 0); /* copy calls: none, yet a page copied */
	hcall_assert_refused(bad, len, "pages_copied: 1 pages in 0 calls");
}
END_TEST

static void hcall_add_tests(TCase *tc)
{
	tcase_add_test(tc, hcall_line_reaches_the_console);
	tcase_add_test(tc, hcall_line_outside_ram_is_refused);
	tcase_add_test(tc, hcall_discard_zeroes_pages);
	tcase_add_test(tc, hcall_discard_refuses_unaligned_or_foreign_pages);
	tcase_add_test(tc, hcall_copy_copies_pages);
	tcase_add_test(tc, hcall_unknown_number_is_refused);
	tcase_add_test(tc, hcall_block_outside_ram_stops_the_vm);
	tcase_add_test(tc, hcall_errors_are_all_counted);
	tcase_add_test(tc, hcall_state_round_trip_keeps_the_counters);
	tcase_add_test(tc, hcall_restore_refuses_a_short_state_or_another_version);
	tcase_add_test(tc, hcall_restore_refuses_page_counts_no_calls_could_make);
}

static Suite *hcall_suite(void)
{
	Suite *s = suite_create("hcall");
	TCase *kernel = tcase_create("requests, kernel manager");
	TCase *own = tcase_create("requests, VMM manager");

	tcase_add_checked_fixture(kernel, setup_kernel, teardown);
	hcall_add_tests(kernel);
	suite_add_tcase(s, kernel);
	tcase_add_checked_fixture(own, setup_vmm, teardown);
	hcall_add_tests(own);
	tcase_add_test(own, hcall_copy_over_budget_answers_enomem);
	tcase_add_test(own, hcall_answer_that_cannot_be_written_stops_the_vm);
	suite_add_tcase(s, own);
	return s;
}

int main(void)
{
	if (!testlib_uffd_permitted())
		return TESTLIB_SKIP;
	return testlib_run(hcall_suite());
}
