/* tests/check_swapfile.c: the swap file gives back what was written
 * through io_uring and the sync path, on a disk and on tmpfs; catches a
 * page changed or cut off behind its back and names the slot and offset;
 * refuses a second user and bad sizes, paths and files, saying why; and
 * knows, without I/O, whether a page still matches its slot. */
#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "swapfile.h"
#include "testlib.h"

#define MIB (1ULL << 20)

static char dir[96];
static char path[128];
static char err[512];

/* $TMPDIR where set, else disk-backed /var/tmp, else /tmp (the test VM's
 * /var/tmp is read-only). */
static void setup(void)
{
	const char *base[] = {getenv("TMPDIR"), "/var/tmp", "/tmp"};
	bool made = false;

	for (unsigned i = 0; i < sizeof(base) / sizeof(base[0]) && !made; i++) {
		if (!base[i])
			continue;
		snprintf(dir, sizeof(dir), "%s/check_swapfile.XXXXXX", base[i]);
		made = mkdtemp(dir) != NULL;
	}
	ck_assert_msg(made, "no writable temporary directory");
	snprintf(path, sizeof(path), "%s/swap", dir);
	err[0] = 0;
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The I/O modes, for loop tests: _i picks one. */
static const struct mode {
	const char *name;
	bool no_uring, no_direct;
} modes[] = {
    {"io_uring, O_DIRECT", false, false},
    {"sync, O_DIRECT", true, false},
    {"io_uring, buffered", false, true},
    {"sync, buffered", true, true},
};
#define NMODES (int)(sizeof(modes) / sizeof(modes[0]))

static struct swapfile *open_mode(const char *p, uint64_t size, const struct mode *m)
{
	struct swapfile_opts o = {
	    .path = p, .size = size, .no_uring = m->no_uring, .no_direct = m->no_direct};
	struct swapfile *s;

	ck_assert_msg(swapfile_open(&s, &o, err, sizeof(err)) == 0, "%s: %s", m->name, err);
	if (m->no_direct)
		ck_assert(!swapfile_direct(s));
	return s;
}

static struct swapfile *open_ok(const char *p, uint64_t size, bool no_uring)
{
	struct swapfile_opts o = {.path = p, .size = size, .no_uring = no_uring};
	struct swapfile *s;

	ck_assert_msg(swapfile_open(&s, &o, err, sizeof(err)) == 0, "%s", err);
	return s;
}

static int open_err(const char *p, uint64_t size, struct swapfile **s)
{
	struct swapfile_opts o = {.path = p, .size = size};

	err[0] = 0;
	return swapfile_open(s, &o, err, sizeof(err));
}

static void *pages_alloc(unsigned n)
{
	void *p;

	ck_assert_int_eq(posix_memalign(&p, SWAPFILE_PAGE, (size_t)n * SWAPFILE_PAGE), 0);
	memset(p, 0, (size_t)n * SWAPFILE_PAGE);
	return p;
}

static void *page_at(void *base, unsigned i)
{
	return (char *)base + (size_t)i * SWAPFILE_PAGE;
}

/* Content no other (slot, generation) shares. */
static void fill(void *page, uint32_t slot, unsigned gen)
{
	uint32_t *w = page;

	for (unsigned i = 0; i < SWAPFILE_PAGE / 4; i++)
		w[i] = slot * 2654435761u ^ (i + gen * 40503u);
}

static void assert_err_has(const char *words)
{
	ck_assert_msg(strstr(err, words), "message \"%s\" lacks \"%s\"", err, words);
}

static struct swapfile_stats stats(const struct swapfile *s)
{
	struct swapfile_stats st;

	swapfile_get_stats(s, &st);
	return st;
}

/* What the test sees of O_DIRECT on dir: one aligned write accepted. */
static bool direct_works_in(const char *d)
{
	char p[128];
	void *buf = pages_alloc(1);
	int fd;
	bool ok;

	snprintf(p, sizeof(p), "%s/direct-probe", d);
	fd = open(p, O_RDWR | O_CREAT | O_DIRECT, 0600);
	ok = fd >= 0 && pwrite(fd, buf, SWAPFILE_PAGE, 0) == SWAPFILE_PAGE;
	if (fd >= 0)
		close(fd);
	unlink(p);
	free(buf);
	return ok;
}

/* 300 pages: a run of 200 slots from one buffer, 100 scattered ones from
 * scattered buffers, all read back into fresh buffers. */
#define RUN	  200
#define SCATTERED 100
#define TOTAL	  (RUN + SCATTERED)

static void round_trip(struct swapfile *s)
{
	static uint32_t slots[TOTAL];
	static void *out[TOTAL], *in[TOTAL];
	void *run = pages_alloc(RUN), *back = pages_alloc(TOTAL), *scattered[SCATTERED];
	struct swapfile_stats st;
	unsigned bad = 99;

	for (unsigned i = 0; i < TOTAL; i++) {
		slots[i] = i < RUN ? 3 + i : 1000 - 7 * (i - RUN);
		out[i] = i < RUN ? page_at(run, i) : (scattered[i - RUN] = pages_alloc(1));
		in[i] = page_at(back, TOTAL - 1 - i); /* not consecutive: one iovec each */
		fill(out[i], slots[i], 1);
	}
	ck_assert_msg(swapfile_write(s, slots, out, TOTAL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(swapfile_read(s, slots, in, TOTAL, &bad, err, sizeof(err)) == 0, "%s", err);
	for (unsigned i = 0; i < TOTAL; i++)
		ck_assert_msg(!memcmp(in[i], out[i], SWAPFILE_PAGE), "page %u (slot %u) differs", i,
			      slots[i]);
	st = stats(s);
	ck_assert_uint_eq(st.writes, 1);
	ck_assert_uint_eq(st.reads, 1);
	ck_assert_uint_eq(st.pages_written, TOTAL);
	ck_assert_uint_eq(st.pages_read, TOTAL);
	ck_assert_uint_eq(st.bytes_written, TOTAL * SWAPFILE_PAGE);
	ck_assert_uint_eq(st.bytes_read, TOTAL * SWAPFILE_PAGE);
	ck_assert_uint_eq(st.requests, 2 * (1 + SCATTERED)); /* the run is one request */
	ck_assert_uint_eq(st.checksum_failures, 0);
	ck_assert_uint_eq(st.io_errors, 0);
	ck_assert_uint_eq(st.read_ns.count, TOTAL);
	ck_assert_uint_gt(st.read_ns.sum, 0);
	for (unsigned i = 0; i < SCATTERED; i++)
		free(scattered[i]);
	free(run);
	free(back);
}

START_TEST(swapfile_round_trip_through_io_uring)
{
	struct swapfile *s = open_ok(path, 4 * MIB, false);
	struct swapfile_stats st;

	if (strcmp(swapfile_io_path(s), "io_uring")) {
		printf("SKIP: io_uring is refused here: %s\n", swapfile_notes(s));
		ck_assert_ptr_nonnull(strstr(swapfile_notes(s), "io_uring unavailable"));
		swapfile_close(s);
		return;
	}
	round_trip(s);
	st = stats(s);
	/* 101 requests a direction, 64 to a submission. */
	ck_assert_uint_eq(st.submissions, 4);
	swapfile_close(s);
}
END_TEST

START_TEST(swapfile_round_trip_through_sync_path)
{
	struct swapfile *s = open_ok(path, 4 * MIB, true);

	ck_assert_str_eq(swapfile_io_path(s), "sync");
	ck_assert_ptr_nonnull(strstr(swapfile_notes(s), "no_uring"));
	round_trip(s);
	ck_assert_uint_eq(stats(s).submissions, 2 * (1 + SCATTERED)); /* one syscall a request */
	swapfile_close(s);
}
END_TEST

START_TEST(swapfile_round_trip_in_each_mode)
{
	struct swapfile *s = open_mode(path, 4 * MIB, &modes[_i]);

	round_trip(s);
	swapfile_close(s);
}
END_TEST

/* Pages of the file in the page cache, by mincore on a mapping of it. */
static unsigned cached_pages(off_t len)
{
	unsigned char vec[1024];
	unsigned n = 0;
	int fd = open(path, O_RDONLY);
	void *map;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_le(len / SWAPFILE_PAGE, (off_t)sizeof(vec));
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(map, MAP_FAILED);
	ck_assert_int_eq(mincore(map, len, vec), 0);
	for (off_t i = 0; i < len / SWAPFILE_PAGE; i++)
		n += vec[i] & 1;
	munmap(map, len);
	close(fd);
	return n;
}

/* On tmpfs the page cache is where the file lives: nothing to drop. */
static bool path_on_tmpfs(void)
{
	struct statfs fs;

	return statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

START_TEST(swapfile_buffered_io_leaves_nothing_in_the_page_cache)
{
	struct swapfile *s = open_mode(path, 4 * MIB, &modes[_i]);

	ck_assert_ptr_nonnull(strstr(swapfile_notes(s), "no_direct"));
	round_trip(s);
	if (path_on_tmpfs())
		printf("SKIP: %s is on tmpfs, whose pages are the file: the page cache cannot be "
		       "dropped there\n",
		       dir);
	else
		ck_assert_uint_eq(cached_pages(4 * MIB), 0);
	swapfile_close(s);
}
END_TEST

START_TEST(swapfile_direct_matches_what_the_disk_allows)
{
	struct swapfile *s = open_ok(path, 4 * MIB, false);

	ck_assert_int_eq(swapfile_direct(s), direct_works_in(dir));
	ck_assert_int_eq(!strstr(swapfile_notes(s), "O_DIRECT refused"), swapfile_direct(s));
	round_trip(s);
	swapfile_close(s);
}
END_TEST

/* A tmpfs to try: /tmp, else /dev/shm. */
static const char *find_tmpfs(void)
{
	static const char *const candidates[] = {"/tmp", "/dev/shm"};
	struct statfs f;

	for (unsigned i = 0; i < 2; i++)
		if (statfs(candidates[i], &f) == 0 && f.f_type == TMPFS_MAGIC &&
		    access(candidates[i], W_OK) == 0)
			return candidates[i];
	return NULL;
}

START_TEST(swapfile_works_on_tmpfs_direct_or_buffered)
{
	const char *tmpfs = find_tmpfs();
	char tdir[64], tpath[96];
	struct swapfile *s;

	if (!tmpfs) {
		printf("SKIP: no writable tmpfs at /tmp or /dev/shm\n");
		return;
	}
	snprintf(tdir, sizeof(tdir), "%s/check_swapfile.XXXXXX", tmpfs);
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	snprintf(tpath, sizeof(tpath), "%s/swap", tdir);
	s = open_ok(tpath, 4 * MIB, false);
	/* tmpfs refuses O_DIRECT before Linux 6.6, takes it since. */
	ck_assert_int_eq(swapfile_direct(s), direct_works_in(tdir));
	round_trip(s);
	swapfile_close(s);
	ck_assert_int_eq(unlink(tpath), 0);
	ck_assert_int_eq(rmdir(tdir), 0);
}
END_TEST

/* Slots [first, first + n) written with fill(slot, 1), from one buffer. */
static void *write_run(struct swapfile *s, uint32_t first, unsigned n, uint32_t *slots,
		       void **pages)
{
	void *buf = pages_alloc(n);

	for (unsigned i = 0; i < n; i++) {
		slots[i] = first + i;
		pages[i] = page_at(buf, i);
		fill(pages[i], slots[i], 1);
	}
	ck_assert_msg(swapfile_write(s, slots, pages, n, err, sizeof(err)) == 0, "%s", err);
	return buf;
}

static void poke_file(off_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, data, len, off), (ssize_t)len);
	close(fd);
}

START_TEST(swapfile_read_catches_a_flipped_byte)
{
	struct swapfile *s = open_mode(path, MIB, &modes[_i]);
	uint32_t slots[8];
	void *pages[8];
	void *buf = write_run(s, 10, 8, slots, pages);
	unsigned char byte = ((unsigned char *)pages[3])[100] ^ 0x01;
	unsigned bad = 99;

	poke_file(13 * SWAPFILE_PAGE + 100, &byte, 1);
	memset(buf, 0, 8 * SWAPFILE_PAGE);
	ck_assert_int_eq(swapfile_read(s, slots, pages, 8, &bad, err, sizeof(err)), -EBADMSG);
	ck_assert_uint_eq(bad, 3);
	assert_err_has("swap file ");
	assert_err_has(path);
	assert_err_has("slot 13 (offset 53248): checksum mismatch (stored 0x");
	ck_assert_uint_eq(stats(s).checksum_failures, 1);
	ck_assert_uint_eq(stats(s).pages_read, 0);
	/* The others are fine on their own. */
	ck_assert_int_eq(swapfile_read(s, slots, pages, 3, &bad, err, sizeof(err)), 0);
	ck_assert_int_eq(swapfile_read(s, slots + 4, pages + 4, 4, &bad, err, sizeof(err)), 0);
	swapfile_close(s);
	free(buf);
}
END_TEST

START_TEST(swapfile_read_of_a_file_cut_short_fails_naming_the_offset)
{
	struct swapfile *s = open_mode(path, MIB, &modes[_i]);
	uint32_t slots[6];
	void *pages[6];
	void *buf = write_run(s, 250, 6, slots, pages);
	unsigned bad = 99;

	ck_assert_int_eq(truncate(path, 253 * SWAPFILE_PAGE), 0);
	ck_assert_int_eq(swapfile_read(s, slots, pages, 6, &bad, err, sizeof(err)), -EIO);
	ck_assert_uint_eq(bad, 3);
	assert_err_has("slot 253 (offset 1036288): short read");
	ck_assert_uint_eq(stats(s).io_errors, 1);
	swapfile_close(s);
	free(buf);
}
END_TEST

START_TEST(swapfile_second_open_of_one_file_is_refused)
{
	struct swapfile *a = open_ok(path, MIB, false), *b = NULL;

	ck_assert_int_eq(open_err(path, MIB, &b), -EBUSY);
	ck_assert_ptr_null(b);
	assert_err_has("cannot lock it: another process is using it (EWOULDBLOCK)");
	assert_err_has(path);
	swapfile_close(a);
	b = open_ok(path, MIB, false); /* closing let go of the lock */
	swapfile_close(b);
}
END_TEST

START_TEST(swapfile_refuses_a_size_not_a_multiple_of_4k)
{
	struct swapfile *s;

	ck_assert_int_eq(open_err(path, MIB + 512, &s), -EINVAL);
	assert_err_has("size 1049088 bytes is not a multiple of 4096");
	ck_assert_int_eq(access(path, F_OK), -1); /* nothing created */
}
END_TEST

START_TEST(swapfile_refuses_a_size_below_the_minimum)
{
	struct swapfile *s;

	ck_assert_int_eq(open_err(path, MIB - SWAPFILE_PAGE, &s), -EINVAL);
	assert_err_has("below the minimum of 1048576");
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(swapfile_refuses_size_zero_without_a_file)
{
	struct swapfile *s;

	ck_assert_int_eq(open_err(path, 0, &s), -ENOENT);
	assert_err_has("does not exist, and no size was given");
}
END_TEST

START_TEST(swapfile_refuses_a_path_in_a_missing_directory)
{
	char p[192];
	struct swapfile *s;

	snprintf(p, sizeof(p), "%s/no-such-dir/swap", dir);
	ck_assert_int_eq(open_err(p, MIB, &s), -ENOENT);
	assert_err_has("cannot create it: No such file or directory (a directory on its path is "
		       "missing)");
	assert_err_has(p);
}
END_TEST

START_TEST(swapfile_refuses_a_directory)
{
	struct swapfile *s;

	ck_assert_int_eq(open_err(dir, MIB, &s), -EINVAL);
	assert_err_has("is a directory, not a regular file or a block device");
}
END_TEST

START_TEST(swapfile_refuses_a_character_device)
{
	struct swapfile *s;

	ck_assert_int_eq(open_err("/dev/null", MIB, &s), -EINVAL);
	assert_err_has("swap file /dev/null: is something else, not a regular file");
}
END_TEST

/* A regular file this process cannot open for writing: one made 0444,
 * unless root's CAP_DAC_OVERRIDE writes it anyway, then a sysfs file
 * (read-only to root too). NULL if there is none. */
static const char *unwritable_file(void)
{
	static const char *const sysfs = "/sys/kernel/notes";
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT, 0444);

	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = open(path, O_RDWR);
	if (fd < 0 && errno == EACCES)
		return path;
	if (fd >= 0)
		close(fd);
	if (stat(sysfs, &st) || !S_ISREG(st.st_mode))
		return NULL;
	fd = open(sysfs, O_RDWR);
	if (fd < 0 && errno == EACCES)
		return sysfs;
	if (fd >= 0)
		close(fd);
	return NULL;
}

START_TEST(swapfile_refuses_a_file_it_cannot_write)
{
	const char *p = unwritable_file();
	struct swapfile *s;

	if (!p) {
		printf("SKIP: swapfile_refuses_a_file_it_cannot_write: this user writes a 0444 "
		       "file (root) and /sys/kernel/notes is not there to refuse it\n");
		return;
	}
	ck_assert_int_eq(open_err(p, MIB, &s), -EACCES);
	assert_err_has("cannot open it for reading and writing: Permission denied");
	assert_err_has(p);
}
END_TEST

START_TEST(swapfile_size_zero_takes_the_existing_files_size)
{
	struct swapfile *s;
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 2 * MIB + 100), 0); /* the 100 bytes are not a slot */
	close(fd);
	s = open_ok(path, 0, false);
	ck_assert_uint_eq(swapfile_slots(s), 512);
	ck_assert_str_eq(swapfile_path(s), path);
	swapfile_close(s);
}
END_TEST

