/* tests/check_vmem_snap.c: live snapshots and lazy loading of a VM's
 * memory (ept/vmem_snap.c), without KVM: a thread writing through the view
 * stands in for the guest, and "pausing" it is a handshake. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "testlib.h"
#include "vmem.h"
#include "vmem_priv.h" /* vmem_page_held: what the table holds at the freeze */

#define PAGE 4096ULL
#define MiB  (1ULL << 20)

struct fixture {
	struct frame_db *db;
	struct vmem *vm;
	uint64_t pages;
	char fatal[256];
	/* The sink: what the snapshot saved, and how often each page. */
	uint8_t *saved;
	unsigned *times;
	int fail_at; /* -1: never; else the save of that page fails */
	/* The source of a lazy restore. */
	uint8_t *source;
	int bad_index;
};

static void on_fatal(void *arg, const char *msg)
{
	struct fixture *f = arg;

	snprintf(f->fatal, sizeof(f->fatal), "%s", msg);
}

static int sink_save(void *arg, uint64_t gpa, const void *page, char *msg, size_t len)
{
	struct fixture *f = arg;
	uint64_t idx = gpa / PAGE;

	if ((int)idx == f->fail_at) {
		snprintf(msg, len, "disk full (test)");
		return -ENOSPC;
	}
	memcpy(f->saved + idx * PAGE, page, PAGE);
	f->times[idx]++;
	return 0;
}

static int source_load(void *arg, uint64_t index, void *page, char *msg, size_t len)
{
	struct fixture *f = arg;

	if ((int)index == f->bad_index) {
		snprintf(msg, len, "snap/snapshot: offset %llu: hash mismatch (test)",
			 (unsigned long long)index * PAGE);
		return -EBADMSG;
	}
	memcpy(page, f->source + index * PAGE, PAGE);
	return 0;
}

static const struct vmem_source_ops test_source = {.load = source_load};

static void fixture_up_ra(struct fixture *f, uint64_t size, unsigned window, bool source,
			  unsigned readahead)
{
	struct vmem_range r = {0, size};
	struct vmem_config cfg = {.ranges = &r,
				  .nr_ranges = 1,
				  .handler_cpu = -1,
				  .max_window = window,
				  .on_fatal = on_fatal,
				  .arg = f,
				  .source = source ? &test_source : NULL,
				  .source_arg = f,
				  .swap_readahead = readahead};

	memset(f, 0, sizeof(*f));
	f->pages = size / PAGE;
	f->fail_at = f->bad_index = -1;
	f->saved = calloc(f->pages, PAGE);
	f->times = calloc(f->pages, sizeof(unsigned));
	f->source = calloc(f->pages, PAGE);
	ck_assert(f->saved && f->times && f->source);
	ck_assert_int_eq(frame_db_create(&f->db, f->pages, f->pages), 0);
	cfg.db = f->db;
	ck_assert_int_eq(vmem_create(&f->vm, &cfg), 0);
	ck_assert_int_eq(vmem_start(f->vm), 0);
}

static void fixture_up(struct fixture *f, uint64_t size, unsigned window, bool source)
{
	fixture_up_ra(f, size, window, source, 0);
}

static void fixture_down(struct fixture *f)
{
	vmem_destroy(f->vm);
	frame_db_destroy(f->db);
	free(f->saved);
	free(f->times);
	free(f->source);
}

static void fill_page(struct fixture *f, uint64_t idx, uint8_t byte)
{
	memset((uint8_t *)vmem_view(f->vm, 0) + idx * PAGE, byte, PAGE);
}

static void save_all(struct fixture *f)
{
	char msg[256] = "";
	int ret;

	while ((ret = vmem_snap_save(f->vm, 16, msg, sizeof(msg))) == 1)
		;
	ck_assert_msg(ret == 0, "vmem_snap_save: %d (%s)", ret, msg);
}

