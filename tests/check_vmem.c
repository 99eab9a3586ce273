/* tests/check_vmem.c: the VMM's second level end to end, without KVM: a
 * thread touching the view stands in for the guest, and its faults reach
 * the fault thread through userfaultfd. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "testlib.h"
#include "vmem.h"
#include "vmem_priv.h" /* to break the fault thread's descriptor */

#define MiB (1ULL << 20)

struct fixture {
	struct frame_db *db;
	struct vmem *vm;
	char fatal[256];
};

static void on_fatal(void *arg, const char *msg)
{
	struct fixture *f = arg;

	snprintf(f->fatal, sizeof(f->fatal), "%s", msg);
}

static void vm_up(struct fixture *f, uint64_t size, unsigned window)
{
	struct vmem_range r = {0, size};
	struct vmem_config cfg = {.db = f->db,
				  .ranges = &r,
				  .nr_ranges = 1,
				  .handler_cpu = -1,
				  .max_window = window,
				  .on_fatal = on_fatal,
				  .arg = f};

	ck_assert_int_eq(vmem_create(&f->vm, &cfg), 0);
	ck_assert_int_eq(vmem_start(f->vm), 0);
}

static void fixture_up(struct fixture *f, uint64_t size, uint64_t budget, unsigned window)
{
	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(frame_db_create(&f->db, size / 4096, budget / 4096), 0);
	vm_up(f, size, window);
}

static void fixture_down(struct fixture *f)
{
	vmem_destroy(f->vm);
	frame_db_destroy(f->db);
}

START_TEST(vmem_touching_n_pages_zero_fills_n_pages)
{
	struct fixture f;
	struct vmem_stats s;
	volatile uint8_t *view;

	fixture_up(&f, 16 * MiB, 16 * MiB, 1);
	view = vmem_view(f.vm, 0);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(view[i * 4096 + 7], 0);
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.cls[FAULT_ZERO].pages, 1000);
	ck_assert_uint_eq(s.cls[FAULT_ZERO].events, 1000);
	ck_assert_uint_eq(s.resident_pages, 1000);
	fixture_down(&f);
}
END_TEST

START_TEST(vmem_fault_around_streams_sequential_touches)
{
	struct fixture f;
	struct vmem_stats s;
	volatile uint8_t *view;

	fixture_up(&f, 16 * MiB, 16 * MiB, 512);
	view = vmem_view(f.vm, 0);
	for (int i = 0; i < 2048; i++)
		view[i * 4096] = 1;
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_lt(s.cls[FAULT_ZERO].events, 2048 / 32);
	ck_assert_uint_ge(s.cls[FAULT_ZERO].pages, 2048);
	ck_assert_uint_le(s.cls[FAULT_ZERO].pages, 2048 + 512);
	fixture_down(&f);
}
END_TEST

START_TEST(vmem_sparse_touches_waste_no_frames)
{
	struct fixture f;
	struct vmem_stats s;
	volatile uint8_t *view;

	fixture_up(&f, 64 * MiB, 64 * MiB, 512);
	view = vmem_view(f.vm, 0);
	for (int i = 0; i < 256; i++)
		view[i * 64 * 4096] = 1; /* one page in 64 */
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_le(s.cls[FAULT_ZERO].pages, 2 * 256);
	fixture_down(&f);
}
END_TEST

/* A uniform pattern the density heuristic would read as dense: fault-around
 * must still keep frames within twice the pages touched. */
START_TEST(vmem_fault_around_holds_at_most_twice_the_pages_touched)
{
	struct fixture f;
	struct vmem_stats s;
	volatile uint8_t *view;
	const uint64_t pages = 64 * MiB / 4096, touched = pages / 16;

	fixture_up(&f, 64 * MiB, 64 * MiB, 512);
	view = vmem_view(f.vm, 0);
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < touched; i++)
			view[i * 16 * 4096 + pass] = 1;
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_le(s.resident_pages, 2 * touched + pages / 512);
	fixture_down(&f);
}
END_TEST

/* Touched in random order, every page ends up resident, in fewer faults. */
START_TEST(vmem_random_fill_needs_fewer_faults_than_pages)
{
	struct fixture f;
	struct vmem_stats s;
	volatile uint8_t *view;
	const uint64_t pages = 16 * MiB / 4096;
	uint64_t x = 88172645463325252ULL;

	fixture_up(&f, 16 * MiB, 16 * MiB, 512);
	view = vmem_view(f.vm, 0);
	for (uint64_t i = 0; i < 8 * pages; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		view[(x % pages) * 4096] = 1;
	}
	for (uint64_t i = 0; i < pages; i++)
		view[i * 4096] = 1;
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.resident_pages, pages);
	ck_assert_uint_lt(s.cls[FAULT_ZERO].events, pages / 2);
	fixture_down(&f);
}
END_TEST

