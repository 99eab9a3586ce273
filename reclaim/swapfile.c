/* reclaim/swapfile.c: the swap file, see swapfile.h.
 *
 * A call's pages become requests: a run of consecutive slots is one
 * vectored request (up to SWAPFILE_RUN_MAX pages), adjacent buffers one
 * iovec. The requests go out in one io_uring submission per queue depth,
 * or one preadv/pwritev each on the sync path, and are judged once all
 * have completed, in page order, so the first failing page is the one
 * reported.
 */
#include "swapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "histo.h"

#define SWAPFILE_RUN_MAX   256	 /* pages a request: well under IOV_MAX (1024) */
#define SWAPFILE_DEPTH_MAX 32768 /* io_uring's IORING_MAX_ENTRIES */

struct swapfile {
	int fd;
	char *path;
	uint64_t size;
	uint32_t slots;
	bool direct;
	bool uring;
	struct io_uring ring;
	unsigned depth;
	uint64_t *sum;	/* per slot: XXH3-64 of what it holds */
	uint64_t *held; /* bitmap: the slot holds a page, so sum is valid */
	char notes[256];
	struct swapfile_stats st;
};

/* One request: pages [first, first + count) of the call, at off. */
struct swapfile_req {
	unsigned first, count;
	uint64_t off;
	struct iovec *iov;
	int iovcnt;
	int64_t res; /* bytes, or -errno */
	uint64_t ns; /* from submission to completion */
	bool done;
};

struct swapfile_batch {
	const uint32_t *slots;
	void *const *pages;
	unsigned n;
	bool write;
	struct swapfile_req *req;
	unsigned nreq;
	struct iovec *iov;
	bool issued; /* requests were made: the slots' old contents may be gone */
};

