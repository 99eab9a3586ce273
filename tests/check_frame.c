/* tests/check_frame.c: the frame database keeps its records, state and
 * counts consistent under random use, zeroes frames before reuse, gives
 * freed memory back to the host, holds to its budget and allocates regions
 * first fit. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ept/frame.h"
#include "testlib.h"

#define STORE_FRAMES  1024
#define BUDGET_FRAMES 256

static struct frame_db *db;

static void setup(void)
{
	ck_assert_int_eq(frame_db_create(&db, STORE_FRAMES, BUDGET_FRAMES), 0);
}

static void teardown(void)
{
	frame_db_destroy(db);
}

static void assert_consistent(void)
{
	char why[256] = "";

	ck_assert_msg(frame_db_check(db, why, sizeof(why)) == 0, "%s", why);
}

static struct frame_db_stats stats(void)
{
	struct frame_db_stats s;

	frame_db_stats(db, &s);
	return s;
}

static uint64_t region(uint64_t pages)
{
	uint64_t base;

	ck_assert_int_eq(frame_region_alloc(db, pages, &base), 0);
	return base;
}

/* What a VM does when it goes: lets go of its frames, then its region. */
static void free_region(uint64_t base, uint64_t pages)
{
	for (uint64_t f = base; f < base + pages; f++) {
		struct frame *fr = frame_get(db, f);

		if (fr->state != FRAME_FREE)
			ck_assert_int_eq(frame_unmap(db, f, fr->vm, fr->gpa), 0);
	}
	frame_region_release(db, base, pages);
}

/* The store's pages [f, f + n), mapped shared. */
static unsigned char *view(uint64_t f, uint64_t n)
{
	void *p =
	    mmap(NULL, n * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, frame_db_fd(db), f * 4096);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

static void write_secret(uint64_t f, uint64_t n)
{
	unsigned char *p = view(f, n);

	memset(p, 0xa5, n * 4096);
	munmap(p, n * 4096);
}

static bool reads_zero(uint64_t f, uint64_t n)
{
	unsigned char *p = view(f, n);
	bool zero = true;

	for (uint64_t i = 0; i < n * 4096; i++)
		zero &= !p[i];
	munmap(p, n * 4096);
	return zero;
}

/* Bytes of memory the store of d holds (holes cost none). */
static long long store_bytes_of(const struct frame_db *d)
{
	struct stat st;

	ck_assert_int_eq(fstat(frame_db_fd(d), &st), 0);
	return (long long)st.st_blocks * 512;
}

static long long store_bytes(void)
{
	return store_bytes_of(db);
}

/* This process's resident set, from /proc/self/statm. */
static long long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long size, resident = -1;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%lld %lld", &size, &resident), 2);
	fclose(f);
	return resident * 4096;
}

START_TEST(frame_map_new_makes_frame_in_use)
{
	uint64_t base = region(16);
	struct frame *fr;

	ck_assert_int_eq(frame_map_new(db, base + 3, 1, 0x3000), 0);
	fr = frame_get(db, base + 3);
	ck_assert_uint_eq(fr->state, FRAME_IN_USE);
	ck_assert_uint_eq(fr->vm, 1);
	ck_assert_uint_eq(fr->gpa, 0x3000);
	ck_assert_uint_eq(fr->swap_slot, FRAME_NO_SLOT);
	ck_assert_uint_eq(stats().resident, 1);
	assert_consistent();
}
END_TEST

START_TEST(frame_untouched_record_reads_free)
{
	struct frame *fr = frame_get(db, 700);

	ck_assert_uint_eq(fr->state, FRAME_FREE);
	ck_assert_uint_eq(fr->swap_slot, FRAME_NO_SLOT);
	ck_assert_ptr_null(frame_get(db, STORE_FRAMES));
}
END_TEST

/* A fork image's region: its resident frames are SHARED until they go. */
START_TEST(frame_region_share_marks_the_image_frames)
{
	uint64_t base = region(8);

	ck_assert_int_eq(frame_map_new(db, base + 1, 1, 0x1000), 0);
	ck_assert_int_eq(frame_map_new(db, base + 5, 1, 0x5000), 0);
	frame_region_share(db, base, 8);
	ck_assert_uint_eq(frame_get(db, base + 1)->state, FRAME_SHARED);
	ck_assert_uint_eq(frame_get(db, base)->state, FRAME_FREE);
	ck_assert_uint_eq(stats().shared, 2);
	ck_assert_uint_eq(stats().resident, 2);
	assert_consistent();
	ck_assert_int_eq(frame_unmap(db, base + 1, 1, 0x1000), 0);
	ck_assert_uint_eq(stats().shared, 1);
	free_region(base, 8);
	ck_assert_uint_eq(stats().shared, 0);
	assert_consistent();
}
END_TEST

