/* tests/check_reclaim.c: overcommit end to end, without KVM: threads
 * touching the views stand in for guests, the reclaimer swaps to a real
 * file, and every page's content is checked after it came back. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "host.h"
#include "reclaim.h"
#include "swapfile.h"
#include "testlib.h"
#include "vmem.h"

#define MiB  (1ULL << 20)
#define PAGE 4096ULL

struct guest {
	struct vmem *vm;
	char fatal[256];
	volatile int stopped;
};

struct fixture {
	char dir[200], path[220];
	struct host *host;
	struct reclaimer *r;
	struct guest g[2];
	int nr;
};

static void on_fatal(void *arg, const char *msg)
{
	struct guest *g = arg;

	snprintf(g->fatal, sizeof(g->fatal), "%s", msg);
	g->stopped = 1;
}

/* A store of guest_bytes per VM under budget, swap of swap_bytes (0: no
 * swap) and sampling every wss_ms (0: none). */
static void fixture_up(struct fixture *f, uint64_t guest_bytes, int nr, uint64_t budget,
		       uint64_t swap_bytes, unsigned wss_ms)
{
	struct swapfile_opts so = {.size = swap_bytes};
	struct reclaim_config rc = {.wss_period_ms = wss_ms, .wss_samples = 1000, .seed = 7};
	char err[300] = "";

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/check_reclaim.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/swap", f->dir);
	ck_assert_int_eq(host_create(&f->host, nr * guest_bytes / PAGE, budget / PAGE), 0);
	rc.db = host_frames(f->host);
	so.path = f->path;
	if (swap_bytes)
		ck_assert_msg(!swapfile_open(&rc.swap, &so, err, sizeof(err)), "%s", err);
	ck_assert_msg(!reclaim_create(&f->r, &rc, err, sizeof(err)), "%s", err);
	for (int i = 0; i < nr; i++) {
		struct vmem_range range = {0, guest_bytes};
		struct vmem_config cfg = {.ranges = &range,
					  .nr_ranges = 1,
					  .handler_cpu = -1,
					  .max_window = 16,
					  .on_fatal = on_fatal,
					  .arg = &f->g[i],
					  .pager = reclaim_pager(f->r),
					  .pager_arg = f->r};

		ck_assert_int_eq(host_vm_create(f->host, &cfg, &f->g[i].vm), 0);
		ck_assert_int_eq(reclaim_add_vm(f->r, f->g[i].vm, i == 1), 0);
		ck_assert_int_eq(vmem_start(f->g[i].vm), 0);
	}
	f->nr = nr;
	ck_assert_int_eq(reclaim_start(f->r), 0);
}

static void fixture_down(struct fixture *f)
{
	for (int i = 0; i < f->nr; i++) {
		reclaim_remove_vm(f->r, f->g[i].vm);
		host_vm_destroy(f->host, f->g[i].vm);
	}
	reclaim_destroy(f->r);
	ck_assert_int_eq(host_destroy(f->host), 0);
	unlink(f->path);
	rmdir(f->dir);
}

static uint64_t pattern(uint64_t page, uint64_t pass)
{
	return (page + 1) * 0x9e3779b97f4a7c15ULL ^ (pass << 56) ^ 0x5a5a;
}

static void fill(volatile uint64_t *view, uint64_t pages, uint64_t pass)
{
	for (uint64_t p = 0; p < pages; p++) {
		view[p * PAGE / 8] = pattern(p, pass);
		view[p * PAGE / 8 + 511] = ~pattern(p, pass);
	}
}

/* The first page whose content is wrong, or pages. */
static uint64_t check(volatile uint64_t *view, uint64_t pages, uint64_t pass)
{
	for (uint64_t p = 0; p < pages; p++)
		if (view[p * PAGE / 8] != pattern(p, pass) ||
		    view[p * PAGE / 8 + 511] != ~pattern(p, pass))
			return p;
	return pages;
}

