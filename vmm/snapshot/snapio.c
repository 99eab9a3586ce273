/* vmm/snapshot/snapio.c: the snapshot writer's page data stream, see
 * snapio.h. */
#include "snapio.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNAP_IO_PAGE  4096
#define SNAP_IO_BYTES (SNAP_IO_PAGES * SNAP_IO_PAGE)

struct snap_io {
	int fd;	    /* the writer's, buffered */
	int dfd;    /* O_DIRECT, or -1 */
	bool uring; /* ring is set up */
	struct io_uring ring;
	uint8_t *buf[2];
	bool busy[2];	/* a write of buf[i] is in flight */
	uint64_t at[2]; /* its offset, for messages */
	unsigned cur;	/* the buffer being filled */
	unsigned fill;	/* pages in it */
	uint64_t off;	/* where it goes */
	char via[32];
};

static int snap_io_fail(char *err, size_t errlen, int ret, uint64_t off)
{
	snprintf(err, errlen, "offset %llu: writing page data: %s", (unsigned long long)off,
		 strerror(-ret));
	return ret;
}

int snap_io_open(struct snap_io **out, int fd, const char *path, uint64_t off, bool no_direct,
		 bool no_uring)
{
	struct snap_io *io = calloc(1, sizeof(*io));

	if (!io)
		return -ENOMEM;
	io->fd = fd;
	io->dfd = -1;
	io->off = off;
	io->buf[0] = aligned_alloc(SNAP_IO_PAGE, SNAP_IO_BYTES);
	io->buf[1] = aligned_alloc(SNAP_IO_PAGE, SNAP_IO_BYTES);
	if (!io->buf[0] || !io->buf[1]) {
		snap_io_close(io);
		return -ENOMEM;
	}
	/* tmpfs refuses O_DIRECT at open (EINVAL): buffered, then. */
	io->dfd = no_direct ? -1 : open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	io->uring = !no_uring && io_uring_queue_init(4, &io->ring, 0) == 0;
	snprintf(io->via, sizeof(io->via), "%s, %s", io->uring ? "io_uring" : "pwrite",
		 io->dfd >= 0 ? "O_DIRECT" : "buffered");
	*out = io;
	return 0;
}

const char *snap_io_via(const struct snap_io *io)
{
	return io->via;
}

/* Wait for one completion of the ring: 0 or -errno of its write. */
static int snap_io_reap(struct snap_io *io, char *err, size_t errlen)
{
	struct io_uring_cqe *cqe;
	unsigned i;
	int ret;

	do
		ret = io_uring_wait_cqe(&io->ring, &cqe);
	while (ret == -EINTR);
	if (ret)
		return snap_io_fail(err, errlen, ret, io->at[0]);
	i = (unsigned)(uintptr_t)io_uring_cqe_get_data(cqe);
	ret = cqe->res;
	io_uring_cqe_seen(&io->ring, cqe);
	io->busy[i] = false;
	if (ret >= 0 && ret != SNAP_IO_BYTES)
		ret = -EIO; /* only full buffers go through the ring */
	return ret < 0 ? snap_io_fail(err, errlen, ret, io->at[i]) : 0;
}

/* All of len bytes of buffer i, synchronously. */
static int snap_io_sync(struct snap_io *io, unsigned i, size_t len, char *err, size_t errlen)
{
	int fd = io->dfd >= 0 && len % SNAP_IO_PAGE == 0 ? io->dfd : io->fd;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, io->buf[i] + done, len - done, io->at[i] + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return snap_io_fail(err, errlen, n < 0 ? -errno : -EIO, io->at[i] + done);
		done += n;
	}
	return 0;
}

/* Buffer cur, full, goes: queued on the ring, or written now. */
static int snap_io_flush(struct snap_io *io, char *err, size_t errlen)
{
	unsigned i = io->cur;
	struct io_uring_sqe *sqe;
	int ret;

	io->at[i] = io->off;
	io->off += SNAP_IO_BYTES;
	io->fill = 0;
	io->cur ^= 1;
	if (!io->uring)
		return snap_io_sync(io, i, SNAP_IO_BYTES, err, errlen);
	sqe = io_uring_get_sqe(&io->ring);
	io_uring_prep_write(sqe, io->dfd >= 0 ? io->dfd : io->fd, io->buf[i], SNAP_IO_BYTES,
			    io->at[i]);
	io_uring_sqe_set_data(sqe, (void *)(uintptr_t)i);
	io->busy[i] = true;
	ret = io_uring_submit(&io->ring);
	if (ret < 0) {
		io->busy[i] = false;
		return snap_io_fail(err, errlen, ret, io->at[i]);
	}
	/* The next buffer must be free before it fills. */
	while (io->busy[io->cur])
		if ((ret = snap_io_reap(io, err, errlen)))
			return ret;
	return 0;
}

int snap_io_page(struct snap_io *io, const void *page, char *err, size_t errlen)
{
	memcpy(io->buf[io->cur] + (size_t)io->fill * SNAP_IO_PAGE, page, SNAP_IO_PAGE);
	if (++io->fill < SNAP_IO_PAGES)
		return 0;
	return snap_io_flush(io, err, errlen);
}

static int snap_io_drain(struct snap_io *io, char *err, size_t errlen)
{
	int ret = 0, r;

	while (io->uring && (io->busy[0] || io->busy[1]))
		if ((r = snap_io_reap(io, err, errlen)) && !ret)
			ret = r;
	return ret;
}

int snap_io_finish(struct snap_io *io, char *err, size_t errlen)
{
	int ret = snap_io_drain(io, err, errlen);

	if (!ret && io->fill) {
		io->at[io->cur] = io->off;
		ret = snap_io_sync(io, io->cur, (size_t)io->fill * SNAP_IO_PAGE, err, errlen);
		io->off += (uint64_t)io->fill * SNAP_IO_PAGE;
		io->fill = 0;
	}
	return ret;
}

void snap_io_close(struct snap_io *io)
{
	char err[8];

	if (!io)
		return;
	snap_io_drain(io, err, sizeof(err));
	if (io->uring)
		io_uring_queue_exit(&io->ring);
	if (io->dfd >= 0)
		close(io->dfd);
	free(io->buf[0]);
	free(io->buf[1]);
	free(io);
}