START_TEST(frame_unmap_of_unmapped_pair_changes_nothing)
{
	uint64_t f = region(1);
	struct frame before;

	ck_assert_int_eq(frame_map_new(db, f, 1, 0x1000), 0);
	before = *frame_get(db, f);
	ck_assert_int_eq(frame_unmap(db, f, 1, 0x5000), -EINVAL);
	ck_assert_int_eq(frame_unmap(db, f, 3, 0x1000), -EINVAL);
	ck_assert_int_eq(frame_unmap(db, f + 1, 1, 0x1000), -EINVAL);
	ck_assert_mem_eq(frame_get(db, f), &before, sizeof(before));
	ck_assert_uint_eq(stats().misuse, 3);
	assert_consistent();
}
END_TEST

START_TEST(frame_map_new_refuses_busy_or_unallocated_frame)
{
	uint64_t f = region(1);

	ck_assert_int_eq(frame_map_new(db, f, 1, 0), 0);
	ck_assert_int_eq(frame_map_new(db, f, 2, 0), -EBUSY);
	ck_assert_int_eq(frame_map_new(db, f + 1, 1, 0), -EINVAL); /* on the free list */
	ck_assert_int_eq(frame_map_new(db, STORE_FRAMES, 1, 0), -EINVAL);
	assert_consistent();
}
END_TEST

/* The reference model: each frame's holder, or none. */
#define MODEL_FRAMES 48

struct model {
	bool held[MODEL_FRAMES];
	uint16_t vm[MODEL_FRAMES];
	uint64_t gpa[MODEL_FRAMES];
	unsigned next_gpa;
};

static void check_model_frame(const struct model *m, uint64_t base, unsigned i)
{
	struct frame *fr = frame_get(db, base + i);

	ck_assert_uint_eq(fr->state, m->held[i] ? FRAME_IN_USE : FRAME_FREE);
	if (m->held[i]) {
		ck_assert_uint_eq(fr->vm, m->vm[i]);
		ck_assert_uint_eq(fr->gpa, m->gpa[i]);
	}
}

static void random_op(struct model *m, uint64_t base)
{
	unsigned i = random() % MODEL_FRAMES;
	uint64_t f = base + i;
	uint16_t vm = 1 + random() % 8;
	uint64_t gpa = (uint64_t)m->next_gpa++ << 12;
	int want = m->held[i] ? -EBUSY : 0;

	switch (random() % 4) {
	case 0: /* map: refused if held (or over budget, which 48 frames never are) */
		ck_assert_int_eq(frame_map_new(db, f, vm, gpa), want);
		if (!want) {
			m->held[i] = true;
			m->vm[i] = vm;
			m->gpa[i] = gpa;
		}
		break;
	case 1:
	case 2: /* the holder lets go */
		if (!m->held[i])
			break;
		ck_assert_int_eq(frame_unmap(db, f, m->vm[i], m->gpa[i]), 0);
		m->held[i] = false;
		break;
	default: /* misuse: a pair that does not hold f */
		ck_assert_int_eq(frame_unmap(db, f, vm, gpa), -EINVAL);
	}
}

START_TEST(frame_records_follow_random_use)
{
	static struct model m;
	unsigned seed = testlib_seed("frame_records_follow_random_use", "FRAME_TEST_SEED");
	uint64_t base = region(MODEL_FRAMES), resident;

	srandom(seed);
	memset(&m, 0, sizeof(m));
	for (int op = 0; op < 100000; op++) {
		random_op(&m, base);
		if (op % 1000 == 0) {
			for (unsigned i = 0; i < MODEL_FRAMES; i++)
				check_model_frame(&m, base, i);
			assert_consistent();
		}
	}
	resident = 0;
	for (unsigned i = 0; i < MODEL_FRAMES; i++) {
		check_model_frame(&m, base, i);
		resident += m.held[i];
	}
	assert_consistent();
	ck_assert_uint_eq(stats().resident, resident);
	ck_assert_uint_eq(stats().free_in_budget, BUDGET_FRAMES - resident);
	free_region(base, MODEL_FRAMES);
	ck_assert_uint_eq(stats().resident, 0);
	assert_consistent();
}
END_TEST

