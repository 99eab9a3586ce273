/* tests/check_guest_counters.c: the VMM's reader of the guest's counters
 * page (vmm/guest_counters.c). The page is guest input: a valid one is
 * shown as it is, an all-zero one is "not written", and each fixture that
 * breaks one thing is bad, counted, with a reason, and never shown; a
 * page whose sequence number is odd is torn. Random bit flips of a valid
 * page and random pages are never taken for valid. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "guest_counters.h"
#include "testlib.h"
#include "vm.h"

#define RAM	 (4 << 20)
#define PAGE_GPA 0x3000

static struct vmm_guest_counters page;
static struct vm vm;

/* vmm_abi.h's check word, written out again from its definition. */
static uint64_t abi_check(const struct vmm_guest_counters *c)
{
	const uint64_t *w = (const uint64_t *)c;
	uint64_t x = 0;

	for (size_t i = 0; &w[i] < &c->check; i++)
		x = ((x << 7) | (x >> 57)) ^ w[i];
	return x;
}

static void seal(void)
{
	page.check = abi_check(&page);
}

static void setup(void)
{
	struct guest_ram_params p = {.size = RAM,
				     .manager = GUEST_RAM_MANAGER_KERNEL,
				     .fault_around = 16,
				     .handler_cpu = -1};

	page = (struct vmm_guest_counters){
	    .magic = VMM_GC_MAGIC,
	    .version = VMM_GC_VERSION,
	    .size = sizeof(page),
	    .seq = 42,
	    .fault_anon = 10,
	    .fault_file = 3,
	    .fault_cow = 7,
	    .fault_stack = 2,
	    .cow_copies = 5,
	    .cow_reuses = 2,
	    .cache_hits = 4,
	    .cache_misses = 3,
	    .procs_live = 2,
	    .procs_created = 5,
	    .oom_kills = 1,
	    .tlb_cr3_loads = 9,
	    .total_pages = 900,
	    .resident_pages = 120,
	};
	seal();
	memset(&vm, 0, sizeof(vm));
	ck_assert_int_eq(guest_ram_init(&vm.mem, &p), 0);
}

static void teardown(void)
{
	guest_ram_destroy(&vm.mem);
}

static enum guest_counters_state check_page(const char **why)
{
	struct vmm_guest_counters out;

	*why = NULL;
	return guest_counters_check(&page, sizeof(page), RAM / 4096, &out, why);
}

START_TEST(counters_valid_page_is_shown_as_written)
{
	struct vmm_guest_counters out;
	const char *why = NULL;

	ck_assert_int_eq(guest_counters_check(&page, sizeof(page), RAM / 4096, &out, &why),
			 GC_VALID);
	ck_assert_ptr_null(why);
	ck_assert_mem_eq(&out, &page, sizeof(page));
}
END_TEST

START_TEST(counters_zero_page_is_not_written_and_not_bad)
{
	const char *why;

	memset(&page, 0, sizeof(page));
	ck_assert_int_eq(check_page(&why), GC_ABSENT);
}
END_TEST

START_TEST(counters_odd_sequence_is_torn)
{
	const char *why;

	page.seq = 43;
	seal();
	ck_assert_int_eq(check_page(&why), GC_TORN);
}
END_TEST

static void expect_bad(const char *reason)
{
	const char *why;

	ck_assert_int_eq(check_page(&why), GC_BAD);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, reason));
}

START_TEST(counters_wrong_magic_is_bad)
{
	page.magic ^= 1;
	seal();
	expect_bad("magic");
}
END_TEST

START_TEST(counters_unknown_version_is_bad)
{
	page.version = 2;
	seal();
	expect_bad("version");
}
END_TEST

START_TEST(counters_wrong_size_is_bad)
{
	page.size = 8;
	seal();
	expect_bad("size");
}
END_TEST

START_TEST(counters_wrong_check_word_is_bad)
{
	page.fault_cow++;
	expect_bad("check word");
}
END_TEST

START_TEST(counters_more_frames_than_ram_is_bad)
{
	page.total_pages = RAM / 4096 + 1;
	seal();
	expect_bad("total_pages");
}
END_TEST

START_TEST(counters_more_resident_than_total_is_bad)
{
	page.resident_pages = page.total_pages + 1;
	seal();
	expect_bad("resident_pages");
}
END_TEST

START_TEST(counters_more_copies_than_cow_faults_is_bad)
{
	page.cow_copies = page.fault_cow + 1;
	seal();
	expect_bad("cow_copies");
}
END_TEST

