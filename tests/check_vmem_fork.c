/* tests/check_vmem_fork.c: fork images (ept/vmem_fork.c), without KVM:
 * the test thread reads and writes each VM's view as its guest would, and
 * the VMs' fault threads serve it. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "testlib.h"
#include "uffd.h"
#include "vmem.h"

#define PAGE	 4096ULL
#define MiB	 (1ULL << 20)
#define SIZE	 (4 * MiB)
#define PAGES	 (SIZE / PAGE)
#define CHILDREN 2

struct fixture {
	struct frame_db *db;
	struct vmem *parent, *child[CHILDREN];
	void *old_view; /* the parent's view before the fork */
	char fatal[256];
};

static void on_fatal(void *arg, const char *msg)
{
	struct fixture *f = arg;

	snprintf(f->fatal, sizeof(f->fatal), "%s", msg);
}

static struct vmem_config fork_config(struct fixture *f, struct vmem_image *img)
{
	static const struct vmem_range r = {0, SIZE};

	return (struct vmem_config){.db = f->db,
				    .vm_id = 0,
				    .ranges = &r,
				    .nr_ranges = 1,
				    .handler_cpu = -1,
				    .max_window = 1,
				    .on_fatal = on_fatal,
				    .arg = f,
				    .image = img};
}

static volatile uint8_t *view(struct vmem *v, uint64_t idx)
{
	return (volatile uint8_t *)vmem_view(v, 0) + idx * PAGE;
}

static void fill(struct vmem *v, uint64_t idx, uint8_t byte)
{
	memset((void *)view(v, idx), byte, PAGE);
}

/* Every byte of page idx as v's guest reads it. */
static void assert_page(struct vmem *v, uint64_t idx, uint8_t byte, const char *who)
{
	volatile uint8_t *p = view(v, idx);

	for (uint64_t i = 0; i < PAGE; i += 511)
		ck_assert_msg(p[i] == byte, "%s: page %llu byte %llu reads %#x, expected %#x", who,
			      (unsigned long long)idx, (unsigned long long)i, p[i], byte);
}

static uint64_t resident(struct fixture *f)
{
	struct frame_db_stats s;

	frame_db_stats(f->db, &s);
	return s.resident;
}

static uint64_t shared(struct fixture *f)
{
	struct frame_db_stats s;

	frame_db_stats(f->db, &s);
	return s.shared;
}

static void check_db(struct fixture *f)
{
	char why[256] = "";

	ck_assert_msg(frame_db_check(f->db, why, sizeof(why)) == 0, "frame db: %s", why);
}

/* A parent with pages [0, 64) written 0xa0, forked into CHILDREN. */
static void fixture_up(struct fixture *f)
{
	struct vmem_config cfg;
	struct vmem_image *img;

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(frame_db_create(&f->db, PAGES * (2 + CHILDREN), PAGES * (2 + CHILDREN)),
			 0);
	cfg = fork_config(f, NULL);
	cfg.vm_id = 1;
	ck_assert_int_eq(vmem_create(&f->parent, &cfg), 0);
	ck_assert_int_eq(vmem_start(f->parent), 0);
	for (uint64_t i = 0; i < 64; i++)
		fill(f->parent, i, 0xa0);
	ck_assert_int_eq(vmem_fork_check(f->parent), 0);
	fill(f->parent, 3, 0xa3); /* checked, not armed: nothing is protected yet */
	f->old_view = vmem_view(f->parent, 0);
	ck_assert_int_eq(vmem_fork_freeze(f->parent), 0);
	vmem_fork_retire(f->parent);
	img = vmem_fork_image(f->parent);
	ck_assert_ptr_nonnull(img);
	ck_assert_uint_eq(vmem_image_pages(img), 64);
	for (int c = 0; c < CHILDREN; c++) {
		cfg = fork_config(f, img);
		cfg.vm_id = 2 + c;
		ck_assert_int_eq(vmem_create(&f->child[c], &cfg), 0);
		ck_assert_int_eq(vmem_start(f->child[c]), 0);
	}
}

