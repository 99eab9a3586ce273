/* tests/check_host.c: several VMs on one frame store, without KVM: threads
 * touching each VM's view stand in for the guests. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "host.h"
#include "testlib.h"

#define MiB (1ULL << 20)

static void on_fatal(void *arg, const char *msg)
{
	ck_abort_msg("VM %p stopped: %s", arg, msg);
}

static struct vmem *vm_on(struct host *h, uint64_t size)
{
	struct vmem_range r = {0, size};
	struct vmem_config cfg = {.ranges = &r,
				  .nr_ranges = 1,
				  .handler_cpu = -1,
				  .max_window = 16,
				  .on_fatal = on_fatal};
	struct vmem *v;

	ck_assert_int_eq(host_vm_create(h, &cfg, &v), 0);
	ck_assert_int_eq(vmem_start(v), 0);
	return v;
}

static void check_frames(struct host *h)
{
	char why[256] = "";

	ck_assert_msg(frame_db_check(host_frames(h), why, sizeof(why)) == 0, "frame database: %s",
		      why);
}

struct toucher {
	struct vmem *vm;
	uint64_t pages;
	uint8_t tag;
};

/* Write a tag into every other page, then read every page back. */
static void *touch(void *arg)
{
	struct toucher *t = arg;
	volatile uint8_t *view = vmem_view(t->vm, 0);

	for (uint64_t i = 0; i < t->pages; i += 2)
		view[i * 4096 + 9] = t->tag;
	for (uint64_t i = 0; i < t->pages; i++)
		if (view[i * 4096 + 9] != (i % 2 ? 0 : t->tag))
			return (void *)1;
	return NULL;
}

START_TEST(host_two_vms_fault_concurrently_on_one_store)
{
	struct host *h;
	struct toucher t[2];
	pthread_t th[2];
	struct frame_db_stats st;
	void *bad[2];

	ck_assert_int_eq(host_create(&h, 64 * MiB / 4096, 64 * MiB / 4096), 0);
	for (int i = 0; i < 2; i++) {
		t[i] = (struct toucher){
		    .vm = vm_on(h, 16 * MiB), .pages = 16 * MiB / 4096, .tag = i + 1};
		ck_assert_int_eq(pthread_create(&th[i], NULL, touch, &t[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], &bad[i]);
	ck_assert_ptr_null(bad[0]);
	ck_assert_ptr_null(bad[1]);
	ck_assert_uint_ne(vmem_id(t[0].vm), vmem_id(t[1].vm));
	check_frames(h);
	frame_db_stats(host_frames(h), &st);
	ck_assert_uint_ge(st.resident, 16 * MiB / 4096); /* half of each touched, at least */
	for (int i = 0; i < 2; i++)
		host_vm_destroy(h, t[i].vm);
	check_frames(h);
	frame_db_stats(host_frames(h), &st);
	ck_assert_uint_eq(st.resident, 0);
	ck_assert_int_eq(host_destroy(h), 0);
}
END_TEST

/* Destroying A drops A's frames only: B's pages are intact, and every
 * frame is free again once B goes, for anyone. */
START_TEST(host_destroying_a_vm_leaves_the_other_intact)
{
	struct host *h;
	struct vmem *a, *b, *c;
	struct frame_db_stats st;
	char buf[8];

	ck_assert_int_eq(host_create(&h, 16 * MiB / 4096, 16 * MiB / 4096), 0);
	a = vm_on(h, 8 * MiB);
	b = vm_on(h, 8 * MiB);
	ck_assert_int_eq(vmem_write(a, 0x6000, "gone", 5), 0);
	ck_assert_int_eq(vmem_write(b, 0x9000, "kept", 5), 0);
	ck_assert_int_eq(host_destroy(h), -EBUSY); /* VMs live on it */
	host_vm_destroy(h, a);
	check_frames(h);
	ck_assert_int_eq(vmem_read(b, 0x9000, buf, 5), 0);
	ck_assert_str_eq(buf, "kept");
	frame_db_stats(host_frames(h), &st);
	ck_assert_uint_eq(st.resident, 1);
	host_vm_destroy(h, b);
	check_frames(h);
	frame_db_stats(host_frames(h), &st);
	ck_assert_uint_eq(st.resident, 0);
	/* Every frame is free again: one VM can take the whole store. */
	c = vm_on(h, 16 * MiB);
	host_vm_destroy(h, c);
	ck_assert_int_eq(host_destroy(h), 0);
}
END_TEST

static Suite *host_suite(void)
{
	Suite *s = suite_create("host");
	TCase *tc = tcase_create("many VMs");

	tcase_add_test(tc, host_two_vms_fault_concurrently_on_one_store);
	tcase_add_test(tc, host_destroying_a_vm_leaves_the_other_intact);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!testlib_uffd_permitted())
		return TESTLIB_SKIP;
	return testlib_run(host_suite());
}
