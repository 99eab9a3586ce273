/* tests/check_snapfile.c: the snapshot file gives back the devices and
 * pages written, in whatever order the pages came, stores zero pages
 * without data, appears complete or not at all, reads version 1 files,
 * and refuses every damaged file at open (or, for page data, at read)
 * naming the file, the offset and what was expected. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "snapfile.h"
#include "testlib.h"

#define MIB  (1ULL << 20)
#define PAGE SNAP_PAGE

static char base[96];
static char dir[128], tmpdir[128], file[160];
static char err[1024];

static void setup(void)
{
	snprintf(base, sizeof(base), "%s/check_snapfile.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/snap0", base);
	snprintf(tmpdir, sizeof(tmpdir), "%s/snap0.tmp", base);
	snprintf(file, sizeof(file), "%s/snap0/snapshot", base);
	err[0] = 0;
}

static void teardown(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	ck_assert_int_eq(system(cmd), 0);
}

static bool exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static void assert_error(const char *words)
{
	ck_assert_msg(strstr(err, words), "error \"%s\" lacks \"%s\"", err, words);
}

/* A page whose bytes depend on its GPA and a seed: never all zero. */
static void fill_page(uint8_t *p, uint64_t gpa, unsigned seed)
{
	for (unsigned i = 0; i < PAGE; i++)
		p[i] = (uint8_t)((gpa >> 12) * 31 + i * 7 + seed) | 1;
}

/* The fixture: a 16 MiB guest, three devices and six pages, two of them zero. */
static const struct fixture_page {
	uint64_t gpa;
	bool zero;
} fixture_pages[] = {
    {0x1000, false},   {0x2000, true},	 {0x5000, false},
    {0x100000, false}, {0x7ff000, true}, {0xfff000, false},
};
#define FIXTURE_NPAGES (sizeof(fixture_pages) / sizeof(fixture_pages[0]))
#define FIXTURE_NDATA  4
#define FIXTURE_MEM    (16 * MIB)

static const uint8_t serial_state[6] = {1, 2, 3, 4, 5, 6};
static uint8_t vcpu_state[100];
/* Device sections: 3 headers of 48 bytes, 6 bytes padded to 8, 100 to 104, 0. */
#define FIXTURE_DEV_BYTES (3 * 48 + 8 + 104)
#define FIXTURE_ENT_OFF	  ((size_t)(PAGE + FIXTURE_NDATA * PAGE + FIXTURE_DEV_BYTES))

static void fixture_page(uint8_t *p, const struct fixture_page *fp)
{
	if (fp->zero)
		memset(p, 0, PAGE);
	else
		fill_page(p, fp->gpa, 0);
}

