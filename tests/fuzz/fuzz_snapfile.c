/* tests/fuzz/fuzz_snapfile.c: libFuzzer target for the snapshot reader.
 *
 * The input is a snapshot file, written as DIR/snapshot in a directory of
 * this process. It must open or be refused with -EINVAL (or -ENOMEM); one
 * that opens must give every device and page entry back consistently
 * (names unique and findable, GPAs ascending and found by
 * snap_reader_find, the memory size its own), and every page must read as
 * 0 or -EBADMSG, a zero page as zeros. Never a crash or a sanitizer report.
 *
 * The metadata hash would stop nearly every mutation at open, so each
 * input is tried twice: as it is, and with the hash recomputed as
 * docs/snapshot-format.md defines it (XXH3-64 of the header block with
 * bytes 96-103 zero, then of bytes [dev_off, end)), so that the fuzzer
 * reaches what lies behind it. Seeds: snapfile-seeds.c.
 * Build and run: make -C tests fuzz (needs clang with libFuzzer).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "snapfile.h"

#define FUZZ_HEADER   4096
#define FUZZ_DEV_OFF  56
#define FUZZ_HASH_OFF 96

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_dir {
	char dir[128], file[160];
};

static void fuzz_remove(void);

/* One directory for the process, removed at exit: in $TMPDIR where set,
 * else on tmpfs (/dev/shm), where an input costs no disk write (25 times
 * the executions a second of an ext4 /tmp here). */
static struct fuzz_dir *fuzz_dir(void)
{
	static struct fuzz_dir d;

	if (!d.dir[0]) {
		const char *tmp = getenv("TMPDIR");

		if (!tmp)
			tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(d.dir, sizeof(d.dir), "%s/fuzz_snapfile.XXXXXX", tmp);
		if (!mkdtemp(d.dir))
			abort();
		snprintf(d.file, sizeof(d.file), "%s/" SNAP_FILE, d.dir);
		atexit(fuzz_remove);
	}
	return &d;
}

static void fuzz_remove(void)
{
	unlink(fuzz_dir()->file);
	rmdir(fuzz_dir()->dir);
}

static void fuzz_write(const uint8_t *data, size_t size)
{
	int fd = open(fuzz_dir()->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd))
		abort();
}

static void fuzz_check_devices(const struct snap_reader *r)
{
	for (unsigned i = 0; i < snap_reader_nr_devices(r); i++) {
		const void *buf, *found;
		const char *name;
		uint32_t version, v2;
		size_t len, l2;

		if (snap_reader_device_at(r, i, &name, &version, &buf, &len))
			abort();
		if (!*name || strlen(name) > SNAP_DEVICE_NAME_MAX || len > SNAP_MAX_DEVICE_BYTES)
			abort();
		if (snap_reader_device(r, name, &v2, &found, &l2) || found != buf || l2 != len ||
		    v2 != version)
			abort();
		if (len)
			(void)((volatile const uint8_t *)buf)[len - 1]; /* in bounds: ASan says */
	}
}

static void fuzz_check_pages(const struct snap_reader *r)
{
	static uint8_t page[SNAP_PAGE];
	uint64_t gpa, last = 0;
	enum snap_kind kind;
	char err[512];

	for (uint64_t i = 0; i < snap_reader_nr_pages(r); i++) {
		int ret;

		if (snap_reader_page_at(r, i, &gpa, &kind) || gpa % SNAP_PAGE ||
		    (i && gpa <= last) || snap_reader_find(r, gpa) != (int64_t)i)
			abort();
		last = gpa;
		ret = snap_reader_read_page(r, i, page, err, sizeof(err));
		if (ret && ret != -EBADMSG)
			abort();
		if (kind == SNAP_KIND_ZERO &&
		    (ret || page[0] || memcmp(page, page + 1, SNAP_PAGE - 1)))
			abort();
	}
}

static void fuzz_open(const uint8_t *data, size_t size)
{
	struct snap_reader *r;
	char err[512];
	int ret;

	fuzz_write(data, size);
	ret = snap_reader_open(&r, fuzz_dir()->dir, err, sizeof(err));
	if (ret) {
		if (ret != -EINVAL && ret != -ENOMEM)
			abort();
		return;
	}
	if (snap_reader_check_mem(r, snap_reader_mem_bytes(r), err, sizeof(err)))
		abort();
	fuzz_check_devices(r);
	fuzz_check_pages(r);
	snap_reader_close(r);
}

/* The input with its metadata hash made right, if the header says where
 * the metadata is; NULL if it cannot. */
static uint8_t *fuzz_reseal(const uint8_t *data, size_t size)
{
	XXH3_state_t *st;
	uint64_t dev_off, zero = 0, sum;
	uint8_t *copy;

	if (size < FUZZ_HEADER)
		return NULL;
	memcpy(&dev_off, data + FUZZ_DEV_OFF, sizeof(dev_off));
	if (dev_off > size)
		return NULL;
	copy = malloc(size);
	st = XXH3_createState();
	if (!copy || !st)
		abort();
	memcpy(copy, data, size);
	XXH3_64bits_reset(st);
	XXH3_64bits_update(st, copy, FUZZ_HASH_OFF);
	XXH3_64bits_update(st, &zero, sizeof(zero));
	XXH3_64bits_update(st, copy + FUZZ_HASH_OFF + 8, FUZZ_HEADER - FUZZ_HASH_OFF - 8);
	XXH3_64bits_update(st, copy + dev_off, size - dev_off);
	sum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	memcpy(copy + FUZZ_HASH_OFF, &sum, sizeof(sum));
	return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *sealed;

	fuzz_open(data, size);
	sealed = fuzz_reseal(data, size);
	if (sealed) {
		fuzz_open(sealed, size);
		free(sealed);
	}
	return 0;
}