static void fixture_down(struct fixture *f)
{
	for (int c = 0; c < CHILDREN; c++)
		vmem_destroy(f->child[c]);
	vmem_destroy(f->parent);
	check_db(f);
	ck_assert_uint_eq(resident(f), 0);
	frame_db_destroy(f->db);
}

/* Reads share the image's frames; each write copies one page for the
 * writer alone, parent or child. */
START_TEST(fork_children_share_frames_until_they_write)
{
	struct fixture f;
	struct vmem_stats s;
	uint64_t before;

	fixture_up(&f);
	before = resident(&f);
	ck_assert_uint_eq(before, 64);
	/* The store's shared frames are the image's, and nothing else. */
	ck_assert_uint_eq(shared(&f), vmem_image_pages(vmem_fork_image(f.parent)));
	for (int c = 0; c < CHILDREN; c++)
		for (uint64_t i = 0; i < 64; i++)
			assert_page(f.child[c], i, i == 3 ? 0xa3 : 0xa0, "child, at the fork");
	ck_assert_uint_eq(resident(&f), before); /* reading copied nothing */
	fill(f.child[0], 5, 0xc5);
	fill(f.parent, 6, 0xb6);
	fill(f.child[1], 3, 0xd3);
	assert_page(f.child[0], 5, 0xc5, "child 0, its own write");
	assert_page(f.child[1], 5, 0xa0, "child 1, its sibling's write");
	assert_page(f.parent, 5, 0xa0, "parent, its child's write");
	assert_page(f.parent, 6, 0xb6, "parent, its own write");
	assert_page(f.child[0], 6, 0xa0, "child 0, its parent's write");
	assert_page(f.child[0], 3, 0xa3, "child 0, its sibling's write");
	assert_page(f.child[1], 3, 0xd3, "child 1, its own write");
	ck_assert_uint_eq(resident(&f), before + 3);
	ck_assert_uint_eq(shared(&f), 64); /* copies are their writers' own */
	vmem_get_stats(f.child[0], &s);
	ck_assert_uint_eq(s.resident_pages, 1);
	ck_assert_uint_eq(s.shared_pages, 63);
	ck_assert_uint_eq(s.cow_pages, 1);
	ck_assert_uint_eq(s.cls[FAULT_COW].events, 1);
	vmem_get_stats(f.parent, &s);
	ck_assert_uint_eq(s.resident_pages, 1);
	ck_assert_uint_eq(s.shared_pages, 63);
	/* A page written twice is copied once. */
	fill(f.child[0], 5, 0xe5);
	vmem_get_stats(f.child[0], &s);
	ck_assert_uint_eq(s.cow_pages, 1);
	ck_assert_str_eq(f.fatal, "");
	fixture_down(&f);
}
END_TEST

/* The VMM's own accesses to a child see its pages, and change only its. */
START_TEST(fork_vmm_writes_and_discards_change_one_vm)
{
	struct fixture f;
	uint8_t page[PAGE];

	fixture_up(&f);
	memset(page, 0x77, PAGE);
	ck_assert_int_eq(vmem_write(f.child[0], 7 * PAGE + 100, page, 200), 0);
	ck_assert_int_eq(vmem_discard(f.child[1], 8 * PAGE, PAGE), 0);
	ck_assert_int_eq(vmem_read(f.child[0], 7 * PAGE, page, PAGE), 0);
	ck_assert_int_eq(page[0], 0xa0);
	ck_assert_int_eq(page[100], 0x77);
	ck_assert_int_eq(view(f.child[0], 7)[299], 0x77);
	ck_assert_int_eq(view(f.child[0], 7)[300], 0xa0);
	assert_page(f.child[1], 7, 0xa0, "child 1, its sibling's VMM write");
	assert_page(f.child[1], 8, 0x00, "child 1, a page discarded");
	assert_page(f.child[0], 8, 0xa0, "child 0, its sibling's discard");
	assert_page(f.parent, 8, 0xa0, "parent, its child's discard");
	/* A page no VM had is each VM's own. */
	fill(f.child[0], 300, 0x30);
	assert_page(f.child[1], 300, 0x00, "child 1, its sibling's new page");
	assert_page(f.parent, 300, 0x00, "parent, its child's new page");
	ck_assert_str_eq(f.fatal, "");
	fixture_down(&f);
}
END_TEST