static void write_fixture_to(const char *d)
{
	struct snap_writer *w;
	uint8_t page[PAGE];

	for (unsigned i = 0; i < sizeof(vcpu_state); i++)
		vcpu_state[i] = (uint8_t)(i * 3);
	ck_assert_msg(snap_writer_open(&w, d, FIXTURE_MEM, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(snap_writer_device(w, "serial", 1, serial_state, sizeof(serial_state), err,
					    sizeof(err)),
			 0);
	for (unsigned i = 0; i < FIXTURE_NPAGES; i++) {
		fixture_page(page, &fixture_pages[i]);
		ck_assert_msg(snap_writer_page(w, fixture_pages[i].gpa, page, err, sizeof(err)) ==
				  0,
			      "%s", err);
	}
	/* Devices may come after pages: they are written at commit. */
	ck_assert_int_eq(
	    snap_writer_device(w, "vcpu0", 2, vcpu_state, sizeof(vcpu_state), err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_device(w, "exit", 1, NULL, 0, err, sizeof(err)), 0);
	ck_assert_msg(snap_writer_commit(w, err, sizeof(err)) == 0, "%s", err);
}

static void write_fixture(void)
{
	write_fixture_to(dir);
}

static struct snap_reader *open_ok(void)
{
	struct snap_reader *r;

	ck_assert_msg(snap_reader_open(&r, dir, err, sizeof(err)) == 0, "%s", err);
	return r;
}

static int open_err(void)
{
	struct snap_reader *r = NULL;
	int ret = snap_reader_open(&r, dir, err, sizeof(err));

	if (!ret)
		snap_reader_close(r);
	ck_assert_ptr_null(ret ? r : NULL);
	return ret;
}

static size_t file_size(void)
{
	struct stat st;

	ck_assert_int_eq(stat(file, &st), 0);
	return st.st_size;
}

/* The snapshot file's bytes; the caller frees them. */
static uint8_t *read_file(size_t *size)
{
	uint8_t *buf;
	int fd = open(file, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	*size = file_size();
	buf = malloc(*size);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, *size, 0), (ssize_t)*size);
	close(fd);
	return buf;
}

static void write_file(const uint8_t *buf, size_t size)
{
	int fd = open(file, O_WRONLY | O_TRUNC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
	close(fd);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Offsets of the header fields, as docs/snapshot-format.md gives them. */
#define H_VERSION    8
#define H_MEM_BYTES  16
#define H_NR_DATA    32
#define H_DEV_OFF    56
#define H_DEV_BYTES  64
#define H_ENTRY_OFF  72
#define H_FILE_BYTES 88
#define H_META_HASH  96
#define H_FIELDS_END 104
#define ENTRY_BYTES  32
#define E_INDEX	     16 /* in an entry */
#define E_HASH	     24

/* Make the metadata hash right again after a patch, as
 * docs/snapshot-format.md defines it (XXH3-64 of the header with bytes
 * 96-103 zero, then of [dev_off, end)), so that what refuses the file is
 * the check under test and not the hash. */
static void reseal(uint8_t *buf, size_t size)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t dev_off = le64(buf + H_DEV_OFF);

	ck_assert_ptr_nonnull(st);
	ck_assert_uint_le(dev_off, size);
	put_le64(buf + H_META_HASH, 0);
	XXH3_64bits_reset(st);
	XXH3_64bits_update(st, buf, PAGE);
	XXH3_64bits_update(st, buf + dev_off, size - dev_off);
	put_le64(buf + H_META_HASH, XXH3_64bits_digest(st));
	XXH3_freeState(st);
}

/* The fixture's file with entry i's data index set to index, resealed. */
static void write_fixture_with_index(unsigned i, uint64_t index)
{
	size_t size;
	uint8_t *buf;

	write_fixture();
	buf = read_file(&size);
	put_le64(buf + le64(buf + H_ENTRY_OFF) + i * ENTRY_BYTES + E_INDEX, index);
	reseal(buf, size);
	write_file(buf, size);
	free(buf);
}

/* ---- round trip ---- */

START_TEST(snapfile_round_trip_gives_back_devices_and_pages)
{
	struct snap_reader *r;
	const void *buf;
	const char *name;
	uint32_t version;
	size_t len;
	uint8_t want[PAGE], got[PAGE];

	write_fixture();
	r = open_ok();
	ck_assert_uint_eq(snap_reader_mem_bytes(r), FIXTURE_MEM);
	ck_assert_uint_eq(snap_reader_nr_devices(r), 3);
	ck_assert_int_eq(snap_reader_device(r, "serial", &version, &buf, &len), 0);
	ck_assert_uint_eq(version, 1);
	ck_assert_uint_eq(len, sizeof(serial_state));
	ck_assert_mem_eq(buf, serial_state, len);
	ck_assert_int_eq(snap_reader_device(r, "vcpu0", &version, &buf, &len), 0);
	ck_assert_uint_eq(version, 2);
	ck_assert_uint_eq(len, sizeof(vcpu_state));
	ck_assert_mem_eq(buf, vcpu_state, len);
	ck_assert_int_eq(snap_reader_device_at(r, 2, &name, &version, &buf, &len), 0);
	ck_assert_str_eq(name, "exit");
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(snap_reader_device_at(r, 3, &name, NULL, NULL, NULL), -ERANGE);
	ck_assert_int_eq(snap_reader_device(r, "virtio-blk", NULL, NULL, NULL), -ENOENT);

	ck_assert_uint_eq(snap_reader_nr_pages(r), FIXTURE_NPAGES);
	for (unsigned i = 0; i < FIXTURE_NPAGES; i++) {
		uint64_t gpa;
		enum snap_kind kind;

		ck_assert_int_eq(snap_reader_page_at(r, i, &gpa, &kind), 0);
		ck_assert_uint_eq(gpa, fixture_pages[i].gpa);
		ck_assert_int_eq(kind, fixture_pages[i].zero ? SNAP_KIND_ZERO : SNAP_KIND_DATA);
		fixture_page(want, &fixture_pages[i]);
		memset(got, 0xaa, sizeof(got));
		ck_assert_msg(snap_reader_read_page(r, i, got, err, sizeof(err)) == 0, "%s", err);
		ck_assert_mem_eq(got, want, PAGE);
	}
	ck_assert_int_eq(snap_reader_page_at(r, FIXTURE_NPAGES, NULL, NULL), -ERANGE);
	ck_assert_int_eq(snap_reader_read_page(r, FIXTURE_NPAGES, got, err, sizeof(err)), -ERANGE);
	snap_reader_close(r);
}
END_TEST

/* Header, data pages, device sections and entries: nothing for a zero page. */
START_TEST(snapfile_zero_pages_cost_no_data)
{
	write_fixture();
	ck_assert_uint_eq(file_size(), PAGE + FIXTURE_NDATA * PAGE + FIXTURE_DEV_BYTES +
					   FIXTURE_NPAGES * ENTRY_BYTES);
}
END_TEST

/* Each data page is a 4 KiB aligned block, so a restore may read it with
 * O_DIRECT or map it. The fixture gives its pages in GPA order, so the
 * blocks are in GPA order too. */
START_TEST(snapfile_data_pages_are_4k_aligned_blocks_in_the_order_given)
{
	uint8_t want[PAGE];
	size_t size;
	uint8_t *buf;
	unsigned k = 0;

	write_fixture();
	buf = read_file(&size);
	for (unsigned i = 0; i < FIXTURE_NPAGES; i++) {
		if (fixture_pages[i].zero)
			continue;
		fixture_page(want, &fixture_pages[i]);
		ck_assert_mem_eq(buf + PAGE + k++ * PAGE, want, PAGE);
	}
	ck_assert_uint_eq(le64(buf + H_DEV_OFF), PAGE + FIXTURE_NDATA * PAGE);
	free(buf);
}
END_TEST

/* The fixture's pages given last first: blocks in that order, entries by GPA. */
START_TEST(snapfile_blocks_follow_the_order_pages_came_and_entries_are_sorted)
{
	struct snap_writer *w;
	uint8_t page[PAGE];
	size_t size, ent_off;
	uint8_t *buf;
	unsigned k = 0;

	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM, err, sizeof(err)), 0);
	for (unsigned i = FIXTURE_NPAGES; i-- > 0;) {
		fixture_page(page, &fixture_pages[i]);
		ck_assert_int_eq(snap_writer_page(w, fixture_pages[i].gpa, page, err, sizeof(err)),
				 0);
	}
	ck_assert_msg(snap_writer_commit(w, err, sizeof(err)) == 0, "%s", err);
	buf = read_file(&size);
	ent_off = le64(buf + H_ENTRY_OFF);
	for (unsigned i = FIXTURE_NPAGES; i-- > 0;) {
		const uint8_t *e = buf + ent_off + i * ENTRY_BYTES;

		ck_assert_uint_eq(le64(e), fixture_pages[i].gpa / PAGE);
		if (fixture_pages[i].zero)
			continue;
		ck_assert_uint_eq(le64(e + E_INDEX), k);
		fixture_page(page, &fixture_pages[i]);
		ck_assert_mem_eq(buf + PAGE + k++ * PAGE, page, PAGE);
	}
	ck_assert_uint_eq(k, FIXTURE_NDATA);
	free(buf);
}
END_TEST

START_TEST(snapfile_find_gives_the_entry_holding_a_gpa)
{
	struct snap_reader *r;

	write_fixture();
	r = open_ok();
	for (unsigned i = 0; i < FIXTURE_NPAGES; i++) {
		ck_assert_int_eq(snap_reader_find(r, fixture_pages[i].gpa), i);
		ck_assert_int_eq(snap_reader_find(r, fixture_pages[i].gpa + 123), i);
	}
	ck_assert_int_eq(snap_reader_find(r, 0), -ENOENT);
	ck_assert_int_eq(snap_reader_find(r, 0x3000), -ENOENT);
	ck_assert_int_eq(snap_reader_find(r, 0x800000), -ENOENT);
	ck_assert_int_eq(snap_reader_find(r, FIXTURE_MEM), -ENOENT);
	snap_reader_close(r);
}
END_TEST

START_TEST(snapfile_progress_counts_pages_given_and_bytes_written)
{
	struct snap_writer *w;
	uint8_t page[PAGE];
	uint64_t pages, bytes;

	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM, err, sizeof(err)), 0);
	snap_writer_progress(w, &pages, &bytes);
	ck_assert_uint_eq(pages, 0);
	ck_assert_uint_eq(bytes, 0);
	fill_page(page, 0x1000, 0);
	ck_assert_int_eq(snap_writer_page(w, 0x1000, page, err, sizeof(err)), 0);
	memset(page, 0, sizeof(page));
	ck_assert_int_eq(snap_writer_page(w, 0x2000, page, err, sizeof(err)), 0);
	snap_writer_progress(w, &pages, &bytes);
	ck_assert_uint_eq(pages, 2);
	ck_assert_uint_eq(bytes, PAGE);
	snap_writer_abort(w);
}
END_TEST