static void assert_saved(struct fixture *f, uint64_t idx, uint8_t byte)
{
	const uint8_t *p = f->saved + idx * PAGE;

	ck_assert_msg(f->times[idx] == 1, "page %llu saved %u times, expected once",
		      (unsigned long long)idx, f->times[idx]);
	for (uint64_t i = 0; i < PAGE; i++)
		ck_assert_msg(p[i] == byte, "page %llu byte %llu: saved %#x, expected %#x",
			      (unsigned long long)idx, (unsigned long long)i, p[i], byte);
}

/* Every way a page can change after the freeze saves it first. */
START_TEST(snap_saves_each_page_as_of_the_freeze_before_it_changes)
{
	struct fixture f;
	struct vmem_snap_sink sink = {.save = sink_save, .arg = &f};
	struct vmem_snap_stats s;
	uint8_t page[PAGE];

	fixture_up(&f, 4 * MiB, 1, false);
	for (uint64_t i = 0; i < 100; i++)
		fill_page(&f, i, 0xa0);
	ck_assert_int_eq(vmem_snap_arm(f.vm, &sink), 0);
	ck_assert_int_eq(vmem_snap_arm(f.vm, &sink), -EBUSY);
	fill_page(&f, 5, 0xb5); /* armed: let through, protected again at the freeze */
	ck_assert_int_eq(vmem_snap_freeze(f.vm), 0);
	fill_page(&f, 5, 0xc5);	  /* guest write: WP fault */
	fill_page(&f, 7, 0xc7);	  /* guest write: WP fault */
	memset(page, 0xd8, PAGE); /* the VMM writes and discards */
	ck_assert_int_eq(vmem_write(f.vm, 8 * PAGE, page, PAGE), 0);
	ck_assert_int_eq(vmem_discard(f.vm, 9 * PAGE, PAGE), 0);
	fill_page(&f, 200, 0xee); /* not held at the freeze: not saved */
	vmem_snap_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.saved_by_fault, 4);
	ck_assert_uint_eq(s.total, 100);
	ck_assert_uint_ge(s.reprotected, 1);
	save_all(&f);
	vmem_snap_end(f.vm);
	assert_saved(&f, 5, 0xb5);
	assert_saved(&f, 7, 0xa0);
	assert_saved(&f, 8, 0xa0);
	assert_saved(&f, 9, 0xa0);
	for (uint64_t i = 10; i < 100; i++)
		assert_saved(&f, i, 0xa0);
	ck_assert_uint_eq(f.times[200], 0);
	vmem_snap_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.pending, 0);
	ck_assert_uint_eq(s.saved_by_writer + s.saved_by_fault, 100);
	ck_assert_uint_eq(s.snapshots, 1);
	ck_assert_int_eq(s.state, VMEM_SNAP_IDLE);
	/* The guest's own writes are all there, and writable again. */
	ck_assert_int_eq(vmem_read(f.vm, 7 * PAGE, page, PAGE), 0);
	ck_assert_int_eq(page[100], 0xc7);
	fill_page(&f, 7, 0x17);
	ck_assert_int_eq(vmem_read(f.vm, 7 * PAGE, page, PAGE), 0);
	ck_assert_int_eq(page[4095], 0x17);
	ck_assert_str_eq(f.fatal, "");
	fixture_down(&f);
}
END_TEST

/* A page filled ahead into the store only, never mapped by the view: its
 * first touch after the freeze is a MINOR fault, which saves it first. */
START_TEST(snap_saves_a_page_the_view_never_mapped)
{
	struct fixture f;
	struct vmem_snap_sink sink = {.save = sink_save, .arg = &f};
	struct vmem_snap_stats s;
	volatile uint8_t *view;
	uint8_t page[PAGE];

	fixture_up(&f, 4 * MiB, 1, false);
	view = vmem_view(f.vm, 0);
	memset(page, 0x21, PAGE); /* the VMM writes the store, not the view */
	ck_assert_int_eq(vmem_write(f.vm, 33 * PAGE, page, PAGE), 0);
	view[32 * PAGE] = 0x20;
	ck_assert_int_eq(vmem_snap_arm(f.vm, &sink), 0);
	ck_assert_int_eq(vmem_snap_freeze(f.vm), 0);
	view[33 * PAGE] = 0x33;
	vmem_snap_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.saved_by_fault, 1);
	assert_saved(&f, 33, 0x21);
	save_all(&f);
	vmem_snap_end(f.vm);
	ck_assert_uint_eq(f.times[32], 1);
	ck_assert_int_eq(f.saved[32 * PAGE], 0x20);
	assert_saved(&f, 33, 0x21);
	ck_assert_int_eq(view[33 * PAGE], 0x33);
	ck_assert_int_eq(view[33 * PAGE + 1], 0x21);
	fixture_down(&f);
}
END_TEST