/* A second VM on the same store, given the same frames, reads zeros. */
START_TEST(vmem_next_vm_never_sees_the_last_ones_data)
{
	static const char secret[] = "the previous guest's secret";
	struct fixture f;
	uint8_t *view;
	uint64_t found = 0;

	fixture_up(&f, 8 * MiB, 8 * MiB, 16);
	view = vmem_view(f.vm, 0);
	for (uint64_t off = 0; off < 8 * MiB; off += 4096)
		memcpy(view + off, secret, sizeof(secret));
	vmem_destroy(f.vm);
	vm_up(&f, 8 * MiB, 16);
	view = vmem_view(f.vm, 0);
	for (uint64_t off = 0; off < 8 * MiB; off += 8)
		found |= *(uint64_t *)(view + off);
	ck_assert_uint_eq(found, 0);
	fixture_down(&f);
}
END_TEST

START_TEST(vmem_discard_reads_back_zeros_and_frees_frames)
{
	static const char secret[] = "discarded secret";
	struct fixture f;
	struct vmem_stats s;
	char buf[sizeof(secret)];
	uint8_t *view;

	fixture_up(&f, 8 * MiB, 8 * MiB, 1);
	view = vmem_view(f.vm, 0);
	memcpy(view + 0x10000, secret, sizeof(secret));
	ck_assert_int_eq(vmem_discard(f.vm, 0x10000, 4096), 0);
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.resident_pages, 0);
	ck_assert_int_eq(vmem_read(f.vm, 0x10000, buf, sizeof(buf)), 0);
	ck_assert_int_eq(buf[0] | buf[5], 0);
	ck_assert_int_eq(view[0x10000], 0);
	fixture_down(&f);
}
END_TEST

START_TEST(vmem_vmm_writes_are_counted_and_read_back)
{
	struct fixture f;
	struct vmem_stats s;
	char buf[6];

	fixture_up(&f, 8 * MiB, 8 * MiB, 16);
	ck_assert_int_eq(vmem_write(f.vm, 0x1ffe, "hello", 6), 0); /* spans 2 pages */
	ck_assert_int_eq(vmem_read(f.vm, 0x1ffe, buf, 6), 0);
	ck_assert_str_eq(buf, "hello");
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.vmm_filled_pages, 2);
	ck_assert_int_eq(vmem_read(f.vm, 8 * MiB - 2, buf, 6), -EFAULT);
	ck_assert_int_eq(vmem_write(f.vm, UINT64_MAX - 2, buf, 6), -EFAULT);
	fixture_down(&f);
}
END_TEST

START_TEST(vmem_copy_page_copies_and_counts)
{
	struct fixture f;
	char buf[8];

	fixture_up(&f, 8 * MiB, 8 * MiB, 16);
	ck_assert_int_eq(vmem_write(f.vm, 0x3000, "copyme", 7), 0);
	ck_assert_int_eq(vmem_copy_page(f.vm, 0x5000, 0x3000), 0);
	ck_assert_int_eq(vmem_read(f.vm, 0x5000, buf, 7), 0);
	ck_assert_str_eq(buf, "copyme");
	/* A page never written copies as zeros. */
	ck_assert_int_eq(vmem_copy_page(f.vm, 0x5000, 0x7000), 0);
	ck_assert_int_eq(vmem_read(f.vm, 0x5000, buf, 7), 0);
	ck_assert_int_eq(buf[0], 0);
	fixture_down(&f);
}
END_TEST

START_TEST(vmem_budget_refuses_writes_past_it)
{
	static uint8_t page[4096];
	struct fixture f;

	fixture_up(&f, 8 * MiB, 4 * 4096, 1);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(vmem_write(f.vm, i * 4096, page, sizeof(page)), 0);
	ck_assert_int_eq(vmem_write(f.vm, 4 * 4096, page, sizeof(page)), -ENOMEM);
	ck_assert_int_eq(vmem_discard(f.vm, 0, 4096), 0);
	ck_assert_int_eq(vmem_write(f.vm, 4 * 4096, page, sizeof(page)), 0);
	fixture_down(&f);
}
END_TEST

/* A write that runs out of budget part-way keeps what it wrote and records
 * nothing it did not: the guest's touch of a written page then finds its
 * data instead of a frame with nothing behind it. */
START_TEST(vmem_failed_write_records_no_page_without_data)
{
	static uint8_t pages[4 * 4096];
	struct fixture f;
	struct vmem_stats s;
	volatile uint8_t *view;

	memset(pages, 0x5a, sizeof(pages));
	fixture_up(&f, 8 * MiB, 2 * 4096, 1);
	ck_assert_int_eq(vmem_write(f.vm, 0, pages, sizeof(pages)), -ENOMEM);
	vmem_get_stats(f.vm, &s);
	ck_assert_uint_eq(s.resident_pages, 2);
	ck_assert_uint_eq(s.vmm_filled_pages, 2);
	view = vmem_view(f.vm, 0);
	ck_assert_int_eq(view[0], 0x5a);
	ck_assert_int_eq(view[4096 + 17], 0x5a);
	ck_assert_str_eq(f.fatal, "");
	fixture_down(&f);
}
END_TEST