static uint64_t resident(struct fixture *f)
{
	struct frame_db_stats s;

	frame_db_stats(host_frames(f->host), &s);
	return s.resident;
}

/* 4:1 overcommit: every page written, then read back twice; the second
 * read finds pages whose swap copy is still valid and drops them clean. */
START_TEST(reclaim_overcommit_keeps_every_page)
{
	const uint64_t pages = 32 * MiB / PAGE;
	struct fixture f;
	struct vmem_stats s;
	struct reclaim_stats rs;
	volatile uint64_t *view;

	fixture_up(&f, 32 * MiB, 1, 8 * MiB, 64 * MiB, 0);
	view = vmem_view(f.g[0].vm, 0);
	fill(view, pages, 1);
	ck_assert_uint_eq(check(view, pages, 1), pages);
	ck_assert_uint_eq(check(view, pages, 1), pages);
	ck_assert_str_eq(f.g[0].fatal, "");
	ck_assert_uint_le(resident(&f), 8 * MiB / PAGE);
	vmem_get_stats(f.g[0].vm, &s);
	reclaim_get_stats(f.r, &rs);
	ck_assert_uint_ge(s.swap_outs, pages - 8 * MiB / PAGE);
	ck_assert_uint_ge(s.cls[FAULT_SWAPIN].events, pages - 8 * MiB / PAGE);
	ck_assert_uint_gt(s.clean_drops, 0);
	ck_assert_uint_eq(rs.checksum_failures, 0);
	ck_assert_uint_gt(rs.scanned, 0);
	fixture_down(&f);
}
END_TEST

/* Fault-around next to swapped pages fills only pages never touched:
 * every fourth page goes to swap (both its first and last word written),
 * then a sequential pass writes the first word of every page, so its
 * streaming windows span the swapped ones; their last words must survive. */
START_TEST(reclaim_fault_around_never_overwrites_swapped_pages)
{
	const uint64_t pages = 16 * MiB / PAGE;
	struct fixture f;
	struct vmem_stats s;
	volatile uint64_t *view;

	fixture_up(&f, 16 * MiB, 1, 4 * MiB, 32 * MiB, 0);
	view = vmem_view(f.g[0].vm, 0);
	for (uint64_t p = 0; p < pages; p += 4) {
		view[p * PAGE / 8] = pattern(p, 6);
		view[p * PAGE / 8 + 511] = ~pattern(p, 6);
	}
	for (uint64_t p = 0; p < pages; p++)
		view[p * PAGE / 8] = pattern(p, 6);
	for (uint64_t p = 0; p < pages; p += 4)
		ck_assert_msg(view[p * PAGE / 8 + 511] == ~pattern(p, 6), "page %lu lost its data",
			      (unsigned long)p);
	vmem_get_stats(f.g[0].vm, &s);
	ck_assert_uint_gt(s.swap_outs, pages / 8);
	ck_assert_uint_gt(s.ahead_filled, 0);
	ck_assert_str_eq(f.g[0].fatal, "");
	fixture_down(&f);
}
END_TEST

/* The VMM's own accesses see swapped pages as they were. */
START_TEST(reclaim_vmm_reads_and_writes_swapped_pages)
{
	const uint64_t pages = 16 * MiB / PAGE;
	uint64_t word = 0, mine = 0x1234567890abcdefULL;
	struct fixture f;
	volatile uint64_t *view;

	fixture_up(&f, 16 * MiB, 1, 4 * MiB, 32 * MiB, 0);
	view = vmem_view(f.g[0].vm, 0);
	fill(view, pages, 2);
	/* Page 0 went to swap long ago: the VMM reads it through the pager. */
	ck_assert_int_eq(vmem_read(f.g[0].vm, 0, &word, sizeof(word)), 0);
	ck_assert_uint_eq(word, pattern(0, 2));
	ck_assert_int_eq(vmem_write(f.g[0].vm, 8, &mine, sizeof(mine)), 0);
	ck_assert_uint_eq(view[1], mine);
	ck_assert_uint_eq(view[0], pattern(0, 2));
	ck_assert_str_eq(f.g[0].fatal, "");
	fixture_down(&f);
}
END_TEST