static int swapfile_fail(char *err, size_t errlen, int ret, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int swapfile_fail(char *err, size_t errlen, int ret, const char *path, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (!err || !errlen)
		return ret;
	len = snprintf(err, errlen, "swap file %s: ", path);
	if (len >= 0 && (size_t)len < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + len, errlen - len, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static void swapfile_note(struct swapfile *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void swapfile_note(struct swapfile *s, const char *fmt, ...)
{
	size_t len = strlen(s->notes);
	va_list ap;

	if (len && len + 1 < sizeof(s->notes))
		s->notes[len++] = ' ';
	va_start(ap, fmt);
	vsnprintf(s->notes + len, sizeof(s->notes) - len, fmt, ap);
	va_end(ap);
}

/* ---- opening ---- */

static int swapfile_check_opts(const struct swapfile_opts *o, char *err, size_t errlen)
{
	if (!o->path || !*o->path)
		return swapfile_fail(err, errlen, -EINVAL, "(none)", "no path given");
	if (o->size % SWAPFILE_PAGE)
		return swapfile_fail(err, errlen, -EINVAL, o->path,
				     "size %llu bytes is not a multiple of %d",
				     (unsigned long long)o->size, SWAPFILE_PAGE);
	if (o->size && o->size < SWAPFILE_MIN_BYTES)
		return swapfile_fail(err, errlen, -EINVAL, o->path,
				     "size %llu bytes is below the minimum of %llu (1 MiB)",
				     (unsigned long long)o->size, SWAPFILE_MIN_BYTES);
	if (o->size > SWAPFILE_MAX_BYTES)
		return swapfile_fail(err, errlen, -EINVAL, o->path,
				     "size %llu bytes is above the maximum of %llu (32-bit slots)",
				     (unsigned long long)o->size,
				     (unsigned long long)SWAPFILE_MAX_BYTES);
	if (o->queue_depth > SWAPFILE_DEPTH_MAX)
		return swapfile_fail(err, errlen, -EINVAL, o->path,
				     "queue depth %u is above io_uring's maximum of %d",
				     o->queue_depth, SWAPFILE_DEPTH_MAX);
	return 0;
}

static int swapfile_check_type(const struct stat *st, const char *path, char *err, size_t errlen)
{
	if (S_ISREG(st->st_mode) || S_ISBLK(st->st_mode))
		return 0;
	return swapfile_fail(err, errlen, -EINVAL, path,
			     "is %s, not a regular file or a block device",
			     S_ISDIR(st->st_mode) ? "a directory" : "something else");
}

/* Open path for reading and writing; create it (*created) if it is
 * missing and a size was given. Looked at before opening, so that a FIFO
 * or a character device is refused without opening it. */
static int swapfile_open_fd(const struct swapfile_opts *o, bool *created, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	*created = false;
	if (stat(o->path, &st) == 0) {
		int ret = swapfile_check_type(&st, o->path, err, errlen);

		if (ret)
			return ret;
	} else if (errno == ENOENT && o->size) {
		fd = open(o->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*created = true;
			return fd;
		}
		if (errno != EEXIST) {
			int ret = -errno;

			return swapfile_fail(
			    err, errlen, ret, o->path, "cannot create it: %s%s", strerror(-ret),
			    ret == -ENOENT ? " (a directory on its path is missing)" : "");
		}
	} else if (errno == ENOENT) {
		return swapfile_fail(err, errlen, -ENOENT, o->path,
				     "does not exist, and no size was given to create it with");
	}
	fd = open(o->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int ret = -errno;

		return swapfile_fail(err, errlen, ret, o->path,
				     "cannot open it for reading and writing: %s", strerror(-ret));
	}
	return fd;
}

static int swapfile_lock(struct swapfile *s, char *err, size_t errlen)
{
	int ret;

	if (flock(s->fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	ret = -errno;
	if (ret == -EWOULDBLOCK)
		return swapfile_fail(err, errlen, -EBUSY, s->path,
				     "cannot lock it: another process is using it (EWOULDBLOCK)");
	return swapfile_fail(err, errlen, ret, s->path, "cannot lock it: %s", strerror(-ret));
}

/* A block device has the size it has. */
static int swapfile_size_device(struct swapfile *s, uint64_t want, char *err, size_t errlen)
{
	uint64_t bytes;

	if (ioctl(s->fd, BLKGETSIZE64, &bytes) < 0) {
		int ret = -errno;

		return swapfile_fail(err, errlen, ret, s->path, "cannot read the device's size: %s",
				     strerror(-ret));
	}
	if (want && bytes < want)
		return swapfile_fail(err, errlen, -EINVAL, s->path,
				     "the device holds %llu bytes, less than the %llu asked for",
				     (unsigned long long)bytes, (unsigned long long)want);
	s->size = want ? want : bytes & ~(uint64_t)(SWAPFILE_PAGE - 1);
	return 0;
}

/* Allocate the blocks now, so that a full disk is an error at open and
 * not on the reclaim path, and O_DIRECT writes find their extents. */
static int swapfile_size_file(struct swapfile *s, const struct stat *st, uint64_t want, char *err,
			      size_t errlen)
{
	int ret;

	s->size = want ? want : (uint64_t)st->st_size & ~(uint64_t)(SWAPFILE_PAGE - 1);
	if (!want)
		return 0; /* an existing file as it is */
	/* tmpfs gives up a large fallocate on any signal (EINTR): again. */
	do
		ret = fallocate(s->fd, 0, 0, want) ? -errno : 0;
	while (ret == -EINTR);
	if (!ret)
		return 0;
	if (ret == -ENOSPC)
		return swapfile_fail(err, errlen, ret, s->path,
				     "no space on its file system for %llu bytes",
				     (unsigned long long)want);
	if (ret != -EOPNOTSUPP)
		return swapfile_fail(err, errlen, ret, s->path, "cannot allocate %llu bytes: %s",
				     (unsigned long long)want, strerror(-ret));
	if ((uint64_t)st->st_size < want && ftruncate(s->fd, want) < 0) {
		ret = -errno;
		return swapfile_fail(err, errlen, ret, s->path,
				     "cannot extend it to %llu bytes: %s", (unsigned long long)want,
				     strerror(-ret));
	}
	return 0;
}

static int swapfile_size(struct swapfile *s, uint64_t want, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	if (fstat(s->fd, &st) < 0) {
		ret = -errno;
		return swapfile_fail(err, errlen, ret, s->path, "fstat: %s", strerror(-ret));
	}
	ret = swapfile_check_type(&st, s->path, err, errlen); /* it may have changed since stat */
	if (!ret)
		ret = S_ISBLK(st.st_mode) ? swapfile_size_device(s, want, err, errlen)
					  : swapfile_size_file(s, &st, want, err, errlen);
	if (ret)
		return ret;
	if (s->size > SWAPFILE_MAX_BYTES)
		s->size = SWAPFILE_MAX_BYTES;
	if (s->size < SWAPFILE_MIN_BYTES)
		return swapfile_fail(err, errlen, -EINVAL, s->path,
				     "it holds %llu bytes, below the minimum of %llu (1 MiB)",
				     (unsigned long long)s->size, SWAPFILE_MIN_BYTES);
	s->slots = s->size / SWAPFILE_PAGE;
	return 0;
}

/* One 4 KiB write and read back at offset 0: some file systems accept
 * O_DIRECT in fcntl and refuse it on I/O (EINVAL). 1: O_DIRECT works,
 * 0: refused, or -errno if the file does not take I/O at all. */
static int swapfile_probe_direct(struct swapfile *s, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	ssize_t r;
	int ret, e;

	if (posix_memalign((void **)&buf, SWAPFILE_PAGE, 2 * SWAPFILE_PAGE))
		return swapfile_fail(err, errlen, -ENOMEM, s->path, "out of memory");
	for (unsigned i = 0; i < SWAPFILE_PAGE; i++)
		buf[i] = (unsigned char)(i * 7 + 1);
	r = pwrite(s->fd, buf, SWAPFILE_PAGE, 0);
	if (r == SWAPFILE_PAGE)
		r = pread(s->fd, buf + SWAPFILE_PAGE, SWAPFILE_PAGE, 0);
	e = errno;
	if (r < 0 && e == EINVAL) {
		ret = 0;
	} else if (r < 0) {
		ret = swapfile_fail(err, errlen, -e, s->path, "probe I/O at offset 0 failed: %s",
				    strerror(e));
	} else if (r != SWAPFILE_PAGE || memcmp(buf, buf + SWAPFILE_PAGE, SWAPFILE_PAGE)) {
		ret = swapfile_fail(err, errlen, -EIO, s->path,
				    "probe at offset 0 did not read back the 4 KiB it wrote");
	} else {
		ret = 1;
	}
	free(buf);
	return ret;
}

static int swapfile_setup_direct(struct swapfile *s, bool no_direct, char *err, size_t errlen)
{
	int flags = fcntl(s->fd, F_GETFL), ret = 0;

	if (no_direct) {
		swapfile_note(s, "O_DIRECT not used (no_direct): buffered I/O, dropped from the "
				 "page cache after each batch.");
		return 0;
	}
	if (flags >= 0 && fcntl(s->fd, F_SETFL, flags | O_DIRECT) == 0) {
		ret = swapfile_probe_direct(s, err, errlen);
		if (ret < 0)
			return ret;
		if (!ret)
			fcntl(s->fd, F_SETFL, flags); /* back to buffered */
	}
	s->direct = ret == 1;
	if (!s->direct)
		swapfile_note(s, "O_DIRECT refused (EINVAL): buffered I/O, dropped from the page "
				 "cache after each batch.");
	return 0;
}

static void swapfile_setup_uring(struct swapfile *s, const struct swapfile_opts *o)
{
	int ret;

	s->depth = o->queue_depth ? o->queue_depth : SWAPFILE_DEFAULT_DEPTH;
	if (o->no_uring) {
		swapfile_note(s, "io_uring not used (no_uring): preadv/pwritev.");
		return;
	}
	ret = io_uring_queue_init(s->depth, &s->ring, 0);
	s->uring = ret == 0;
	if (!s->uring)
		swapfile_note(s, "io_uring unavailable (%s): preadv/pwritev.", strerror(-ret));
}

static int swapfile_alloc(struct swapfile *s, char *err, size_t errlen)
{
	/* calloc of many slots comes from mmap: untouched parts cost nothing. */
	s->sum = calloc(s->slots, sizeof(*s->sum));
	s->held = calloc((s->slots + 63) / 64, sizeof(*s->held));
	if (!s->sum || !s->held)
		return swapfile_fail(err, errlen, -ENOMEM, s->path,
				     "out of memory for the checksums of %u slots", s->slots);
	return 0;
}

int swapfile_open(struct swapfile **out, const struct swapfile_opts *o, char *err, size_t errlen)
{
	struct swapfile *s;
	bool created = false;
	int ret;

	*out = NULL;
	ret = swapfile_check_opts(o, err, errlen);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(o->path))) {
		free(s);
		return swapfile_fail(err, errlen, -ENOMEM, o->path, "out of memory");
	}
	s->fd = swapfile_open_fd(o, &created, err, errlen);
	if (s->fd < 0) {
		ret = s->fd;
		goto out_free;
	}
	ret = swapfile_lock(s, err, errlen);
	if (!ret)
		ret = swapfile_size(s, o->size, err, errlen);
	if (!ret)
		ret = swapfile_setup_direct(s, o->no_direct, err, errlen);
	if (!ret)
		ret = swapfile_alloc(s, err, errlen);
	if (ret)
		goto out_close;
	swapfile_setup_uring(s, o);
	*out = s;
	return 0;

out_close:
	if (created)
		unlink(s->path); /* only what this call made */
	close(s->fd);
out_free:
	free(s->sum);
	free(s->held);
	free(s->path);
	free(s);
	return ret;
}

void swapfile_close(struct swapfile *s)
{
	if (!s)
		return;
	if (s->uring)
		io_uring_queue_exit(&s->ring);
	close(s->fd); /* drops the flock */
	free(s->sum);
	free(s->held);
	free(s->path);
	free(s);
}

uint32_t swapfile_slots(const struct swapfile *s)
{
	return s->slots;
}

const char *swapfile_path(const struct swapfile *s)
{
	return s->path;
}

const char *swapfile_io_path(const struct swapfile *s)
{
	return s->uring ? "io_uring" : "sync";
}

bool swapfile_direct(const struct swapfile *s)
{
	return s->direct;
}

const char *swapfile_notes(const struct swapfile *s)
{
	return s->notes;
}

/* ---- checksums ---- */

uint64_t swapfile_checksum(const void *page)
{
	return XXH3_64bits(page, SWAPFILE_PAGE);
}

static bool swapfile_holds(const struct swapfile *s, uint32_t slot)
{
	return slot < s->slots && (s->held[slot / 64] >> (slot % 64) & 1);
}

static void swapfile_remember(struct swapfile *s, uint32_t slot, uint64_t sum)
{
	s->sum[slot] = sum;
	s->held[slot / 64] |= 1ULL << (slot % 64);
}

bool swapfile_same(const struct swapfile *s, uint32_t slot, const void *page)
{
	return swapfile_holds(s, slot) && s->sum[slot] == swapfile_checksum(page);
}

void swapfile_forget(struct swapfile *s, uint32_t slot)
{
	if (slot >= s->slots)
		return;
	s->held[slot / 64] &= ~(1ULL << (slot % 64));
	s->sum[slot] = 0;
}

/* ---- batches ---- */

static uint64_t swapfile_off(uint32_t slot)
{
	return (uint64_t)slot * SWAPFILE_PAGE;
}

static int swapfile_check_batch(const struct swapfile *s, const struct swapfile_batch *b,
				unsigned *bad, char *err, size_t errlen)
{
	for (unsigned i = 0; i < b->n; i++) {
		*bad = i;
		if (b->slots[i] >= s->slots)
			return swapfile_fail(err, errlen, -EINVAL, s->path,
					     "page %u: slot %u is past the last slot (%u)", i,
					     b->slots[i], s->slots - 1);
		if ((uintptr_t)b->pages[i] % SWAPFILE_PAGE)
			return swapfile_fail(err, errlen, -EINVAL, s->path,
					     "page %u (slot %u): buffer %p is not 4 KiB aligned", i,
					     b->slots[i], b->pages[i]);
		if (!b->write && !swapfile_holds(s, b->slots[i]))
			return swapfile_fail(err, errlen, -ENODATA, s->path,
					     "slot %u (offset %llu): holds nothing (never written, "
					     "or forgotten)",
					     b->slots[i],
					     (unsigned long long)swapfile_off(b->slots[i]));
	}
	return 0;
}

/* Group the call's pages into requests. */
static int swapfile_plan(struct swapfile_batch *b)
{
	struct swapfile_req *r = NULL;

	b->req = calloc(b->n, sizeof(*b->req));
	b->iov = calloc(b->n, sizeof(*b->iov));
	if (!b->req || !b->iov)
		return -ENOMEM;
	b->nreq = 0;
	for (unsigned i = 0, v = 0; i < b->n; i++) {
		char *page = b->pages[i];

		if (!r || b->slots[i] != b->slots[i - 1] + 1 || r->count == SWAPFILE_RUN_MAX) {
			r = &b->req[b->nreq++];
			*r = (struct swapfile_req){
			    .first = i, .off = swapfile_off(b->slots[i]), .iov = &b->iov[v]};
		}
		if (r->iovcnt &&
		    (char *)r->iov[r->iovcnt - 1].iov_base + r->iov[r->iovcnt - 1].iov_len ==
			page) {
			r->iov[r->iovcnt - 1].iov_len += SWAPFILE_PAGE;
		} else {
			r->iov[r->iovcnt++] = (struct iovec){page, SWAPFILE_PAGE};
			v++;
		}
		r->count++;
	}
	return 0;
}

static void swapfile_run_sync(struct swapfile *s, struct swapfile_batch *b, unsigned from)
{
	for (unsigned i = from; i < b->nreq; i++) {
		struct swapfile_req *r = &b->req[i];
		uint64_t t0 = histo_now_ns();
		ssize_t got;

		do {
			got = b->write ? pwritev(s->fd, r->iov, r->iovcnt, r->off)
				       : preadv(s->fd, r->iov, r->iovcnt, r->off);
		} while (got < 0 && errno == EINTR);
		r->res = got < 0 ? -errno : got;
		r->ns = histo_now_ns() - t0;
		s->st.submissions++;
	}
}

/* Stop using io_uring after it failed under us: the rest goes sync. */
static void swapfile_uring_broken(struct swapfile *s, int ret)
{
	io_uring_queue_exit(&s->ring); /* drops any request queued but not submitted */
	s->uring = false;
	swapfile_note(s, "io_uring failed (%s) during I/O: preadv/pwritev from then on.",
		      strerror(-ret));
}

/* Submit requests [from, from + k) and wait for those submitted; their
 * number is returned. *ret: 0, or -errno if the ring failed; requests
 * past the ones returned were not made. */
static unsigned swapfile_uring_chunk(struct swapfile *s, struct swapfile_batch *b, unsigned from,
				     unsigned k, int *ret)
{
	unsigned queued = 0, sent = 0, seen = 0;
	uint64_t t0;

	*ret = 0;
	for (unsigned i = from; i < from + k; i++, queued++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
		struct swapfile_req *r = &b->req[i];

		if (!sqe)
			break; /* cannot happen: k is at most the ring's size */
		if (b->write)
			io_uring_prep_writev(sqe, s->fd, r->iov, r->iovcnt, r->off);
		else
			io_uring_prep_readv(sqe, s->fd, r->iov, r->iovcnt, r->off);
		io_uring_sqe_set_data64(sqe, i);
	}
	t0 = histo_now_ns();
	while (sent < queued) {
		int got = io_uring_submit(&s->ring);

		if (got == -EINTR)
			continue;
		if (got <= 0) {
			*ret = got ? got : -EAGAIN;
			break;
		}
		s->st.submissions++;
		sent += got;
	}
	if (queued < k && !*ret)
		*ret = -EAGAIN;
	while (seen < sent) {
		struct io_uring_cqe *cqe;
		int w = io_uring_wait_cqe(&s->ring, &cqe);
		struct swapfile_req *r;

		if (w == -EINTR)
			continue;
		if (w < 0) {
			/* Cannot happen on a sane ring: the requests still out
			 * are reported failed and the ring is torn down. */
			for (unsigned i = from; i < from + sent; i++)
				if (!b->req[i].done)
					b->req[i].res = w;
			*ret = w;
			return sent;
		}
		r = &b->req[cqe->user_data];
		r->res = cqe->res;
		r->ns = histo_now_ns() - t0;
		r->done = true;
		io_uring_cqe_seen(&s->ring, cqe);
		seen++;
	}
	return sent;
}

static void swapfile_run(struct swapfile *s, struct swapfile_batch *b)
{
	unsigned done = 0;

	b->issued = true;
	while (s->uring && done < b->nreq) {
		unsigned k = b->nreq - done < s->depth ? b->nreq - done : s->depth;
		int ret;

		done += swapfile_uring_chunk(s, b, done, k, &ret);
		if (ret < 0)
			swapfile_uring_broken(s, ret);
	}
	swapfile_run_sync(s, b, done);
}

/* Without O_DIRECT: write the batch back and drop it from the page cache,
 * so that swapped pages do not stay in memory twice. A writeback error is
 * the request's error: the data would be lost with the cache page. */
static void swapfile_drop_cache(struct swapfile *s, struct swapfile_batch *b)
{
	unsigned flags =
	    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;

	if (s->direct)
		return;
	for (unsigned i = 0; i < b->nreq; i++) {
		struct swapfile_req *r = &b->req[i];
		off_t len = (off_t)r->count * SWAPFILE_PAGE;

		if (b->write && r->res > 0 && sync_file_range(s->fd, r->off, len, flags) < 0)
			r->res = -errno;
		posix_fadvise(s->fd, r->off, len, POSIX_FADV_DONTNEED);
	}
}

/* Whether page p of request r came through; if not, say why. */
static int swapfile_judge_io(struct swapfile *s, const struct swapfile_batch *b,
			     const struct swapfile_req *r, unsigned p, char *err, size_t errlen)
{
	uint64_t need = (uint64_t)(p - r->first + 1) * SWAPFILE_PAGE;
	uint64_t off = swapfile_off(b->slots[p]);
	const char *what = b->write ? "write" : "read";

	if (r->res >= 0 && (uint64_t)r->res >= need)
		return 0;
	if (r->res < 0)
		return swapfile_fail(err, errlen, (int)r->res, s->path,
				     "slot %u (offset %llu): %s failed: %s", b->slots[p],
				     (unsigned long long)off, what, strerror((int)-r->res));
	return swapfile_fail(
	    err, errlen, -EIO, s->path,
	    "slot %u (offset %llu): short %s: %lld of %llu bytes from offset %llu%s", b->slots[p],
	    (unsigned long long)off, what, (long long)r->res,
	    (unsigned long long)r->count * SWAPFILE_PAGE, (unsigned long long)r->off,
	    b->write ? "" : " (the file is shorter)");
}

static int swapfile_judge_sum(struct swapfile *s, const struct swapfile_batch *b, unsigned p,
			      char *err, size_t errlen)
{
	uint32_t slot = b->slots[p];
	uint64_t got = swapfile_checksum(b->pages[p]);

	if (got == s->sum[slot])
		return 0;
	s->st.checksum_failures++;
	return swapfile_fail(
	    err, errlen, -EBADMSG, s->path,
	    "slot %u (offset %llu): checksum mismatch (stored %#018llx, read %#018llx)", slot,
	    (unsigned long long)swapfile_off(slot), (unsigned long long)s->sum[slot],
	    (unsigned long long)got);
}

/* Go through the pages in order; the first failure is the one reported,
 * but every request is counted. */
static int swapfile_judge(struct swapfile *s, const struct swapfile_batch *b, unsigned *bad,
			  char *err, size_t errlen)
{
	int first = 0;

	for (unsigned i = 0; i < b->nreq; i++) {
		const struct swapfile_req *r = &b->req[i];
		int64_t moved = r->res > 0 ? r->res : 0;

		s->st.requests++;
		if (b->write)
			s->st.bytes_written += moved;
		else
			s->st.bytes_read += moved;
		if (moved < (int64_t)r->count * SWAPFILE_PAGE)
			s->st.io_errors++;
		for (unsigned p = r->first; p < r->first + r->count; p++) {
			int ret = swapfile_judge_io(s, b, r, p, first ? NULL : err, errlen);

			if (!ret && !b->write)
				ret = swapfile_judge_sum(s, b, p, first ? NULL : err, errlen);
			if (!b->write && !ret)
				histo_add(&s->st.read_ns, r->ns);
			if (ret && !first) {
				first = ret;
				*bad = p;
			}
		}
	}
	return first;
}

static int swapfile_batch(struct swapfile *s, struct swapfile_batch *b, unsigned *bad, char *err,
			  size_t errlen)
{
	int ret;

	*bad = 0;
	if (!b->n)
		return 0;
	ret = swapfile_check_batch(s, b, bad, err, errlen);
	if (ret)
		return ret;
	*bad = 0;
	ret = swapfile_plan(b);
	if (ret) {
		ret = swapfile_fail(err, errlen, ret, s->path, "out of memory for %u pages", b->n);
		goto out;
	}
	swapfile_run(s, b);
	swapfile_drop_cache(s, b);
	ret = swapfile_judge(s, b, bad, err, errlen);
out:
	free(b->req);
	free(b->iov);
	return ret;
}

int swapfile_write(struct swapfile *s, const uint32_t *slots, void *const *pages, unsigned n,
		   char *err, size_t errlen)
{
	struct swapfile_batch b = {.slots = slots, .pages = pages, .n = n, .write = true};
	unsigned bad;
	int ret = swapfile_batch(s, &b, &bad, err, errlen);

	if (!b.issued)
		return ret; /* refused before any I/O: the slots are as they were */
	s->st.writes++;
	for (unsigned i = 0; i < n; i++) {
		if (ret)
			swapfile_forget(s, slots[i]); /* what reached the file is unknown */
		else
			swapfile_remember(s, slots[i], swapfile_checksum(pages[i]));
	}
	if (!ret)
		s->st.pages_written += n;
	return ret;
}

int swapfile_read(struct swapfile *s, const uint32_t *slots, void *const *pages, unsigned n,
		  unsigned *bad, char *err, size_t errlen)
{
	struct swapfile_batch b = {.slots = slots, .pages = pages, .n = n, .write = false};
	unsigned first;
	int ret = swapfile_batch(s, &b, &first, err, errlen);

	if (bad)
		*bad = first;
	if (b.issued)
		s->st.reads++;
	if (!ret)
		s->st.pages_read += n;
	return ret;
}

void swapfile_get_stats(const struct swapfile *s, struct swapfile_stats *out)
{
	*out = s->st;
}

int64_t swapfile_probe_read_ns(struct swapfile *s, uint32_t slot)
{
	void *buf;
	uint64_t t0, t1;
	ssize_t got;
	int ret;

	if (slot >= s->slots)
		return -EINVAL;
	if (posix_memalign(&buf, SWAPFILE_PAGE, SWAPFILE_PAGE))
		return -ENOMEM;
	if (!s->direct)
		posix_fadvise(s->fd, swapfile_off(slot), SWAPFILE_PAGE, POSIX_FADV_DONTNEED);
	t0 = histo_now_ns();
	got = pread(s->fd, buf, SWAPFILE_PAGE, swapfile_off(slot));
	t1 = histo_now_ns();
	ret = got < 0 ? -errno : got != SWAPFILE_PAGE ? -EIO : 0;
	free(buf);
	if (ret)
		return ret;
	return t1 > t0 ? (int64_t)(t1 - t0) : 1;
}