START_TEST(frame_freed_frame_reads_back_zeros)
{
	uint64_t f = region(4) + 2;

	ck_assert_int_eq(frame_map_new(db, f, 1, 0), 0);
	write_secret(f, 1);
	ck_assert(!reads_zero(f, 1));
	ck_assert_int_eq(frame_unmap(db, f, 1, 0), 0);
	ck_assert_int_eq(frame_map_new(db, f, 2, 0), 0);
	ck_assert(reads_zero(f, 1));
}
END_TEST

START_TEST(frame_region_reused_after_free_reads_back_zeros)
{
	uint64_t base = region(64), again;

	for (uint64_t f = base; f < base + 64; f += 2)
		ck_assert_int_eq(frame_map_new(db, f, 1, f << 12), 0);
	write_secret(base, 64);
	free_region(base, 64);
	again = region(64);
	ck_assert_uint_eq(again, base);
	ck_assert(reads_zero(again, 64));
}
END_TEST

START_TEST(frame_freeing_gives_memory_back_to_host)
{
	uint64_t base = region(64);
	long long before = store_bytes();

	for (uint64_t f = base; f < base + 64; f++)
		ck_assert_int_eq(frame_map_new(db, f, 1, f << 12), 0);
	write_secret(base, 64);
	ck_assert_int_ge(store_bytes(), before + 64 * 4096);
	for (uint64_t f = base; f < base + 32; f++)
		ck_assert_int_eq(frame_unmap(db, f, 1, f << 12), 0);
	ck_assert_int_le(store_bytes(), before + 32 * 4096);
	ck_assert_uint_eq(stats().holes_punched, 32);
	free_region(base, 64);
	ck_assert_int_le(store_bytes(), before);
	ck_assert_uint_eq(stats().holes_punched, 64);
}
END_TEST

/* A VM going away lets go of its frames without a punch each: the
 * region's release gives them back in runs, zeroed all the same; a frame
 * whose region already went is punched at once. */
START_TEST(frame_deferred_unmap_is_punched_with_the_region)
{
	uint64_t base = region(64), again;
	long long before = store_bytes();

	for (uint64_t f = base; f < base + 64; f++)
		ck_assert_int_eq(frame_map_new(db, f, 1, f << 12), 0);
	write_secret(base, 64);
	for (uint64_t f = base; f < base + 63; f++)
		ck_assert_int_eq(frame_unmap_deferred(db, f, 1, f << 12), 0);
	ck_assert_int_ge(store_bytes(), before + 63 * 4096); /* not yet */
	ck_assert_int_eq(stats().resident, 1);
	frame_region_release(db, base, 64);
	ck_assert_int_le(store_bytes(), before + 4096); /* the held one stays */
	ck_assert_int_eq(frame_unmap_deferred(db, base + 63, 1, (base + 63) << 12), 0);
	ck_assert_int_le(store_bytes(), before);
	again = region(64);
	ck_assert_uint_eq(again, base);
	ck_assert(reads_zero(again, 64));
	ck_assert_uint_eq(stats().holes_punched, 64);
}
END_TEST

START_TEST(frame_map_new_refuses_past_budget)
{
	uint64_t base = region(BUDGET_FRAMES + 1);

	for (uint64_t f = base; f < base + BUDGET_FRAMES; f++)
		ck_assert_int_eq(frame_map_new(db, f, 1, f << 12), 0);
	ck_assert_uint_eq(stats().free_in_budget, 0);
	ck_assert_int_eq(frame_map_new(db, base + BUDGET_FRAMES, 1, 0), -ENOMEM);
	ck_assert_uint_eq(frame_get(db, base + BUDGET_FRAMES)->state, FRAME_FREE);
	ck_assert_uint_eq(stats().resident, BUDGET_FRAMES);
	/* Freeing one makes room for one. */
	ck_assert_int_eq(frame_unmap(db, base, 1, base << 12), 0);
	ck_assert_int_eq(frame_map_new(db, base + BUDGET_FRAMES, 1, 0), 0);
	ck_assert_int_eq(frame_map_new(db, base, 1, 0), -ENOMEM);
	assert_consistent();
}
END_TEST