/* Past the budget the VM is stopped, and the thread waiting on the fault is
 * released rather than left asleep: on 6.1 a vCPU in that wait cannot be
 * interrupted by a signal, so a VM that left it there never exits. */
START_TEST(vmem_budget_exhaustion_releases_the_faulting_thread)
{
	struct fixture f;
	volatile uint8_t *view;

	fixture_up(&f, 16 * MiB, 64 * 4096, 1);
	view = vmem_view(f.vm, 0);
	for (int i = 0; i < 100; i++)
		view[i * 4096] = 1;
	ck_assert_ptr_nonnull(strstr(f.fatal, "host memory budget exhausted"));
	fixture_down(&f);
}
END_TEST

/* The table says a page is there, the store has lost it: a MISSING fault
 * on it stops the VM naming the GPA, never a wake-up into the same fault. */
START_TEST(vmem_table_and_store_disagreeing_stops_the_vm)
{
	static uint8_t page[4096];
	struct fixture f;
	volatile uint8_t *view;

	fixture_up(&f, 8 * MiB, 8 * MiB, 1);
	ck_assert_int_eq(vmem_write(f.vm, 0x3000, page, sizeof(page)), 0);
	/* The first VM of a fresh store owns frames from 0: frame 3 is GPA 0x3000. */
	ck_assert_int_eq(
	    fallocate(frame_db_fd(f.db), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0x3000, 4096),
	    0);
	view = vmem_view(f.vm, 0);
	(void)view[0x3000];
	ck_assert_ptr_nonnull(strstr(f.fatal, "GPA 0x3000"));
	ck_assert_ptr_nonnull(strstr(f.fatal, "table and store disagree"));
	fixture_down(&f);
}
END_TEST

/* The fault thread's descriptor stops working (here: replaced by one that
 * reads end-of-file): the thread says so and stops the VM instead of
 * leaving every later fault to wait forever. */
START_TEST(vmem_fault_thread_failure_stops_the_vm)
{
	struct vmem_range r = {0, 8 * MiB};
	struct fixture f = {0};
	struct vmem_config cfg = {
	    .ranges = &r, .nr_ranges = 1, .handler_cpu = -1, .max_window = 1, .on_fatal = on_fatal};
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	cfg.arg = &f;
	ck_assert_int_eq(frame_db_create(&f.db, 8 * MiB / 4096, 8 * MiB / 4096), 0);
	cfg.db = f.db;
	ck_assert_int_eq(vmem_create(&f.vm, &cfg), 0);
	ck_assert_int_ge(null, 0);
	/* Before the thread starts, so that its first poll sees the broken one. */
	ck_assert_int_ge(dup2(null, f.vm->view.uffd.fd), 0);
	ck_assert_int_eq(vmem_start(f.vm), 0);
	for (int i = 0; i < 500 && !f.fatal[0]; i++)
		usleep(10000);
	ck_assert_ptr_nonnull(strstr(f.fatal, "fault thread"));
	close(null);
	fixture_down(&f);
}
END_TEST

static Suite *vmem_suite(void)
{
	Suite *s = suite_create("vmem");
	TCase *tc = tcase_create("second-level");

	tcase_add_test(tc, vmem_touching_n_pages_zero_fills_n_pages);
	tcase_add_test(tc, vmem_fault_around_streams_sequential_touches);
	tcase_add_test(tc, vmem_sparse_touches_waste_no_frames);
	tcase_add_test(tc, vmem_fault_around_holds_at_most_twice_the_pages_touched);
	tcase_add_test(tc, vmem_random_fill_needs_fewer_faults_than_pages);
	tcase_add_test(tc, vmem_next_vm_never_sees_the_last_ones_data);
	tcase_add_test(tc, vmem_discard_reads_back_zeros_and_frees_frames);
	tcase_add_test(tc, vmem_vmm_writes_are_counted_and_read_back);
	tcase_add_test(tc, vmem_copy_page_copies_and_counts);
	tcase_add_test(tc, vmem_budget_refuses_writes_past_it);
	tcase_add_test(tc, vmem_failed_write_records_no_page_without_data);
	tcase_add_test(tc, vmem_budget_exhaustion_releases_the_faulting_thread);
	tcase_add_test(tc, vmem_table_and_store_disagreeing_stops_the_vm);
	tcase_add_test(tc, vmem_fault_thread_failure_stops_the_vm);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!testlib_uffd_permitted())
		return TESTLIB_SKIP;
	return testlib_run(vmem_suite());
}