struct writer {
	struct fixture *f;
	uint8_t *shadow; /* what the "guest" wrote, to check nothing is lost */
	int pause_req, parked, stop;
	uint64_t writes;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	uint64_t *view = vmem_view(w->f->vm, 0), *shadow = (uint64_t *)w->shadow;
	uint64_t x = 88172645463325252ULL, words = w->f->pages * PAGE / 8;

	while (!__atomic_load_n(&w->stop, __ATOMIC_SEQ_CST)) {
		if (__atomic_load_n(&w->pause_req, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&w->parked, 1, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&w->pause_req, __ATOMIC_SEQ_CST))
				usleep(100);
			__atomic_store_n(&w->parked, 0, __ATOMIC_SEQ_CST);
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* Half the memory only: the rest stays untouched, held or not. */
		view[x % (words / 2)] = shadow[x % (words / 2)] = x;
		w->writes++;
	}
	return NULL;
}

static void writer_pause(struct writer *w)
{
	__atomic_store_n(&w->pause_req, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&w->parked, __ATOMIC_SEQ_CST))
		usleep(100);
}

/* The whole protocol against a guest that never stops writing: the
 * snapshot equals memory at the freeze, page for page, and the guest loses
 * none of its writes. */
static void snap_during_writes(bool rearm)
{
	struct fixture f;
	struct vmem_snap_sink sink = {.save = sink_save, .arg = &f};
	struct vmem_snap_stats s;
	struct writer w = {.f = &f};
	pthread_t t;
	uint8_t *expect, *now;
	uint64_t held = 0;

	fixture_up(&f, 8 * MiB, 16, false);
	w.shadow = calloc(f.pages, PAGE);
	expect = calloc(f.pages, PAGE);
	now = calloc(f.pages, PAGE);
	ck_assert(w.shadow && expect && now);
	ck_assert_int_eq(pthread_create(&t, NULL, writer_thread, &w), 0);
	usleep(20000);
	ck_assert_int_eq(vmem_snap_arm(f.vm, &sink), 0);
	usleep(5000);
	if (rearm) /* what was written while arming, protected again */
		ck_assert_int_eq(vmem_snap_rearm(f.vm), 0);
	usleep(rearm ? 5000 : 0);
	writer_pause(&w);
	ck_assert_int_eq(vmem_read(f.vm, 0, expect, f.pages * PAGE), 0);
	for (uint64_t i = 0; i < f.pages; i++)
		held += vmem_page_held(f.vm, i);
	ck_assert_int_eq(vmem_snap_freeze(f.vm), 0);
	__atomic_store_n(&w.pause_req, 0, __ATOMIC_SEQ_CST);
	for (int ret = 1; ret == 1;) {
		char msg[256];

		ret = vmem_snap_save(f.vm, 8, msg, sizeof(msg));
		ck_assert_msg(ret >= 0, "vmem_snap_save: %s", msg);
		usleep(50);
	}
	vmem_snap_end(f.vm);
	__atomic_store_n(&w.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	for (uint64_t i = 0; i < f.pages; i++) {
		ck_assert_uint_le(f.times[i], 1);
		if (f.times[i])
			ck_assert_msg(!memcmp(f.saved + i * PAGE, expect + i * PAGE, PAGE),
				      "page %llu: the snapshot differs from memory at the freeze",
				      (unsigned long long)i);
	}
	vmem_snap_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.total, held);
	ck_assert_uint_eq(s.saved_by_writer + s.saved_by_fault, held);
	ck_assert_int_eq(vmem_read(f.vm, 0, now, f.pages * PAGE), 0);
	ck_assert_msg(!memcmp(now, w.shadow, f.pages * PAGE), "the guest lost writes");
	ck_assert_uint_gt(w.writes, 0);
	ck_assert_str_eq(f.fatal, "");
	free(w.shadow);
	free(expect);
	free(now);
	fixture_down(&f);
}