START_TEST(frame_charge_refuses_past_budget)
{
	uint64_t f = region(1);

	ck_assert_int_eq(frame_charge(db, BUDGET_FRAMES - 1), 0);
	ck_assert_int_eq(frame_charge(db, 2), -ENOMEM);
	ck_assert_int_eq(frame_map_new(db, f, 1, 0), 0);
	ck_assert_int_eq(frame_charge(db, 1), -ENOMEM);
	ck_assert_uint_eq(stats().free_in_budget, 0);
	frame_uncharge(db, 10);
	ck_assert_int_eq(frame_charge(db, 10), 0);
	ck_assert_int_eq(frame_charge(db, 1), -ENOMEM);
	/* The budget a resident frame holds is not frame_uncharge's to return. */
	frame_uncharge(db, BUDGET_FRAMES);
	ck_assert_uint_eq(stats().misuse, 1);
	ck_assert_uint_eq(stats().free_in_budget, 0);
}
END_TEST

/* A frame still held when its region goes stays resident, and returns to
 * the free list with its unmap. */
START_TEST(frame_region_release_keeps_a_held_frame_until_its_unmap)
{
	uint64_t base = region(32), x;

	for (uint64_t f = base; f < base + 32; f++)
		ck_assert_int_eq(frame_map_new(db, f, 1, f << 12), 0);
	for (uint64_t f = base + 1; f < base + 32; f++)
		ck_assert_int_eq(frame_unmap(db, f, 1, f << 12), 0);
	frame_region_release(db, base, 32);
	ck_assert_uint_eq(stats().resident, 1);
	ck_assert_uint_eq(frame_get(db, base)->state, FRAME_IN_USE);
	assert_consistent();
	ck_assert_int_eq(frame_region_alloc(db, STORE_FRAMES, &x), -ENOSPC);
	ck_assert_int_eq(frame_unmap(db, base, 1, base << 12), 0);
	ck_assert_uint_eq(stats().resident, 0);
	ck_assert_uint_eq(stats().holes_punched, 32);
	assert_consistent();
	ck_assert_int_eq(frame_region_alloc(db, STORE_FRAMES, &x), 0);
}
END_TEST

START_TEST(frame_region_alloc_is_first_fit)
{
	uint64_t a = region(10), b = region(20), c = region(30), d;

	ck_assert_uint_eq(a, 0);
	ck_assert_uint_eq(b, 10);
	ck_assert_uint_eq(c, 30);
	frame_region_release(db, b, 20);
	d = region(15); /* fits in b's hole: the first fit */
	ck_assert_uint_eq(d, b);
	ck_assert_uint_eq(region(10), 60); /* the 5 left in the hole are too few */
	ck_assert_uint_eq(region(5), 25);
	assert_consistent();
}
END_TEST

START_TEST(frame_region_release_merges_neighbours)
{
	uint64_t a = region(100), b = region(100), c = region(STORE_FRAMES - 200), x;

	ck_assert_int_eq(frame_region_alloc(db, 1, &x), -ENOSPC);
	frame_region_release(db, a, 100);
	frame_region_release(db, c, STORE_FRAMES - 200);
	ck_assert_int_eq(frame_region_alloc(db, 101, &x), 0); /* in c's place */
	ck_assert_uint_eq(x, c);
	frame_region_release(db, x, 101);
	ck_assert_int_eq(frame_region_alloc(db, STORE_FRAMES, &x), -ENOSPC);
	frame_region_release(db, b, 100); /* joins a on its left and c on its right */
	assert_consistent();
	ck_assert_int_eq(frame_region_alloc(db, STORE_FRAMES, &x), 0);
	ck_assert_uint_eq(x, 0);
}
END_TEST

START_TEST(frame_region_alloc_refuses_what_does_not_fit)
{
	uint64_t x;

	ck_assert_int_eq(frame_region_alloc(db, STORE_FRAMES + 1, &x), -ENOSPC);
	ck_assert_int_eq(frame_region_alloc(db, 0, &x), -EINVAL);
	ck_assert_int_eq(frame_region_alloc(db, STORE_FRAMES, &x), 0);
}
END_TEST

START_TEST(frame_region_release_of_unallocated_range_changes_nothing)
{
	uint64_t base = region(10);

	ck_assert_int_eq(frame_map_new(db, base, 1, 0), 0);
	frame_region_release(db, base + 5, 10); /* runs into free frames */
	frame_region_release(db, STORE_FRAMES - 1, 2);
	ck_assert_uint_eq(stats().misuse, 2);
	ck_assert_uint_eq(stats().resident, 1);
	ck_assert_uint_eq(region(1), 10);
	assert_consistent();
}
END_TEST