START_TEST(counters_more_live_than_created_is_bad)
{
	page.procs_live = page.procs_created + 1;
	seal();
	expect_bad("procs_live");
}
END_TEST

START_TEST(counters_short_copy_is_bad)
{
	struct vmm_guest_counters out;
	const char *why = NULL;

	ck_assert_int_eq(guest_counters_check(&page, sizeof(page) - 8, RAM / 4096, &out, &why),
			 GC_BAD);
	ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(counters_no_bit_flip_passes_for_valid)
{
	srandom(testlib_seed("counters_no_bit_flip_passes_for_valid", "GC_TEST_SEED"));
	for (int i = 0; i < 20000; i++) {
		struct vmm_guest_counters copy = page, out;
		const char *why = NULL;
		uint8_t *b = (uint8_t *)&copy;

		if (i % 2)
			b[random() % sizeof(copy)] ^= (uint8_t)(1u << (random() % 8));
		else
			for (size_t j = 0; j < sizeof(copy); j++)
				b[j] = (uint8_t)random();
		if (guest_counters_check(&copy, sizeof(copy), RAM / 4096, &out, &why) == GC_VALID)
			ck_abort_msg("round %d: a damaged page passed", i);
	}
}
END_TEST

START_TEST(counters_read_from_guest_ram_counts_bad_pages)
{
	struct guest_counters gc = {0};
	struct vmm_guest_counters out;
	const char *why;

	ck_assert_int_eq(guest_ram_write(&vm.mem, PAGE_GPA, &page, sizeof(page)), 0);
	ck_assert_int_eq(guest_counters_read(&gc, &vm.mem, PAGE_GPA, &out, &why), GC_VALID);
	ck_assert_uint_eq(out.fault_cow, 7);
	page.magic = 0x1234;
	ck_assert_int_eq(guest_ram_write(&vm.mem, PAGE_GPA, &page, sizeof(page)), 0);
	ck_assert_int_eq(guest_counters_read(&gc, &vm.mem, PAGE_GPA, &out, &why), GC_BAD);
	ck_assert_int_eq(guest_counters_read(&gc, &vm.mem, RAM - 8, &out, &why), GC_BAD);
	ck_assert_str_eq(why, "the page is outside guest RAM");
	ck_assert_uint_eq(gc.reads, 3);
	ck_assert_uint_eq(gc.bad, 2);
	ck_assert_uint_eq(gc.torn, 0);
}
END_TEST

START_TEST(counters_json_shows_values_only_when_valid)
{
	struct guest_counters gc = {0};
	json_t *o;

	ck_assert_int_eq(guest_ram_write(&vm.mem, PAGE_GPA, &page, sizeof(page)), 0);
	o = guest_counters_json(&gc, &vm.mem, PAGE_GPA);
	ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "valid");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "faults"), "cow")),
			 7);
	json_decref(o);
	page.resident_pages = page.total_pages + 1;
	seal();
	ck_assert_int_eq(guest_ram_write(&vm.mem, PAGE_GPA, &page, sizeof(page)), 0);
	o = guest_counters_json(&gc, &vm.mem, PAGE_GPA);
	ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "bad");
	ck_assert_ptr_null(json_object_get(o, "faults"));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "bad_reads")), 1);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o, "error")), "resident"));
	json_decref(o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guest_counters");
	TCase *tc = tcase_create("page");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, counters_valid_page_is_shown_as_written);
	tcase_add_test(tc, counters_zero_page_is_not_written_and_not_bad);
	tcase_add_test(tc, counters_odd_sequence_is_torn);
	tcase_add_test(tc, counters_wrong_magic_is_bad);
	tcase_add_test(tc, counters_unknown_version_is_bad);
	tcase_add_test(tc, counters_wrong_size_is_bad);
	tcase_add_test(tc, counters_wrong_check_word_is_bad);
	tcase_add_test(tc, counters_more_frames_than_ram_is_bad);
	tcase_add_test(tc, counters_more_resident_than_total_is_bad);
	tcase_add_test(tc, counters_more_copies_than_cow_faults_is_bad);
	tcase_add_test(tc, counters_more_live_than_created_is_bad);
	tcase_add_test(tc, counters_short_copy_is_bad);
	tcase_add_test(tc, counters_no_bit_flip_passes_for_valid);
	tcase_add_test(tc, counters_read_from_guest_ram_counts_bad_pages);
	tcase_add_test(tc, counters_json_shows_values_only_when_valid);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
