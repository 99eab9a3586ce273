/* tests/check_gk_cpio.c: the guest kernel's cpio "newc" parser
 * (guest-kernel/gk_cpio.c, built for the host). A valid archive is walked
 * entry by entry; each fixture then breaks one thing, which must be
 * refused with a reason; random archives parse to what was written, and
 * every truncation of them is refused without a read past its end (run
 * under --enable-sanitizers, ASan sees each one in a buffer of its exact
 * size); and what cpio(1) writes is read, where cpio is installed. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "gk_cpio.h"

#define ARCHIVE_MAX (1 << 18)

struct archive {
	uint8_t buf[ARCHIVE_MAX];
	size_t len;
};

static struct archive ar;

static void pad4(struct archive *a)
{
	while (a->len % 4)
		a->buf[a->len++] = 0;
}

/* One entry as cpio -H newc writes it; namesize counts the NUL. */
static void put_entry(struct archive *a, const char *name, uint32_t mode, const void *data,
		      size_t size)
{
	size_t namesize = strlen(name) + 1;

	a->len += (size_t)sprintf((char *)a->buf + a->len,
				  "070701%08x%08x%08x%08x%08x%08x%08zx%08x%08x%08x%08x%08zx%08x", 1,
				  mode, 0, 0, 1, 0, size, 0, 0, 0, 0, namesize, 0);
	memcpy(a->buf + a->len, name, namesize);
	a->len += namesize;
	pad4(a);
	memcpy(a->buf + a->len, data, size);
	a->len += size;
	pad4(a);
}

static void put_trailer(struct archive *a)
{
	put_entry(a, "TRAILER!!!", 0, "", 0);
}

/* The header field i of the entry at off (6 + 8 i from its start). */
static char *field(struct archive *a, size_t off, unsigned i)
{
	return (char *)a->buf + off + 6 + 8 * i;
}

static void setup(void)
{
	memset(&ar, 0, sizeof(ar));
	put_entry(&ar, "dir", 0040755, "", 0);
	put_entry(&ar, "dir/a", 0100644, "hello", 5);
	put_entry(&ar, "b", 0100600, "0123456789abcdef", 16);
	put_trailer(&ar);
}

/* Walk the archive; the result of the last step, *why on a refusal. */
static int walk(const uint8_t *a, size_t len, unsigned *entries, const char **why)
{
	struct gk_cpio_entry e;
	uint64_t off = 0;
	int ret;

	*entries = 0;
	while ((ret = gk_cpio_next(a, len, &off, &e, why)) > 0)
		(*entries)++;
	return ret;
}

START_TEST(cpio_walks_every_entry_of_a_valid_archive)
{
	struct gk_cpio_entry e;
	const char *why = NULL;
	uint64_t off = 0;

	ck_assert(gk_cpio_magic(ar.buf, ar.len));
	ck_assert_int_eq(gk_cpio_next(ar.buf, ar.len, &off, &e, &why), 1);
	ck_assert_str_eq(e.name, "dir");
	ck_assert_uint_eq(e.mode & CPIO_S_IFMT, 0040000);
	ck_assert_int_eq(gk_cpio_next(ar.buf, ar.len, &off, &e, &why), 1);
	ck_assert_str_eq(e.name, "dir/a");
	ck_assert_uint_eq(e.mode & CPIO_S_IFMT, CPIO_S_IFREG);
	ck_assert_uint_eq(e.size, 5);
	ck_assert_mem_eq(e.data, "hello", 5);
	ck_assert_int_eq(gk_cpio_next(ar.buf, ar.len, &off, &e, &why), 1);
	ck_assert_str_eq(e.name, "b");
	ck_assert_uint_eq(e.size, 16);
	ck_assert_int_eq(gk_cpio_next(ar.buf, ar.len, &off, &e, &why), 0);
	ck_assert_ptr_null(why);
}
END_TEST

static void expect_refused(const char *reason)
{
	const char *why = NULL;
	unsigned n;

	ck_assert_int_eq(walk(ar.buf, ar.len, &n, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, reason));
}

START_TEST(cpio_refuses_bad_magic)
{
	ar.buf[5] = '7'; /* 070707 is the old portable format */
	ck_assert(!gk_cpio_magic(ar.buf, ar.len));
	expect_refused("newc magic");
}
END_TEST

START_TEST(cpio_refuses_a_field_that_is_not_hex)
{
	field(&ar, 0, 6)[3] = 'g'; /* filesize */
	expect_refused("not 8 hex digits");
}
END_TEST

START_TEST(cpio_refuses_a_name_past_the_end)
{
	memcpy(field(&ar, 0, 11), "7fffffff", 8); /* namesize */
	expect_refused("entry name runs past the archive");
}
END_TEST

START_TEST(cpio_refuses_a_name_without_its_nul)
{
	memcpy(field(&ar, 0, 11), "00000003", 8); /* "dir" without the NUL */
	expect_refused("one NUL-terminated string");
}
END_TEST

START_TEST(cpio_refuses_an_empty_name)
{
	memcpy(field(&ar, 0, 11), "00000000", 8);
	expect_refused("entry name runs past the archive (or is empty");
}
END_TEST