struct progress_watch {
	struct snap_writer *w;
	int stop;
	unsigned long reads;
};

/* Polls progress until told to stop: the counts only grow, and bytes
 * never count a page that pages do not. */
static void *progress_watch(void *arg)
{
	struct progress_watch *pw = arg;
	uint64_t pages, bytes, last_pages = 0, last_bytes = 0;

	while (!__atomic_load_n(&pw->stop, __ATOMIC_ACQUIRE)) {
		snap_writer_progress(pw->w, &pages, &bytes);
		ck_assert_uint_ge(pages, last_pages);
		ck_assert_uint_ge(bytes, last_bytes);
		ck_assert_uint_le(bytes, pages * PAGE);
		last_pages = pages;
		last_bytes = bytes;
		pw->reads++;
	}
	return NULL;
}

/* A control thread reports progress while a writer thread adds pages. */
START_TEST(snapfile_progress_may_be_read_from_another_thread)
{
	struct progress_watch pw = {0};
	uint8_t page[PAGE];
	uint64_t pages, bytes;
	pthread_t t;

	ck_assert_int_eq(snap_writer_open(&pw.w, dir, FIXTURE_MEM, err, sizeof(err)), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, progress_watch, &pw), 0);
	for (uint64_t n = 0; n < FIXTURE_MEM / PAGE; n++) {
		uint64_t gpa = (n * 1031 % (FIXTURE_MEM / PAGE)) * PAGE; /* 1031 is prime */

		if (n % 3)
			fill_page(page, gpa, 0);
		else
			memset(page, 0, PAGE);
		ck_assert_int_eq(snap_writer_page(pw.w, gpa, page, err, sizeof(err)), 0);
	}
	__atomic_store_n(&pw.stop, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_gt(pw.reads, 0);
	snap_writer_progress(pw.w, &pages, &bytes);
	ck_assert_uint_eq(pages, FIXTURE_MEM / PAGE);
	ck_assert_uint_eq(bytes, (FIXTURE_MEM / PAGE - (FIXTURE_MEM / PAGE + 2) / 3) * PAGE);
	snap_writer_abort(pw.w);
}
END_TEST