/* The children keep the image when the parent goes first; it goes with
 * the last of them. */
START_TEST(fork_image_lives_until_its_last_vm)
{
	struct fixture f;

	fixture_up(&f);
	fill(f.parent, 9, 0xb9);
	vmem_destroy(f.parent);
	f.parent = NULL;
	assert_page(f.child[0], 9, 0xa0, "child 0, after its parent went");
	fill(f.child[1], 9, 0xc9);
	assert_page(f.child[0], 9, 0xa0, "child 0, its sibling's write");
	vmem_destroy(f.child[0]);
	f.child[0] = NULL;
	ck_assert_uint_ge(resident(&f), 64); /* child 1 still maps the image */
	ck_assert_uint_eq(shared(&f), 64);
	assert_page(f.child[1], 10, 0xa0, "child 1, the last of them");
	fixture_down(&f);
}
END_TEST

START_TEST(fork_of_a_forked_vm_or_a_child_is_refused)
{
	struct fixture f;

	fixture_up(&f);
	ck_assert_int_eq(vmem_fork_check(f.parent), -EALREADY);
	ck_assert_int_eq(vmem_fork_freeze(f.parent), -EALREADY);
	ck_assert_int_eq(vmem_fork_check(f.child[0]), -EALREADY);
	fixture_down(&f);
}
END_TEST

/* The forked VM goes on over a fresh view of the image, as its children
 * do: nothing was write-protected, and its first touch of each page is
 * a fault that maps the image's page read-only (one CONTINUE with
 * write-protect where the kernel has it, three ioctls on 6.1). */
START_TEST(fork_parent_goes_on_over_a_fresh_view)
{
	struct fixture f;
	struct vmem_stats s;

	fixture_up(&f);
	ck_assert_ptr_ne(vmem_view(f.parent, 0), f.old_view);
	assert_page(f.parent, 20, 0xa0, "parent, over its fresh view");
	vmem_get_stats(f.parent, &s);
	ck_assert_uint_ge(s.minor, 1);
	ck_assert_uint_eq(s.resident_pages, 0); /* read: shared, not copied */
	ck_assert_msg(!strcmp(s.share_via, "continue-wp") ||
			  !strcmp(s.share_via, "continue+writeprotect"),
		      "share_via: %s", s.share_via);
	fill(f.parent, 20, 0xb0);
	assert_page(f.child[0], 20, 0xa0, "child 0, its parent's write over the fresh view");
	vmem_get_stats(f.parent, &s);
	ck_assert_uint_eq(s.cow_pages, 1);
	ck_assert_str_eq(f.fatal, "");
	fixture_down(&f);
}
END_TEST

/* A fork while a snapshot is armed is refused, and changes nothing. */
START_TEST(fork_during_a_snapshot_is_refused)
{
	static const struct vmem_snap_sink sink = {.save = NULL};
	struct fixture f = {0};
	struct vmem_config cfg;
	void *view;

	ck_assert_int_eq(frame_db_create(&f.db, PAGES * 2, PAGES * 2), 0);
	cfg = fork_config(&f, NULL);
	ck_assert_int_eq(vmem_create(&f.parent, &cfg), 0);
	ck_assert_int_eq(vmem_start(f.parent), 0);
	fill(f.parent, 0, 0x11);
	ck_assert_int_eq(vmem_snap_arm(f.parent, &sink), 0);
	view = vmem_view(f.parent, 0);
	ck_assert_int_eq(vmem_fork_check(f.parent), -EBUSY);
	ck_assert_int_eq(vmem_fork_freeze(f.parent), -EBUSY);
	ck_assert_ptr_eq(vmem_view(f.parent, 0), view);
	ck_assert_ptr_null(vmem_fork_image(f.parent));
	vmem_snap_end(f.parent);
	assert_page(f.parent, 0, 0x11, "the VM, after the refused fork");
	vmem_destroy(f.parent);
	frame_db_destroy(f.db);
}
END_TEST