static off_t file_size(void)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

START_TEST(swapfile_extends_a_short_file_and_uses_part_of_a_long_one)
{
	struct swapfile *s = open_ok(path, MIB, false);

	ck_assert_uint_eq(swapfile_slots(s), 256);
	ck_assert_int_eq(file_size(), MIB);
	swapfile_close(s);
	s = open_ok(path, 3 * MIB, false);
	ck_assert_uint_eq(swapfile_slots(s), 768);
	ck_assert_int_eq(file_size(), 3 * MIB);
	swapfile_close(s);
	s = open_ok(path, 2 * MIB, false);
	ck_assert_uint_eq(swapfile_slots(s), 512);
	ck_assert_int_eq(file_size(), 3 * MIB); /* left as long */
	swapfile_close(s);
	ck_assert_int_eq(access(path, F_OK), 0); /* close does not unlink */
}
END_TEST

START_TEST(swapfile_same_compares_with_the_slots_checksum)
{
	struct swapfile *s = open_ok(path, MIB, false);
	uint32_t slot = 5;
	void *page = pages_alloc(1), *back = pages_alloc(1);

	fill(page, slot, 1);
	ck_assert(!swapfile_same(s, slot, page)); /* never written */
	ck_assert_int_eq(swapfile_write(s, &slot, &page, 1, err, sizeof(err)), 0);
	ck_assert(swapfile_same(s, slot, page));
	ck_assert(!swapfile_same(s, slot + 1, page));
	ck_assert(!swapfile_same(s, 256, page)); /* past the end */
	ck_assert_uint_eq(swapfile_checksum(page), swapfile_checksum(page));
	((char *)page)[4095] ^= 1;
	ck_assert(!swapfile_same(s, slot, page));
	ck_assert_int_eq(swapfile_read(s, &slot, &back, 1, NULL, err, sizeof(err)), 0);
	ck_assert(swapfile_same(s, slot, back));
	free(page);
	free(back);
	swapfile_close(s);
}
END_TEST