/* Records count up to the end of the highest region allocated: the rest
 * of the array is never touched. */
START_TEST(frame_metadata_counts_records_up_to_the_highest_region)
{
	size_t none = stats().metadata_bytes, empty;
	uint64_t f = region(1);

	empty = stats().metadata_bytes;
	ck_assert_uint_eq(empty - none, 4096); /* the first page of records */
	ck_assert_uint_lt(empty, STORE_FRAMES * sizeof(struct frame));
	ck_assert_int_eq(frame_map_new(db, f, 1, 0), 0);
	ck_assert_uint_eq(stats().metadata_bytes, empty);
	ck_assert_uint_eq(sizeof(struct frame), 16);
}
END_TEST

START_TEST(frame_huge_sparse_store_costs_only_what_is_used)
{
	static const unsigned char page[4096] = {1};
	long long rss = rss_bytes();
	struct frame_db *big;
	struct frame_db_stats s;
	uint64_t base, f;

	/* 1 TiB of store, 8 GiB of records: virtual until touched. */
	ck_assert_int_eq(frame_db_create(&big, 1ULL << 28, 1024), 0);
	ck_assert_int_eq(frame_region_alloc(big, 1ULL << 27, &base), 0);
	ck_assert_int_eq(frame_region_alloc(big, 1ULL << 26, &base), 0);
	f = base + 12345;
	ck_assert_int_eq(frame_map_new(big, f, 1, 0), 0);
	ck_assert_int_eq(pwrite(frame_db_fd(big), page, sizeof(page), f * 4096), sizeof(page));
	/* One frame of data costs one page of store and a few of records. */
	ck_assert_int_eq(store_bytes_of(big), 4096);
	frame_db_stats(big, &s);
	ck_assert_uint_eq(s.resident, 1);
	ck_assert_msg(rss_bytes() - rss < (16 << 20), "resident set grew by %lld KiB",
		      (rss_bytes() - rss) >> 10);
	/* Freed, it costs nothing again. */
	ck_assert_int_eq(frame_unmap(big, f, 1, 0), 0);
	ck_assert_int_eq(store_bytes_of(big), 0);
	frame_db_stats(big, &s);
	ck_assert_uint_eq(s.resident, 0);
	ck_assert_uint_eq(s.holes_punched, 1);
	frame_db_destroy(big);
}
END_TEST

START_TEST(frame_db_create_refuses_bad_sizes)
{
	struct frame_db *x;

	ck_assert_int_eq(frame_db_create(&x, 0, 10), -EINVAL);
	ck_assert_int_eq(frame_db_create(&x, 1ULL << 32, 10), -EINVAL);
}
END_TEST

static Suite *frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("db");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, frame_map_new_makes_frame_in_use);
	tcase_add_test(tc, frame_untouched_record_reads_free);
	tcase_add_test(tc, frame_region_share_marks_the_image_frames);
	tcase_add_test(tc, frame_unmap_of_unmapped_pair_changes_nothing);
	tcase_add_test(tc, frame_map_new_refuses_busy_or_unallocated_frame);
	tcase_add_test(tc, frame_records_follow_random_use);
	tcase_add_test(tc, frame_freed_frame_reads_back_zeros);
	tcase_add_test(tc, frame_region_reused_after_free_reads_back_zeros);
	tcase_add_test(tc, frame_freeing_gives_memory_back_to_host);
	tcase_add_test(tc, frame_map_new_refuses_past_budget);
	tcase_add_test(tc, frame_charge_refuses_past_budget);
	tcase_add_test(tc, frame_region_release_keeps_a_held_frame_until_its_unmap);
	tcase_add_test(tc, frame_deferred_unmap_is_punched_with_the_region);
	tcase_add_test(tc, frame_region_alloc_is_first_fit);
	tcase_add_test(tc, frame_region_release_merges_neighbours);
	tcase_add_test(tc, frame_region_alloc_refuses_what_does_not_fit);
	tcase_add_test(tc, frame_region_release_of_unallocated_range_changes_nothing);
	tcase_add_test(tc, frame_metadata_counts_records_up_to_the_highest_region);
	tcase_add_test(tc, frame_huge_sparse_store_costs_only_what_is_used);
	tcase_add_test(tc, frame_db_create_refuses_bad_sizes);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(frame_suite());
}