START_TEST(cpio_refuses_data_past_the_end)
{
	size_t second = 116; /* after "dir": 110 + 4 bytes of name, padded to 4 */

	memcpy(field(&ar, second, 6), "00100000", 8);
	expect_refused("entry data runs past the archive");
}
END_TEST

START_TEST(cpio_refuses_an_archive_without_a_trailer)
{
	ar.len = 0;
	put_entry(&ar, "a", 0100644, "x", 1);
	expect_refused("without a TRAILER!!! entry");
}
END_TEST

START_TEST(cpio_takes_the_crc_variant)
{
	ar.buf[5] = '2';
	ck_assert(gk_cpio_magic(ar.buf, ar.len));
	{
		const char *why = NULL;
		unsigned n;

		ck_assert_int_eq(walk(ar.buf, ar.len, &n, &why), 0);
		ck_assert_uint_eq(n, 3);
	}
}
END_TEST

/* Random archives: what was put is what is read; every cut is refused,
 * in a buffer of exactly its size. */
START_TEST(cpio_random_archives_parse_back_and_every_cut_is_refused)
{
	static uint8_t data[3000];
	char names[8][32];
	size_t sizes[8];

	srandom(testlib_seed("cpio_random_archives_parse_back_and_every_cut_is_refused",
			     "GK_CPIO_TEST_SEED"));
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)random();
	for (int round = 0; round < 200; round++) {
		unsigned n = random() % 8, got;
		struct gk_cpio_entry e;
		const char *why = NULL;
		uint64_t off = 0;

		ar.len = 0;
		for (unsigned i = 0; i < n; i++) {
			snprintf(names[i], sizeof(names[i]), "f%u-%ld", i, random() % 100000);
			sizes[i] =
			    random() % 3 ? (size_t)random() % sizeof(data) : (size_t)random() % 5;
			put_entry(&ar, names[i], 0100644, data + i, sizes[i]);
		}
		put_trailer(&ar);
		for (unsigned i = 0; i < n; i++) {
			ck_assert_int_eq(gk_cpio_next(ar.buf, ar.len, &off, &e, &why), 1);
			ck_assert_str_eq(e.name, names[i]);
			ck_assert_uint_eq(e.size, sizes[i]);
			ck_assert(!memcmp(e.data, data + i, sizes[i]));
		}
		ck_assert_int_eq(gk_cpio_next(ar.buf, ar.len, &off, &e, &why), 0);
		for (size_t cut = 0; cut < ar.len; cut += 1 + random() % 7) {
			uint8_t *copy = malloc(cut ? cut : 1);

			memcpy(copy, ar.buf, cut);
			/* The trailer is the last entry: any cut before its end loses it. */
			if (walk(copy, cut, &got, &why) != -EINVAL)
				ck_abort_msg("round %d: a cut at %zu of %zu was not refused", round,
					     cut, ar.len);
			free(copy);
		}
	}
}
END_TEST

START_TEST(cpio_reads_what_cpio_writes)
{
	char dir[] = "/tmp/gk-cpio-XXXXXX", cmd[512], path[600];
	struct gk_cpio_entry e;
	const char *why = NULL;
	uint64_t off = 0;
	unsigned files = 0;
	FILE *f;

	if (system("command -v cpio >/dev/null 2>&1") != 0) {
		fprintf(stderr, "cpio_reads_what_cpio_writes: cpio(1) is not installed; not run\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/one", dir);
	f = fopen(path, "w");
	fputs("one file\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir sub && printf 'x%%.0s' $(seq 5000) > sub/two && "
		 "find . | cpio -o -H newc --quiet > %s.cpio",
		 dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s.cpio", dir);
	f = fopen(path, "r");
	ar.len = fread(ar.buf, 1, sizeof(ar.buf), f);
	fclose(f);
	while (gk_cpio_next(ar.buf, ar.len, &off, &e, &why) > 0) {
		if ((e.mode & CPIO_S_IFMT) != CPIO_S_IFREG)
			continue;
		files++;
		if (!strcmp(e.name, "./one"))
			ck_assert_mem_eq(e.data, "one file\n", 9);
		else if (!strcmp(e.name, "./sub/two"))
			ck_assert_uint_eq(e.size, 5000);
	}
	ck_assert_ptr_null(why);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s.cpio", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_uint_eq(files, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gk_cpio");
	TCase *tc = tcase_create("cpio");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cpio_walks_every_entry_of_a_valid_archive);
	tcase_add_test(tc, cpio_refuses_bad_magic);
	tcase_add_test(tc, cpio_refuses_a_field_that_is_not_hex);
	tcase_add_test(tc, cpio_refuses_a_name_past_the_end);
	tcase_add_test(tc, cpio_refuses_a_name_without_its_nul);
	tcase_add_test(tc, cpio_refuses_an_empty_name);
	tcase_add_test(tc, cpio_refuses_data_past_the_end);
	tcase_add_test(tc, cpio_refuses_an_archive_without_a_trailer);
	tcase_add_test(tc, cpio_takes_the_crc_variant);
	tcase_add_test(tc, cpio_random_archives_parse_back_and_every_cut_is_refused);
	tcase_add_test(tc, cpio_reads_what_cpio_writes);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