START_TEST(swapfile_forget_leaves_the_slot_holding_nothing)
{
	struct swapfile *s = open_ok(path, MIB, false);
	uint32_t slot;
	void *page, *buf = write_run(s, 77, 1, &slot, &page);
	unsigned bad = 99;

	swapfile_forget(s, slot);
	ck_assert(!swapfile_same(s, slot, page));
	ck_assert_int_eq(swapfile_read(s, &slot, &page, 1, &bad, err, sizeof(err)), -ENODATA);
	ck_assert_uint_eq(bad, 0);
	assert_err_has("slot 77 (offset 315392): holds nothing");
	ck_assert_uint_eq(stats(s).reads, 0); /* refused before any I/O */
	free(buf);
	swapfile_close(s);
}
END_TEST

START_TEST(swapfile_refuses_bad_slots_and_buffers_before_any_io)
{
	struct swapfile *s = open_ok(path, MIB, false);
	uint32_t slots[2] = {4, 256};
	void *buf = pages_alloc(2), *pages[2] = {buf, page_at(buf, 1)};

	fill(pages[0], 4, 1);
	ck_assert_int_eq(swapfile_write(s, slots, pages, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(swapfile_write(s, slots, pages, 2, err, sizeof(err)), -EINVAL);
	assert_err_has("page 1: slot 256 is past the last slot (255)");
	slots[1] = 9;
	pages[1] = (char *)pages[1] + 512;
	ck_assert_int_eq(swapfile_write(s, slots, pages, 2, err, sizeof(err)), -EINVAL);
	assert_err_has("page 1 (slot 9): buffer");
	assert_err_has("is not 4 KiB aligned");
	ck_assert(swapfile_same(s, 4, pages[0])); /* slot 4 kept what it held */
	ck_assert_uint_eq(stats(s).writes, 1);
	free(buf);
	swapfile_close(s);
}
END_TEST

START_TEST(swapfile_two_files_in_one_process_are_independent)
{
	char p2[160];
	struct swapfile *a = open_ok(path, MIB, false), *b;
	uint32_t slot = 1;
	void *pa = pages_alloc(1), *pb = pages_alloc(1);

	snprintf(p2, sizeof(p2), "%s/swap2", dir);
	b = open_ok(p2, MIB, true);
	fill(pa, slot, 1);
	fill(pb, slot, 2);
	ck_assert_int_eq(swapfile_write(a, &slot, &pa, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(swapfile_write(b, &slot, &pb, 1, err, sizeof(err)), 0);
	ck_assert(swapfile_same(a, slot, pa) && !swapfile_same(a, slot, pb));
	ck_assert(swapfile_same(b, slot, pb) && !swapfile_same(b, slot, pa));
	ck_assert_uint_eq(stats(a).pages_written, 1);
	ck_assert_uint_eq(stats(b).pages_written, 1);
	swapfile_close(a);
	swapfile_close(b);
	free(pa);
	free(pb);
}
END_TEST

START_TEST(swapfile_probe_read_times_one_read)
{
	struct swapfile *s = open_ok(path, MIB, false);
	uint32_t slot;
	void *page, *buf = write_run(s, 0, 1, &slot, &page);

	ck_assert_int_gt(swapfile_probe_read_ns(s, 0), 0);
	ck_assert_int_gt(swapfile_probe_read_ns(s, 255), 0);
	ck_assert_int_eq(swapfile_probe_read_ns(s, 256), -EINVAL);
	ck_assert_uint_eq(stats(s).reads, 0); /* the probe counts nowhere */
	free(buf);
	swapfile_close(s);
}
END_TEST

static Suite *swapfile_suite(void)
{
	Suite *s = suite_create("swapfile");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, swapfile_round_trip_through_io_uring);
	tcase_add_test(tc, swapfile_round_trip_through_sync_path);
	tcase_add_loop_test(tc, swapfile_round_trip_in_each_mode, 0, NMODES);
	tcase_add_loop_test(tc, swapfile_buffered_io_leaves_nothing_in_the_page_cache, 2, NMODES);
	tcase_add_test(tc, swapfile_direct_matches_what_the_disk_allows);
	tcase_add_test(tc, swapfile_works_on_tmpfs_direct_or_buffered);
	tcase_add_loop_test(tc, swapfile_read_catches_a_flipped_byte, 0, NMODES);
	tcase_add_loop_test(tc, swapfile_read_of_a_file_cut_short_fails_naming_the_offset, 0,
			    NMODES);
	tcase_add_test(tc, swapfile_second_open_of_one_file_is_refused);
	tcase_add_test(tc, swapfile_refuses_a_size_not_a_multiple_of_4k);
	tcase_add_test(tc, swapfile_refuses_a_size_below_the_minimum);
	tcase_add_test(tc, swapfile_refuses_size_zero_without_a_file);
	tcase_add_test(tc, swapfile_refuses_a_path_in_a_missing_directory);
	tcase_add_test(tc, swapfile_refuses_a_directory);
	tcase_add_test(tc, swapfile_refuses_a_character_device);
	tcase_add_test(tc, swapfile_refuses_a_file_it_cannot_write);
	tcase_add_test(tc, swapfile_size_zero_takes_the_existing_files_size);
	tcase_add_test(tc, swapfile_extends_a_short_file_and_uses_part_of_a_long_one);
	tcase_add_test(tc, swapfile_same_compares_with_the_slots_checksum);
	tcase_add_test(tc, swapfile_forget_leaves_the_slot_holding_nothing);
	tcase_add_test(tc, swapfile_refuses_bad_slots_and_buffers_before_any_io);
	tcase_add_test(tc, swapfile_two_files_in_one_process_are_independent);
	tcase_add_test(tc, swapfile_probe_read_times_one_read);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(swapfile_suite());
}