START_TEST(snapfile_empty_snapshot_round_trips)
{
	struct snap_writer *w;
	struct snap_reader *r;

	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM, err, sizeof(err)), 0);
	ck_assert_msg(snap_writer_commit(w, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(file_size(), PAGE);
	r = open_ok();
	ck_assert_uint_eq(snap_reader_nr_pages(r), 0);
	ck_assert_uint_eq(snap_reader_nr_devices(r), 0);
	ck_assert_int_eq(snap_reader_find(r, 0x1000), -ENOENT);
	snap_reader_close(r);
}
END_TEST

/* RAM above 3 GiB continues at 4 GiB: pages there are kept, the gap refused. */
START_TEST(snapfile_keeps_pages_above_4g_and_refuses_the_gap)
{
	struct snap_writer *w;
	struct snap_reader *r;
	uint8_t page[PAGE];
	uint64_t gpa;

	fill_page(page, 0, 0);
	ck_assert_int_eq(snap_writer_open(&w, dir, 5ULL << 30, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_page(w, 0xbffff000, page, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_page(w, 0xc0000000, page, err, sizeof(err)), -EINVAL);
	assert_error("GPA 0xc0000000");
	ck_assert_int_eq(snap_writer_page(w, 0x17ffff000, page, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_page(w, 0x180000000, page, err, sizeof(err)), -EINVAL);
	ck_assert_msg(snap_writer_commit(w, err, sizeof(err)) == 0, "%s", err);
	r = open_ok();
	ck_assert_uint_eq(snap_reader_nr_pages(r), 2);
	ck_assert_int_eq(snap_reader_page_at(r, 1, &gpa, NULL), 0);
	ck_assert_uint_eq(gpa, 0x17ffff000);
	snap_reader_close(r);
}
END_TEST

/* Random sparse sets of pages, a third of them zero; SNAPFILE_SEED replays one. */
START_TEST(snapfile_random_sparse_snapshots_round_trip)
{
	unsigned seed = getenv("SNAPFILE_SEED") ? atoi(getenv("SNAPFILE_SEED")) : time(NULL);
	uint8_t page[PAGE], got[PAGE];

	printf("snapfile_random_sparse_snapshots_round_trip: SNAPFILE_SEED=%u\n", seed);
	srand(seed);
	for (int round = 0; round < 20; round++) {
		uint64_t mem = (1 + rand() % 64) * MIB, gpa = 0, n = 0;
		struct snap_writer *w;
		struct snap_reader *r;

		ck_assert_int_eq(snap_writer_open(&w, dir, mem, err, sizeof(err)), 0);
		while ((gpa += PAGE * (1 + rand() % 512)) < mem) {
			if (rand() % 3)
				fill_page(page, gpa, seed);
			else
				memset(page, 0, PAGE);
			ck_assert_int_eq(snap_writer_page(w, gpa, page, err, sizeof(err)), 0);
			n++;
		}
		ck_assert_msg(snap_writer_commit(w, err, sizeof(err)) == 0, "%s", err);
		r = open_ok();
		ck_assert_uint_eq(snap_reader_nr_pages(r), n);
		for (uint64_t i = 0; i < n; i++) {
			enum snap_kind kind;

			ck_assert_int_eq(snap_reader_page_at(r, i, &gpa, &kind), 0);
			ck_assert_int_eq(snap_reader_find(r, gpa), (int64_t)i);
			ck_assert_int_eq(snap_reader_read_page(r, i, got, err, sizeof(err)), 0);
			if (kind == SNAP_KIND_DATA)
				fill_page(page, gpa, seed);
			else
				memset(page, 0, PAGE);
			ck_assert_mem_eq(got, page, PAGE);
		}
		snap_reader_close(r);
		teardown();
		setup();
	}
}
END_TEST

/* A guest page picked at random among RAM's, for a guest of mem bytes
 * (RAM above 3 GiB continues at 4 GiB). */
static uint64_t random_ram_gpa(uint64_t mem)
{
	uint64_t low = mem < (3ULL << 30) ? mem : 3ULL << 30;
	uint64_t n = ((uint64_t)rand() << 31 | (uint64_t)rand()) % (mem / PAGE);

	return n * PAGE < low ? n * PAGE : (4ULL << 30) + n * PAGE - low;
}

/* 300 distinct pages of a 5 GiB guest, among them both sides of the hole,
 * given in random order, a quarter of them zero; SNAPFILE_SEED replays one. */
START_TEST(snapfile_pages_in_random_order_round_trip)
{
	enum { N = 300 };
	unsigned seed = getenv("SNAPFILE_SEED") ? atoi(getenv("SNAPFILE_SEED")) : time(NULL);
	static uint64_t gpa[N];
	static bool zero[N];
	uint64_t mem = 5ULL << 30, ndata = 0, pages, bytes, last = 0;
	uint8_t page[PAGE], got[PAGE];
	struct snap_writer *w;
	struct snap_reader *r;

	printf("snapfile_pages_in_random_order_round_trip: SNAPFILE_SEED=%u\n", seed);
	srand(seed);
	gpa[0] = 0xbffff000;
	gpa[1] = 0x100000000;
	for (unsigned i = 2; i < N; i++) {
		bool again;

		do {
			gpa[i] = random_ram_gpa(mem);
			again = false;
			for (unsigned k = 0; k < i; k++)
				again |= gpa[k] == gpa[i];
		} while (again);
	}
	for (unsigned i = N - 1; i > 0; i--) {
		unsigned k = rand() % (i + 1);
		uint64_t t = gpa[i];

		gpa[i] = gpa[k];
		gpa[k] = t;
	}
	ck_assert_int_eq(snap_writer_open(&w, dir, mem, err, sizeof(err)), 0);
	for (unsigned i = 0; i < N; i++) {
		zero[i] = rand() % 4 == 0;
		if (zero[i])
			memset(page, 0, PAGE);
		else
			fill_page(page, gpa[i], seed);
		ndata += !zero[i];
		ck_assert_msg(snap_writer_page(w, gpa[i], page, err, sizeof(err)) == 0, "%s", err);
	}
	snap_writer_progress(w, &pages, &bytes);
	ck_assert_uint_eq(pages, N);
	ck_assert_uint_eq(bytes, ndata * PAGE);
	ck_assert_msg(snap_writer_commit(w, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(file_size(), PAGE + ndata * PAGE + N * ENTRY_BYTES);

	r = open_ok();
	ck_assert_uint_eq(snap_reader_nr_pages(r), N);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t g;

		ck_assert_int_eq(snap_reader_page_at(r, i, &g, NULL), 0);
		ck_assert(i == 0 || g > last);
		last = g;
	}
	for (unsigned i = 0; i < N; i++) {
		int64_t at = snap_reader_find(r, gpa[i]);
		enum snap_kind kind;

		ck_assert_int_ge(at, 0);
		ck_assert_int_eq(snap_reader_page_at(r, at, NULL, &kind), 0);
		ck_assert_int_eq(kind, zero[i] ? SNAP_KIND_ZERO : SNAP_KIND_DATA);
		if (zero[i])
			memset(page, 0, PAGE);
		else
			fill_page(page, gpa[i], seed);
		memset(got, 0xaa, PAGE);
		ck_assert_msg(snap_reader_read_page(r, at, got, err, sizeof(err)) == 0, "%s", err);
		ck_assert_msg(!memcmp(got, page, PAGE), "page at GPA %#" PRIx64 " differs", gpa[i]);
	}
	snap_reader_close(r);
}
END_TEST

/* ---- atomicity ---- */

START_TEST(snapfile_abort_leaves_neither_dir_nor_tmp)
{
	struct snap_writer *w;
	uint8_t page[PAGE];

	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM, err, sizeof(err)), 0);
	ck_assert(exists(tmpdir));
	fill_page(page, 0x1000, 0);
	ck_assert_int_eq(snap_writer_page(w, 0x1000, page, err, sizeof(err)), 0);
	ck_assert(!exists(dir));
	snap_writer_abort(w);
	ck_assert(!exists(dir));
	ck_assert(!exists(tmpdir));
}
END_TEST

START_TEST(snapfile_writer_refuses_an_existing_dir)
{
	struct snap_writer *w;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_null(w);
	assert_error(dir);
	assert_error("already exists");
	ck_assert(!exists(tmpdir));
}
END_TEST

/* A writer that died (here: a child that exits without commit or abort)
 * leaves DIR.tmp; the next one refuses it, names it, and leaves it alone. */
START_TEST(snapfile_writer_refuses_tmp_left_by_a_crash)
{
	struct snap_writer *w;
	char left[200];
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uint8_t page[PAGE];

		fill_page(page, 0x1000, 0);
		if (snap_writer_open(&w, dir, FIXTURE_MEM, NULL, 0) ||
		    snap_writer_page(w, 0x1000, page, NULL, 0))
			_exit(1);
		_exit(0); /* the crash */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert(exists(tmpdir));
	ck_assert(!exists(dir));

	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM, err, sizeof(err)), -EEXIST);
	assert_error(tmpdir);
	assert_error("remove it");
	snprintf(left, sizeof(left), "%s/snapshot", tmpdir);
	ck_assert(exists(left));
	ck_assert_int_eq(open_err(), -ENOENT); /* no snapshot appeared */

	ck_assert_int_eq(unlink(left), 0);
	ck_assert_int_eq(rmdir(tmpdir), 0);
	write_fixture();
}
END_TEST

/* rename(2) would replace an empty directory: the writer must not. */
START_TEST(snapfile_commit_refuses_a_dir_made_meanwhile)
{
	struct snap_writer *w;

	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM, err, sizeof(err)), 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(snap_writer_commit(w, err, sizeof(err)), -EEXIST);
	assert_error("appeared while the snapshot was written");
	ck_assert(!exists(tmpdir));
	ck_assert(!exists(file));
}
END_TEST