START_TEST(snap_of_a_guest_writing_throughout_equals_memory_at_the_freeze)
{
	snap_during_writes(false);
}
END_TEST

/* The same with the pages written while arming protected again before the
 * pause (what a snapshot does): the freeze protects only the later ones. */
START_TEST(snap_rearmed_before_the_pause_equals_memory_at_the_freeze)
{
	snap_during_writes(true);
}
END_TEST

/* A save that fails ends the snapshot, not the guest. */
START_TEST(snap_failed_save_fails_the_snapshot_and_the_guest_runs_on)
{
	struct fixture f;
	struct vmem_snap_sink sink = {.save = sink_save, .arg = &f};
	char msg[256] = "";
	int ret;

	fixture_up(&f, 4 * MiB, 1, false);
	for (uint64_t i = 0; i < 10; i++)
		fill_page(&f, i, 0x11);
	f.fail_at = 3;
	ck_assert_int_eq(vmem_snap_arm(f.vm, &sink), 0);
	ck_assert_int_eq(vmem_snap_freeze(f.vm), 0);
	fill_page(&f, 3, 0x33); /* its save fails: the write goes ahead */
	while ((ret = vmem_snap_save(f.vm, 4, msg, sizeof(msg))) == 1)
		;
	ck_assert_int_eq(ret, -EIO);
	ck_assert_msg(strstr(msg, "GPA 0x3000") && strstr(msg, "disk full"), "msg: %s", msg);
	vmem_snap_end(f.vm);
	fill_page(&f, 4, 0x44);
	ck_assert_int_eq(((uint8_t *)vmem_view(f.vm, 0))[3 * PAGE], 0x33);
	ck_assert_str_eq(f.fatal, "");
	/* And the next snapshot may be taken. */
	f.fail_at = -1;
	ck_assert_int_eq(vmem_snap_arm(f.vm, &sink), 0);
	vmem_snap_end(f.vm);
	fixture_down(&f);
}
END_TEST

START_TEST(source_pages_load_on_first_touch)
{
	struct fixture f;
	struct vmem_stats s;
	uint8_t page[PAGE];
	volatile uint8_t *view;

	fixture_up(&f, 4 * MiB, 16, true);
	view = vmem_view(f.vm, 0);
	for (uint64_t i = 0; i < 50; i++) {
		memset(f.source + i * PAGE, (int)i + 1, PAGE);
		ck_assert_int_eq(vmem_set_source_page(f.vm, (i + 100) * PAGE, i), 0);
	}
	ck_assert_int_eq(vmem_set_source_page(f.vm, 100 * PAGE, 1), -EEXIST);
	ck_assert_int_eq(vmem_set_source_page(f.vm, 100 * PAGE + 1, 1), -EINVAL);
	ck_assert_int_eq(vmem_set_source_page(f.vm, 4 * MiB, 1), -EFAULT);
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.source_pages, 50);
	for (uint64_t i = 0; i < 40; i++)
		ck_assert_int_eq(view[(i + 100) * PAGE + 17], (int)i + 1);
	/* The VMM reads one without loading it, and writes part of another. */
	ck_assert_int_eq(vmem_read(f.vm, 145 * PAGE, page, PAGE), 0);
	ck_assert_int_eq(page[4000], 46);
	ck_assert_int_eq(vmem_write(f.vm, 146 * PAGE, "x", 1), 0);
	ck_assert_int_eq(view[146 * PAGE], 'x');
	ck_assert_int_eq(view[146 * PAGE + 1], 47);
	/* Fault-around fills nothing over a page the source holds. */
	ck_assert_int_eq(view[99 * PAGE], 0);
	ck_assert_int_eq(view[140 * PAGE + 5], 41);
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.cls[FAULT_SNAPLOAD].events, 41);
	ck_assert_uint_eq(s.source_pages, 50 - 41 - 1);
	ck_assert_str_eq(f.fatal, "");
	fixture_down(&f);
}
END_TEST