/* Damage in the swap file stops the VM naming the GPA and the slot; the
 * damaged data is never mapped. */
START_TEST(reclaim_corrupt_swap_stops_the_vm)
{
	const uint64_t pages = 16 * MiB / PAGE;
	struct fixture f;
	volatile uint64_t *view;
	uint64_t junk[512];
	int fd;

	fixture_up(&f, 16 * MiB, 1, 4 * MiB, 32 * MiB, 0);
	view = vmem_view(f.g[0].vm, 0);
	fill(view, pages, 3);
	memset(junk, 0xab, sizeof(junk));
	fd = open(f.path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	/* Every slot that can hold page 0's copy: the whole file. */
	for (off_t off = 0; off < (off_t)(32 * MiB); off += PAGE)
		ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), off), sizeof(junk));
	close(fd);
	ck_assert_uint_ne(view[0], junk[0]);
	ck_assert_int_eq(f.g[0].stopped, 1);
	ck_assert_ptr_nonnull(strstr(f.g[0].fatal, "GPA 0"));
	ck_assert_ptr_nonnull(strstr(f.g[0].fatal, "slot"));
	ck_assert_ptr_nonnull(strstr(f.g[0].fatal, f.path));
	fixture_down(&f);
}
END_TEST

/* Budget and swap both full: the one VM stops with the exhaustion message. */
START_TEST(reclaim_swap_full_is_out_of_memory)
{
	struct fixture f;
	volatile uint64_t *view;

	fixture_up(&f, 32 * MiB, 1, 4 * MiB, 1 * MiB, 0);
	view = vmem_view(f.g[0].vm, 0);
	for (uint64_t p = 0; p < 32 * MiB / PAGE && !f.g[0].stopped; p++)
		view[p * PAGE / 8] = p + 1;
	ck_assert_int_eq(f.g[0].stopped, 1);
	ck_assert_ptr_nonnull(strstr(f.g[0].fatal, "swap exhausted"));
	ck_assert_uint_le(resident(&f), 4 * MiB / PAGE);
	fixture_down(&f);
}
END_TEST

struct toucher {
	volatile uint64_t *view;
	uint64_t pages;
	struct guest *g;
	uint64_t bad; /* first bad page, or pages */
};

static void *toucher_run(void *arg)
{
	struct toucher *t = arg;

	for (uint64_t p = 0; p < t->pages && !t->g->stopped; p++)
		t->view[p * PAGE / 8] = pattern(p, 4);
	t->bad = 0;
	for (uint64_t p = 0; p < t->pages && !t->g->stopped; p++)
		if (t->view[p * PAGE / 8] != pattern(p, 4) && !t->g->stopped)
			t->bad = p + 1;
	return NULL;
}

/* Two VMs, one budget, too little swap for both: OOM stops the one not
 * protected (VM 0; fixture_up protects VM 1) and the other finishes. */
