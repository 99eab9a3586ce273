/* vmm/snapshot/snapio.h: the snapshot writer's page data stream.
 *
 * Pages are appended to a buffer of SNAP_IO_PAGES (1 MiB) and written in
 * one request when it fills, while the next buffer fills: through
 * io_uring where the kernel has it (two buffers in flight at most), else
 * with pwrite. The file is opened a second time with O_DIRECT where its
 * filesystem takes it (not tmpfs), so that the data bypasses the page
 * cache and the commit's fsync has little left to do; else buffered.
 * snap_io_via says which path runs: "io_uring, O_DIRECT", "io_uring,
 * buffered", "pwrite, O_DIRECT" or "pwrite, buffered".
 *
 * A write that fails is reported by the call that finds it out (the next
 * flush or snap_io_finish): -errno with the offset in err. Not
 * thread-safe: the writer's caller holds its lock.
 */
#ifndef VMM_SNAPSHOT_SNAPIO_H
#define VMM_SNAPSHOT_SNAPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_IO_PAGES 256

struct snap_io;

/* Write pages to fd (buffered, open for writing) from byte off (4 KiB
 * aligned) on; path: the file, reopened for O_DIRECT. no_direct,
 * no_uring: force the fallbacks (tests). 0 or -ENOMEM. */
int snap_io_open(struct snap_io **out, int fd, const char *path, uint64_t off, bool no_direct,
		 bool no_uring);
/* Append one page (4 KiB). 0, or -errno of a failed write (err says). */
int snap_io_page(struct snap_io *io, const void *page, char *err, size_t errlen);
/* Write what is buffered and wait for every write: 0 or -errno. */
int snap_io_finish(struct snap_io *io, char *err, size_t errlen);
const char *snap_io_via(const struct snap_io *io);
/* Frees io; writes still in flight are waited for. */
void snap_io_close(struct snap_io *io);

#endif