START_TEST(source_page_that_fails_its_check_stops_the_vm_naming_the_gpa)
{
	struct fixture f;
	volatile uint8_t *view;

	fixture_up(&f, 4 * MiB, 16, true);
	view = vmem_view(f.vm, 0);
	memset(f.source + 2 * PAGE, 0x5a, PAGE);
	ck_assert_int_eq(vmem_set_source_page(f.vm, 0x7000, 2), 0);
	__atomic_store_n(&f.bad_index, 2,
			 __ATOMIC_SEQ_CST); /* before the touch, which is no call */
	(void)view[0x7000];		    /* released by the stop: reads what the kernel gives */
	ck_assert_msg(strstr(f.fatal, "GPA 0x7000") && strstr(f.fatal, "hash mismatch"),
		      "fatal: %s", f.fatal);
	fixture_down(&f);
}
END_TEST

/* Streaming first touches read the pages that follow in the source ahead,
 * into the store; a page that fails its check ends the read-ahead and is
 * reported by its own touch. */
START_TEST(source_pages_stream_with_read_ahead)
{
	struct fixture f;
	struct vmem_stats s;
	volatile uint8_t *view;

	fixture_up_ra(&f, 4 * MiB, 16, true, 8);
	view = vmem_view(f.vm, 0);
	for (uint64_t i = 0; i < 200; i++) {
		memset(f.source + i * PAGE, (int)(i % 251) + 1, PAGE);
		ck_assert_int_eq(vmem_set_source_page(f.vm, i * PAGE, i), 0);
	}
	__atomic_store_n(&f.bad_index, 150, __ATOMIC_SEQ_CST);
	for (uint64_t i = 0; i < 150; i++)
		ck_assert_int_eq(view[i * PAGE + 9], (int)(i % 251) + 1);
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_lt(s.cls[FAULT_SNAPLOAD].events, 150 / 4);
	ck_assert_uint_eq(s.cls[FAULT_SNAPLOAD].pages, 150);
	ck_assert_uint_eq(s.source_ahead, 150 - s.cls[FAULT_SNAPLOAD].events);
	ck_assert_uint_eq(s.source_pages, 50);
	ck_assert_str_eq(f.fatal, "");
	(void)view[150 * PAGE];
	ck_assert_msg(strstr(f.fatal, "GPA 0x96000"), "fatal: %s", f.fatal);
	fixture_down(&f);
}
END_TEST

static Suite *vmem_snap_suite(bool wp)
{
	Suite *s = suite_create("vmem_snap");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	if (wp) {
		tcase_add_test(tc, snap_saves_each_page_as_of_the_freeze_before_it_changes);
		tcase_add_test(tc, snap_saves_a_page_the_view_never_mapped);
		tcase_add_test(tc, snap_of_a_guest_writing_throughout_equals_memory_at_the_freeze);
		tcase_add_test(tc, snap_rearmed_before_the_pause_equals_memory_at_the_freeze);
		tcase_add_test(tc, snap_failed_save_fails_the_snapshot_and_the_guest_runs_on);
	}
	tcase_add_test(tc, source_pages_load_on_first_touch);
	tcase_add_test(tc, source_pages_stream_with_read_ahead);
	suite_add_tcase(s, tc);
	tc = tcase_create("damage");
	tcase_add_test(tc, source_page_that_fails_its_check_stops_the_vm_naming_the_gpa);
	suite_add_tcase(s, tc);
	return s;
}

/* Snapshots need shmem write-protect (5.19+); lazy loading does not. In
 * the test VM (VMM_REQUIRE_KVM), whose 6.1 has it, its absence fails. */
int main(void)
{
	int64_t features;
	bool wp;

	if (!testlib_uffd_permitted())
		return TESTLIB_SKIP;
	features = uffd_probe_features();
	wp = features > 0 && (features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	if (!wp) {
		printf("SKIP: the snapshot tests: no userfaultfd write-protect for shmem here\n");
		if (getenv("VMM_REQUIRE_KVM"))
			return 1;
	}
	return testlib_run(vmem_snap_suite(wp));
}