static int count_save(void *arg, uint64_t gpa, const void *page, char *msg, size_t len)
{
	uint8_t *saved = arg;

	(void)msg;
	(void)len;
	memcpy(saved + gpa, page, PAGE);
	return 0;
}

/* A snapshot of a forked VM holds its pages at the snapshot, and ending
 * it leaves the image's pages protected: writes still copy. */
START_TEST(fork_snapshot_of_a_forked_vm_keeps_the_image_protected)
{
	struct fixture f;
	uint8_t *saved = calloc(PAGES, PAGE);
	struct vmem_snap_sink sink = {.save = count_save, .arg = saved};
	char msg[256] = "";
	int ret;

	ck_assert_ptr_nonnull(saved);
	fixture_up(&f);
	fill(f.child[0], 11, 0xcb);
	ck_assert_int_eq(vmem_snap_arm(f.child[0], &sink), 0);
	ck_assert_int_eq(vmem_snap_freeze(f.child[0]), 0);
	fill(f.child[0], 12, 0xcc); /* an image page, written during the save */
	while ((ret = vmem_snap_save(f.child[0], 16, msg, sizeof(msg))) == 1)
		;
	ck_assert_msg(ret == 0, "vmem_snap_save: %d (%s)", ret, msg);
	vmem_snap_end(f.child[0]);
	ck_assert_int_eq(saved[11 * PAGE], 0xcb);
	ck_assert_int_eq(saved[12 * PAGE], 0xa0);
	ck_assert_int_eq(saved[13 * PAGE], 0xa0);
	fill(f.child[0], 13, 0xcd);
	assert_page(f.child[1], 13, 0xa0, "child 1, after its sibling's snapshot");
	assert_page(f.parent, 12, 0xa0, "parent, after its child's snapshot");
	fill(f.parent, 14, 0xbe);
	assert_page(f.child[0], 14, 0xa0, "child 0, after its snapshot");
	ck_assert_str_eq(f.fatal, "");
	fixture_down(&f);
	free(saved);
}
END_TEST

static Suite *vmem_fork_suite(void)
{
	Suite *s = suite_create("vmem_fork");
	TCase *tc = tcase_create("share");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fork_children_share_frames_until_they_write);
	tcase_add_test(tc, fork_vmm_writes_and_discards_change_one_vm);
	tcase_add_test(tc, fork_image_lives_until_its_last_vm);
	tcase_add_test(tc, fork_of_a_forked_vm_or_a_child_is_refused);
	tcase_add_test(tc, fork_parent_goes_on_over_a_fresh_view);
	tcase_add_test(tc, fork_during_a_snapshot_is_refused);
	tcase_add_test(tc, fork_snapshot_of_a_forked_vm_keeps_the_image_protected);
	suite_add_tcase(s, tc);
	return s;
}

/* Fork needs shmem write-protect and MINOR faults; the test VM's 6.1 has
 * both, so there their absence fails. */
int main(void)
{
	int64_t features;
	uint64_t need = UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_MINOR_SHMEM;

	if (!testlib_uffd_permitted())
		return TESTLIB_SKIP;
	features = uffd_probe_features();
	if (features < 0 || (features & need) != need) {
		printf("SKIP: no userfaultfd write-protect and MINOR faults for shmem here\n");
		return getenv("VMM_REQUIRE_KVM") ? 1 : TESTLIB_SKIP;
	}
	return testlib_run(vmem_fork_suite());
}