START_TEST(snapfile_commit_leaves_no_tmp_and_a_trailing_slash_is_ignored)
{
	char slashed[140];
	struct snap_reader *r;

	snprintf(slashed, sizeof(slashed), "%s/", dir);
	write_fixture_to(slashed);
	ck_assert(exists(file));
	ck_assert(!exists(tmpdir));
	ck_assert_int_eq(snap_reader_open(&r, slashed, err, sizeof(err)), 0);
	ck_assert_str_eq(snap_reader_path(r), file);
	snap_reader_close(r);
}
END_TEST

/* ---- the writer's arguments ---- */

/* Pages come in any order (copy-before-write saves one out of turn), but
 * each once, whether it was data or zero the first time. */
START_TEST(snapfile_writer_refuses_a_repeated_gpa)
{
	struct snap_writer *w;
	struct snap_reader *r;
	uint8_t page[PAGE];

	fill_page(page, 0, 0);
	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_page(w, 0x5000, page, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_page(w, 0x3000, page, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_page(w, 0x5000, page, err, sizeof(err)), -EINVAL);
	assert_error(tmpdir); /* the file being written */
	assert_error("page at GPA 0x5000: given already: expected each page once");
	ck_assert_int_eq(snap_writer_page(w, 0x3000, page, err, sizeof(err)), -EINVAL);
	assert_error("GPA 0x3000");
	memset(page, 0, PAGE); /* a zero page too, either way round */
	ck_assert_int_eq(snap_writer_page(w, 0x5000, page, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(snap_writer_page(w, 0x1000, page, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_page(w, 0x1000, page, err, sizeof(err)), -EINVAL);
	assert_error("GPA 0x1000");
	fill_page(page, 0, 0);
	ck_assert_int_eq(snap_writer_page(w, 0x1000, page, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(snap_writer_page(w, 0x6000, page, err, sizeof(err)), 0);
	/* What was refused was not recorded. */
	ck_assert_msg(snap_writer_commit(w, err, sizeof(err)) == 0, "%s", err);
	r = open_ok();
	ck_assert_uint_eq(snap_reader_nr_pages(r), 4);
	snap_reader_close(r);
}
END_TEST

/* The repeat check numbers RAM's pages across the hole below 4 GiB: the
 * pages either side of it, and the last, are different pages. */
START_TEST(snapfile_writer_tells_pages_above_4g_from_those_below)
{
	const uint64_t gpas[] = {0x17ffff000, 0x100000000, 0xbffff000, 0, 0x40000000};
	struct snap_writer *w;
	uint8_t page[PAGE];

	fill_page(page, 0, 0);
	ck_assert_int_eq(snap_writer_open(&w, dir, 5ULL << 30, err, sizeof(err)), 0);
	for (unsigned i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++)
		ck_assert_msg(snap_writer_page(w, gpas[i], page, err, sizeof(err)) == 0, "%s", err);
	for (unsigned i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++)
		ck_assert_int_eq(snap_writer_page(w, gpas[i], page, err, sizeof(err)), -EINVAL);
	snap_writer_abort(w);
}
END_TEST

START_TEST(snapfile_writer_refuses_unaligned_and_outside_gpas)
{
	struct snap_writer *w;
	uint8_t page[PAGE];

	fill_page(page, 0, 0);
	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_page(w, 0x1001, page, err, sizeof(err)), -EINVAL);
	assert_error("4 KiB aligned");
	ck_assert_int_eq(snap_writer_page(w, FIXTURE_MEM, page, err, sizeof(err)), -EINVAL);
	assert_error("guest RAM (16 MiB)");
	snap_writer_abort(w);
}
END_TEST

START_TEST(snapfile_writer_refuses_bad_memory_sizes)
{
	struct snap_writer *w;

	ck_assert_int_eq(snap_writer_open(&w, dir, 0, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM + 100, err, sizeof(err)), -EINVAL);
	assert_error("multiple of 4096");
	ck_assert_int_eq(snap_writer_open(&w, dir, 1ULL << 50, err, sizeof(err)), -EINVAL);
	ck_assert(!exists(tmpdir));
}
END_TEST

START_TEST(snapfile_writer_refuses_bad_and_repeated_device_names)
{
	struct snap_writer *w;
	const char *bad[] = {"", "two words", "a-name-of-thirty-two-characters!", "tab\there"};

	ck_assert_int_eq(snap_writer_open(&w, dir, FIXTURE_MEM, err, sizeof(err)), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(snap_writer_device(w, bad[i], 1, "x", 1, err, sizeof(err)),
				 -EINVAL);
		assert_error("expected 1 to 31 printable characters");
	}
	ck_assert_int_eq(
	    snap_writer_device(w, "a-name-of-thirty-one-characters", 1, "x", 1, err, sizeof(err)),
	    0);
	ck_assert_int_eq(snap_writer_device(w, "serial", 1, "x", 1, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_device(w, "serial", 2, "y", 1, err, sizeof(err)), -EINVAL);
	assert_error("device serial given twice");
	ck_assert_int_eq(
	    snap_writer_device(w, "big", 1, "x", SNAP_MAX_DEVICE_BYTES + 1, err, sizeof(err)),
	    -EINVAL);
	snap_writer_abort(w);
}
END_TEST

/* ---- the reader's checks, at the file level ---- */

START_TEST(snapfile_reader_names_a_missing_snapshot)
{
	ck_assert_int_eq(open_err(), -ENOENT);
	assert_error(file);
}
END_TEST

START_TEST(snapfile_reader_refuses_wrong_magic)
{
	size_t size;
	uint8_t *buf;

	write_fixture();
	buf = read_file(&size);
	memcpy(buf, "\177ELF", 4);
	write_file(buf, size);
	ck_assert_int_eq(open_err(), -EINVAL);
	assert_error(file);
	assert_error("offset 0: expected magic");
	free(buf);
}
END_TEST

START_TEST(snapfile_reader_refuses_wrong_version)
{
	char want[256];
	size_t size;
	uint8_t *buf;

	write_fixture();
	buf = read_file(&size);
	put_le32(buf + H_VERSION, 7);
	write_file(buf, size);
	ck_assert_int_eq(open_err(), -EINVAL);
	snprintf(want, sizeof(want), "%s: offset 8: expected version 1 or 2, found 7", file);
	ck_assert_str_eq(err, want);
	put_le32(buf + H_VERSION, 3);
	reseal(buf, size);
	write_file(buf, size);
	ck_assert_int_eq(open_err(), -EINVAL);
	assert_error("found 3");
	put_le32(buf + H_VERSION, 0);
	reseal(buf, size);
	write_file(buf, size);
	ck_assert_int_eq(open_err(), -EINVAL);
	assert_error("found 0");
	free(buf);
}
END_TEST

/* Metadata follows the data, so a cut anywhere takes some of it off and
 * the header's file size no longer matches: refused at open. */
START_TEST(snapfile_reader_refuses_a_truncated_file_naming_the_cut)
{
	size_t size, dev_off;
	uint8_t *buf;
	char where[64];

	write_fixture();
	buf = read_file(&size);
	dev_off = le64(buf + H_DEV_OFF);
	size_t cuts[] = {0,	   5,	    100,	  PAGE - 1,	 PAGE,	    PAGE + 100,
			 3 * PAGE, dev_off, dev_off + 10, dev_off + 200, size - 32, size - 1};

	for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		write_file(buf, cuts[i]);
		ck_assert_int_eq(open_err(), -EINVAL);
		snprintf(where, sizeof(where), "offset %zu: file ", cuts[i]);
		assert_error(where);
		assert_error("cut short");
	}
	/* A longer file is refused too: something was appended. */
	buf = realloc(buf, size + 1);
	buf[size] = 0;
	write_file(buf, size + 1);
	ck_assert_int_eq(open_err(), -EINVAL);
	assert_error("file goes on");
	free(buf);
}
END_TEST

/* A page read after the file was cut (behind the reader's back). */
START_TEST(snapfile_read_page_names_the_offset_of_a_cut_after_open)
{
	struct snap_reader *r;
	uint8_t page[PAGE];

	write_fixture();
	r = open_ok();
	ck_assert_int_eq(truncate(file, 2 * PAGE + 100), 0);
	ck_assert_int_eq(snap_reader_read_page(r, 0, page, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_reader_read_page(r, 2, page, err, sizeof(err)), -EIO);
	assert_error(file);
	assert_error("offset 8192: the page at GPA 0x5000 ends after 100 of 4096 bytes");
	ck_assert_int_eq(snap_reader_read_page(r, 3, page, err, sizeof(err)), -EIO);
	assert_error("offset 12288");
	/* A zero page needs no data. */
	ck_assert_int_eq(snap_reader_read_page(r, 1, page, err, sizeof(err)), 0);
	snap_reader_close(r);
}
END_TEST

/* Every bit of [from, to) flipped in turn is refused at open, naming the
 * file and an offset; returns how many flips words named. */
static unsigned assert_flips_refused(size_t from, size_t to, const char *words)
{
	size_t size;
	uint8_t *buf;
	unsigned named = 0;

	if (!exists(dir))
		write_fixture();
	buf = read_file(&size);
	for (size_t off = from; off < to; off++)
		for (int bit = 0; bit < 8; bit++) {
			buf[off] ^= 1 << bit;
			write_file(buf, size);
			ck_assert_msg(open_err() == -EINVAL, "bit %d of offset %zu: accepted", bit,
				      off);
			assert_error(file);
			assert_error(": offset ");
			named += !!strstr(err, words);
			buf[off] ^= 1 << bit;
		}
	write_file(buf, size);
	free(buf);
	return named;
}

START_TEST(snapfile_reader_refuses_every_bit_flip_in_the_header)
{
	/* The fields, then a few reserved bytes. */
	assert_flips_refused(0, H_FIELDS_END, "expected");
	ck_assert_uint_eq(assert_flips_refused(H_FIELDS_END, H_FIELDS_END + 4, "(reserved)"), 32);
	ck_assert_uint_eq(assert_flips_refused(PAGE - 2, PAGE, "(reserved)"), 16);
	/* The hash itself: nothing else names it. */
	ck_assert_uint_eq(
	    assert_flips_refused(H_META_HASH, H_META_HASH + 8, "offset 96: expected metadata hash"),
	    64);
}
END_TEST

START_TEST(snapfile_reader_refuses_every_bit_flip_in_the_device_sections)
{
	size_t dev_off = PAGE + FIXTURE_NDATA * PAGE;

	assert_flips_refused(dev_off, dev_off + FIXTURE_DEV_BYTES, "expected");
	/* The devices' own bytes have no field to check: the hash catches them. */
	ck_assert_uint_eq(assert_flips_refused(dev_off + 48 + 8 + 48 + 10,
					       dev_off + 48 + 8 + 48 + 12, "metadata hash"),
			  16);
	/* The padding after serial's 6 bytes must be zero. */
	ck_assert_uint_eq(assert_flips_refused(dev_off + 48 + 6, dev_off + 48 + 8, "(padding)"),
			  16);
}
END_TEST

START_TEST(snapfile_reader_refuses_every_bit_flip_in_the_entry_list)
{
	size_t ent_off = PAGE + FIXTURE_NDATA * PAGE + FIXTURE_DEV_BYTES;

	assert_flips_refused(ent_off, ent_off + FIXTURE_NPAGES * ENTRY_BYTES, "expected");
	/* A page's hash, in its entry: only the metadata hash covers it. */
	ck_assert_uint_eq(assert_flips_refused(ent_off + 24, ent_off + 32, "metadata hash"), 64);
}
END_TEST

/* The reader checks order itself, before the hash: swap the GPAs of two
 * entries, then make one a copy of the other's. */
START_TEST(snapfile_reader_refuses_unsorted_entries)
{
	size_t size, ent_off;
	uint8_t *buf, tmp[8];
	uint8_t *e2, *e3;
	char where[64];

	write_fixture();
	buf = read_file(&size);
	ent_off = le64(buf + H_ENTRY_OFF);
	e2 = buf + ent_off + 2 * ENTRY_BYTES;
	e3 = buf + ent_off + 3 * ENTRY_BYTES;
	memcpy(tmp, e2, 8);
	memcpy(e2, e3, 8);
	memcpy(e3, tmp, 8);
	write_file(buf, size);
	ck_assert_int_eq(open_err(), -EINVAL);
	snprintf(where, sizeof(where), "offset %zu: entry 3: GPA 0x5000",
		 ent_off + 3 * ENTRY_BYTES);
	assert_error(where);
	assert_error("entries sorted by GPA");
	memcpy(e2, e3, 8);
	write_file(buf, size);
	ck_assert_int_eq(open_err(), -EINVAL);
	assert_error("each page once");
	free(buf);
}
END_TEST

/* The fixture's data entries are 0, 2, 3 and 5, with indices 0 to 3. */
START_TEST(snapfile_reader_refuses_a_repeated_data_index)
{
	char where[96];

	write_fixture_with_index(3, 1); /* entry 2's */
	ck_assert_int_eq(open_err(), -EINVAL);
	snprintf(where, sizeof(where), "offset %zu: entry 3: data index 1: ",
		 FIXTURE_ENT_OFF + 3 * ENTRY_BYTES + E_INDEX);
	assert_error(file);
	assert_error(where);
	assert_error("expected each data index once");
}
END_TEST

START_TEST(snapfile_reader_refuses_a_data_index_out_of_range)
{
	const uint64_t bad[] = {FIXTURE_NDATA, 1ULL << 40, UINT64_MAX};
	char where[96];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_fixture_with_index(5, bad[i]);
		ck_assert_int_eq(open_err(), -EINVAL);
		snprintf(where, sizeof(where), "offset %zu: entry 5: data index %" PRIu64 ": ",
			 FIXTURE_ENT_OFF + 5 * ENTRY_BYTES + E_INDEX, bad[i]);
		assert_error(where);
		assert_error("expected below the 4 data pages (at offset 32)");
		teardown();
		setup();
	}
}
END_TEST

/* The fixture as if its first two data pages had come the other way
 * round: blocks 0 and 1 swapped, and the indices of entries 0 and 2. */
static uint8_t *fixture_permuted(size_t *size)
{
	uint8_t *buf, tmp[PAGE];
	size_t ent_off;

	write_fixture();
	buf = read_file(size);
	ent_off = le64(buf + H_ENTRY_OFF);
	memcpy(tmp, buf + PAGE, PAGE);
	memcpy(buf + PAGE, buf + 2 * PAGE, PAGE);
	memcpy(buf + 2 * PAGE, tmp, PAGE);
	put_le64(buf + ent_off + 0 * ENTRY_BYTES + E_INDEX, 1);
	put_le64(buf + ent_off + 2 * ENTRY_BYTES + E_INDEX, 0);
	reseal(buf, *size);
	return buf;
}

/* The snapshot opens and gives back the fixture's pages, found by GPA. */
static void assert_reads_fixture_pages(void)
{
	struct snap_reader *r = open_ok();
	uint8_t want[PAGE], got[PAGE];

	ck_assert_uint_eq(snap_reader_nr_pages(r), FIXTURE_NPAGES);
	for (unsigned i = 0; i < FIXTURE_NPAGES; i++) {
		ck_assert_int_eq(snap_reader_find(r, fixture_pages[i].gpa), i);
		fixture_page(want, &fixture_pages[i]);
		ck_assert_msg(snap_reader_read_page(r, i, got, err, sizeof(err)) == 0, "%s", err);
		ck_assert_mem_eq(got, want, PAGE);
	}
	snap_reader_close(r);
}

START_TEST(snapfile_reader_reads_permuted_data_indices)
{
	size_t size;
	uint8_t *buf = fixture_permuted(&size);

	write_file(buf, size);
	assert_reads_fixture_pages();
	free(buf);
}
END_TEST

/* Version 1 writers gave pages in GPA order: the fixture is written that
 * way, so with version 1 in its header it is the file they made. */
START_TEST(snapfile_reader_reads_version_1)
{
	size_t size;
	uint8_t *buf;

	write_fixture();
	buf = read_file(&size);
	put_le32(buf + H_VERSION, 1);
	reseal(buf, size);
	write_file(buf, size);
	assert_reads_fixture_pages();
	free(buf);
}
END_TEST

/* What version 2 allows, version 1 did not: its data indices are in order. */
START_TEST(snapfile_reader_refuses_permuted_data_indices_in_version_1)
{
	char where[96];
	size_t size;
	uint8_t *buf = fixture_permuted(&size);

	put_le32(buf + H_VERSION, 1);
	reseal(buf, size);
	write_file(buf, size);
	ck_assert_int_eq(open_err(), -EINVAL);
	snprintf(where, sizeof(where), "offset %zu: entry 0: expected data index 0",
		 FIXTURE_ENT_OFF + E_INDEX);
	assert_error(where);
	assert_error("(version 1: data pages in GPA order), found 1");
	free(buf);
}
END_TEST

START_TEST(snapfile_read_page_refuses_damaged_data_naming_the_gpa)
{
	struct snap_reader *r;
	uint8_t page[PAGE];
	size_t size;
	uint8_t *buf;

	write_fixture();
	buf = read_file(&size);
	buf[PAGE + 1 * PAGE + 1234] ^= 0x10; /* the second data page: GPA 0x5000 */
	write_file(buf, size);
	r = open_ok(); /* page data is not read at open */
	ck_assert_int_eq(snap_reader_read_page(r, 2, page, err, sizeof(err)), -EBADMSG);
	assert_error(file);
	assert_error("offset 8192: the page at GPA 0x5000");
	assert_error("the page data is damaged");
	ck_assert_int_eq(snap_reader_read_page(r, 0, page, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_reader_read_page(r, 3, page, err, sizeof(err)), 0);
	snap_reader_close(r);
	free(buf);
}
END_TEST

START_TEST(snapfile_check_mem_names_both_sizes)
{
	struct snap_reader *r;

	write_fixture();
	r = open_ok();
	ck_assert_int_eq(snap_reader_check_mem(r, FIXTURE_MEM, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_reader_check_mem(r, 32 * MIB, err, sizeof(err)), -EINVAL);
	assert_error(file);
	assert_error("16 MiB");
	assert_error("expected 32 MiB");
	snap_reader_close(r);
}
END_TEST

/* A header that claims a huge memory is refused before anything is sized from it. */
START_TEST(snapfile_reader_refuses_a_memory_size_out_of_range)
{
	size_t size;
	uint8_t *buf;

	write_fixture();
	buf = read_file(&size);
	memcpy(buf + H_MEM_BYTES, &(uint64_t){1ULL << 62}, 8);
	write_file(buf, size);
	ck_assert_int_eq(open_err(), -EINVAL);
	assert_error("offset 16: expected guest memory size");
	memcpy(buf + H_MEM_BYTES, &(uint64_t){4 * MIB}, 8); /* below the last page */
	write_file(buf, size);
	ck_assert_int_eq(open_err(), -EINVAL);
	assert_error("expected a page of guest RAM (4 MiB)");
	free(buf);
}
END_TEST

static Suite *snapfile_suite(void)
{
	Suite *s = suite_create("snapfile");
	TCase *t = tcase_create("round trip");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, snapfile_round_trip_gives_back_devices_and_pages);
	tcase_add_test(t, snapfile_zero_pages_cost_no_data);
	tcase_add_test(t, snapfile_data_pages_are_4k_aligned_blocks_in_the_order_given);
	tcase_add_test(t, snapfile_blocks_follow_the_order_pages_came_and_entries_are_sorted);
	tcase_add_test(t, snapfile_find_gives_the_entry_holding_a_gpa);
	tcase_add_test(t, snapfile_progress_counts_pages_given_and_bytes_written);
	tcase_add_test(t, snapfile_progress_may_be_read_from_another_thread);
	tcase_add_test(t, snapfile_empty_snapshot_round_trips);
	tcase_add_test(t, snapfile_keeps_pages_above_4g_and_refuses_the_gap);
	tcase_add_test(t, snapfile_random_sparse_snapshots_round_trip);
	tcase_add_test(t, snapfile_pages_in_random_order_round_trip);
	suite_add_tcase(s, t);

	t = tcase_create("atomicity");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, snapfile_abort_leaves_neither_dir_nor_tmp);
	tcase_add_test(t, snapfile_writer_refuses_an_existing_dir);
	tcase_add_test(t, snapfile_writer_refuses_tmp_left_by_a_crash);
	tcase_add_test(t, snapfile_commit_refuses_a_dir_made_meanwhile);
	tcase_add_test(t, snapfile_commit_leaves_no_tmp_and_a_trailing_slash_is_ignored);
	suite_add_tcase(s, t);

	t = tcase_create("writer arguments");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, snapfile_writer_refuses_a_repeated_gpa);
	tcase_add_test(t, snapfile_writer_tells_pages_above_4g_from_those_below);
	tcase_add_test(t, snapfile_writer_refuses_unaligned_and_outside_gpas);
	tcase_add_test(t, snapfile_writer_refuses_bad_memory_sizes);
	tcase_add_test(t, snapfile_writer_refuses_bad_and_repeated_device_names);
	suite_add_tcase(s, t);

	t = tcase_create("bad files");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, snapfile_reader_names_a_missing_snapshot);
	tcase_add_test(t, snapfile_reader_refuses_wrong_magic);
	tcase_add_test(t, snapfile_reader_refuses_wrong_version);
	tcase_add_test(t, snapfile_reader_refuses_a_truncated_file_naming_the_cut);
	tcase_add_test(t, snapfile_read_page_names_the_offset_of_a_cut_after_open);
	tcase_add_test(t, snapfile_reader_refuses_every_bit_flip_in_the_header);
	tcase_add_test(t, snapfile_reader_refuses_every_bit_flip_in_the_device_sections);
	tcase_add_test(t, snapfile_reader_refuses_every_bit_flip_in_the_entry_list);
	tcase_add_test(t, snapfile_reader_refuses_unsorted_entries);
	tcase_add_test(t, snapfile_reader_refuses_a_repeated_data_index);
	tcase_add_test(t, snapfile_reader_refuses_a_data_index_out_of_range);
	tcase_add_test(t, snapfile_reader_reads_permuted_data_indices);
	tcase_add_test(t, snapfile_reader_reads_version_1);
	tcase_add_test(t, snapfile_reader_refuses_permuted_data_indices_in_version_1);
	tcase_add_test(t, snapfile_read_page_refuses_damaged_data_naming_the_gpa);
	tcase_add_test(t, snapfile_check_mem_names_both_sizes);
	tcase_add_test(t, snapfile_reader_refuses_a_memory_size_out_of_range);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return testlib_run(snapfile_suite());
}