START_TEST(reclaim_oom_stops_one_vm_and_the_other_finishes)
{
	struct fixture f;
	struct toucher t[2];
	pthread_t th[2];
	struct reclaim_stats rs;

	fixture_up(&f, 24 * MiB, 2, 8 * MiB, 24 * MiB, 0);
	for (int i = 0; i < 2; i++) {
		t[i] = (struct toucher){vmem_view(f.g[i].vm, 0), 24 * MiB / PAGE, &f.g[i], 0};
		ck_assert_int_eq(pthread_create(&th[i], NULL, toucher_run, &t[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	reclaim_get_stats(f.r, &rs);
	ck_assert_uint_eq(rs.oom_kills, 1);
	ck_assert_int_eq(f.g[0].stopped, 1);
	ck_assert_ptr_nonnull(strstr(f.g[0].fatal, "exhausted"));
	ck_assert_int_eq(f.g[1].stopped, 0);
	ck_assert_uint_eq(t[1].bad, 0);
	fixture_down(&f);
}
END_TEST

/* One sampling period in which pages [first, first + n) are touched: the
 * test closes each period itself, so a slow machine changes nothing. */
static struct reclaim_vm_stats period_touching(struct fixture *f, volatile uint64_t *view,
					       uint64_t first, uint64_t n)
{
	struct reclaim_vm_stats w;

	for (uint64_t p = first; p < first + n; p++)
		view[p * PAGE / 8]++;
	reclaim_sample(f->r);
	reclaim_vm_stats(f->r, f->g[0].vm, &w);
	return w;
}

/* A known hot set, touched in every period: the estimate lands near it,
 * and its interval holds it. */
START_TEST(reclaim_wss_estimates_a_known_hot_set)
{
	const uint64_t pages = 32 * MiB / PAGE, hot = pages / 4;
	struct fixture f;
	struct reclaim_vm_stats w;
	volatile uint64_t *view;

	fixture_up(&f, 32 * MiB, 1, 32 * MiB, 0, 0);
	view = vmem_view(f.g[0].vm, 0);
	period_touching(&f, view, 0, pages); /* every page held; the first sample armed */
	for (int i = 0; i < 6; i++) {
		w = period_touching(&f, view, 0, hot);
		ck_assert_uint_le(w.wss.lo, hot);
		ck_assert_uint_ge(w.wss.hi, hot);
		ck_assert_uint_ge(w.wss.pages, hot - hot / 5);
		ck_assert_uint_le(w.wss.pages, hot + hot / 5);
	}
	ck_assert_uint_eq(w.wss_periods, 6); /* the first period only armed */
	fixture_down(&f);
}
END_TEST

/* phases: the hot set moves from 2048 pages to 4096 others; within two
 * periods of the step the estimate says so. */
START_TEST(reclaim_wss_follows_a_phase_change_within_two_periods)
{
	struct fixture f;
	struct reclaim_vm_stats w;
	volatile uint64_t *view;

	fixture_up(&f, 32 * MiB, 1, 32 * MiB, 0, 0);
	view = vmem_view(f.g[0].vm, 0);
	for (int i = 0; i < 4; i++)
		w = period_touching(&f, view, 0, 2048);
	ck_assert_uint_ge(w.wss.pages, 2048 * 8 / 10);
	ck_assert_uint_le(w.wss.pages, 2048 * 12 / 10);
	period_touching(&f, view, 2048, 4096); /* the step: B was not held when armed */
	w = period_touching(&f, view, 2048, 4096);
	ck_assert_uint_ge(w.wss.pages, 4096 * 8 / 10);
	ck_assert_uint_le(w.wss.pages, 4096 * 12 / 10);
	fixture_down(&f);
}
END_TEST

static Suite *reclaim_suite(void)
{
	Suite *s = suite_create("reclaim");
	TCase *tc = tcase_create("overcommit");

	tcase_add_test(tc, reclaim_overcommit_keeps_every_page);
	tcase_add_test(tc, reclaim_fault_around_never_overwrites_swapped_pages);
	tcase_add_test(tc, reclaim_vmm_reads_and_writes_swapped_pages);
	tcase_add_test(tc, reclaim_corrupt_swap_stops_the_vm);
	tcase_add_test(tc, reclaim_swap_full_is_out_of_memory);
	tcase_add_test(tc, reclaim_oom_stops_one_vm_and_the_other_finishes);
	tcase_add_test(tc, reclaim_wss_estimates_a_known_hot_set);
	tcase_add_test(tc, reclaim_wss_follows_a_phase_change_within_two_periods);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!testlib_uffd_permitted())
		return TESTLIB_SKIP;
	return testlib_run(reclaim_suite());
}
