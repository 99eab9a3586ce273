/* reclaim/swapfile.h: the swap file, where the reclaimer writes guest pages.
 *
 * A file (or a block device) of 4 KiB slots; slot s is bytes
 * [s * 4096, (s + 1) * 4096). The file is scratch, valid only for the
 * process that opened it: there is no on-disk header, and what a slot holds
 * is known only from memory. Each written slot's XXH3-64 checksum is kept in
 * memory (8 bytes a slot, plus a bit saying it holds anything), checked on
 * every read, and lets the reclaimer drop a clean page whose swap copy is
 * still good without writing it again (swapfile_same).
 *
 * Opening takes an exclusive flock(2), so a second VMM given the same file
 * is refused (-EBUSY) instead of overwriting the first one's pages.
 *
 * I/O goes through io_uring (one submission for a batch of pages, a run of
 * consecutive slots becoming one vectored request) and O_DIRECT, so swapped
 * pages do not also sit in the page cache. Each falls back when the host
 * refuses it, and says so (swapfile_io_path, swapfile_direct,
 * swapfile_notes):
 *   - io_uring_queue_init fails (ENOSYS, EPERM under seccomp or
 *     kernel.io_uring_disabled, ENOMEM): preadv/pwritev;
 *   - the filesystem refuses O_DIRECT (EINVAL): buffered I/O, each batch
 *     written back and dropped from the page cache (sync_file_range, then
 *     posix_fadvise DONTNEED) once done.
 * The options force either fallback (no_uring, no_direct): as a user's
 * knob, and so that tests run them on hosts that need neither (tmpfs takes
 * O_DIRECT since Linux 6.6).
 * Page buffers must be 4 KiB aligned either way, so that code tested on
 * the fallback keeps working with O_DIRECT.
 *
 * Errors: functions return 0 or a negative errno and, given err, write one
 * sentence naming the file, slot and byte offset concerned, e.g.
 *   swap file /var/tmp/vm.swap: slot 12 (offset 49152): checksum mismatch
 *   (stored 0x..., read 0x...)
 *
 * Not thread-safe: one swap file is used by one reclaimer, which serialises
 * its calls under its own lock. No global state: each VMM (several may live
 * in one process) opens its own.
 */
#ifndef RECLAIM_SWAPFILE_H
#define RECLAIM_SWAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "histo.h"

#define SWAPFILE_PAGE 4096
/* Below 256 slots a swap file cannot hold enough to matter, so a size that
 * small is taken for a mistake (a size in MiB given as bytes, say). */
#define SWAPFILE_MIN_BYTES (1ULL << 20)
/* Slots are 32-bit and UINT32_MAX means "no slot" (FRAME_NO_SLOT): just
 * under 16 TiB. A larger file or device is used up to this size. */
#define SWAPFILE_MAX_BYTES     ((uint64_t)(UINT32_MAX - 1) * SWAPFILE_PAGE)
#define SWAPFILE_DEFAULT_DEPTH 64

struct swapfile;

struct swapfile_opts {
	const char *path;     /* a regular file (created if missing) or a block device */
	uint64_t size;	      /* bytes; 0: the existing file's or device's size */
	unsigned queue_depth; /* io_uring entries; 0: SWAPFILE_DEFAULT_DEPTH */
	bool no_uring;	      /* use preadv/pwritev even where io_uring works */
	bool no_direct;	      /* buffered I/O even where O_DIRECT works */
};

/* Open (or create, mode 0600) and lock the swap file, and make it size
 * bytes long. Sizes: a multiple of SWAPFILE_PAGE, at least
 * SWAPFILE_MIN_BYTES (-EINVAL); with size 0 the file must exist, and its
 * size is rounded down to a multiple of 4 KiB. A file longer than size is
 * used up to size and left as long; a shorter one is extended with
 * fallocate (ftruncate where the filesystem cannot, so slots may then be
 * holes and a full disk shows up as -EIO on a later write), -ENOSPC if the
 * disk cannot hold it. A block device must already be size bytes long.
 * Refused: a path in a missing directory, a directory or anything but a
 * regular file or block device (-EINVAL), a file this process cannot
 * read and write, one another open holds (-EBUSY). A file this call
 * created is removed again if opening fails. */
int swapfile_open(struct swapfile **out, const struct swapfile_opts *o, char *err, size_t errlen);
/* Unlock and close; the file stays (the caller decides whether to unlink). */
void swapfile_close(struct swapfile *s);

uint32_t swapfile_slots(const struct swapfile *s); /* size / SWAPFILE_PAGE */
const char *swapfile_path(const struct swapfile *s);
const char *swapfile_io_path(const struct swapfile *s); /* "io_uring" or "sync" */
bool swapfile_direct(const struct swapfile *s);		/* O_DIRECT, or buffered */
/* Why io_uring or O_DIRECT is not used, as a sentence; "" if both are. */
const char *swapfile_notes(const struct swapfile *s);

/* Write pages[i] to slots[i], i < n, and remember each page's checksum.
 * Slots come in any order, each at most once a call (two requests for one
 * slot would race); runs of consecutive slots go out as one
 * request each, all in one submission when n fits the queue. Returns once
 * every page is on the file (or the device has it, for O_DIRECT).
 * -EINVAL: a slot past the end, or a buffer not 4 KiB aligned, before any
 * I/O. -EIO (short write) or the request's -errno, naming the slot and
 * byte offset: then no slot of this call holds anything any more (each
 * reads as swapfile_forget left it), since what reached the file is not
 * known. */
int swapfile_write(struct swapfile *s, const uint32_t *slots, void *const *pages, unsigned n,
		   char *err, size_t errlen);
/* Read slots[i] into pages[i], i < n, batched as swapfile_write does, and
 * check each page against its checksum. -EINVAL as for write; -ENODATA: a
 * slot holds nothing (never written, forgotten, or lost by a failed write);
 * -EIO (short read: the file was cut short) or the request's -errno; and
 * -EBADMSG: a page's checksum does not match what was written. On any
 * failure no page of the call is good: the caller must not use any of
 * them, and *bad (if bad is not NULL) is the index of the first failing
 * one, which err describes. */
int swapfile_read(struct swapfile *s, const uint32_t *slots, void *const *pages, unsigned n,
		  unsigned *bad, char *err, size_t errlen);

/* Whether page holds what slot holds, by checksum, without I/O: a page
 * read from slot and not written since can be dropped, not written again.
 * False for a slot that holds nothing or is out of range. */
bool swapfile_same(const struct swapfile *s, uint32_t slot, const void *page);
uint64_t swapfile_checksum(const void *page); /* XXH3-64 of SWAPFILE_PAGE bytes */
/* Slot freed: it holds nothing now (swapfile_same false, read -ENODATA). */
void swapfile_forget(struct swapfile *s, uint32_t slot);

struct swapfile_stats {
	uint64_t writes, reads;		    /* calls that did I/O */
	uint64_t pages_written, pages_read; /* by successful calls */
	uint64_t bytes_written, bytes_read; /* by the file system, successful or not */
	uint64_t checksum_failures;	    /* pages read that did not match */
	uint64_t io_errors;		    /* requests that failed or came up short */
	uint64_t requests;    /* reads and writes asked of the kernel: a run of slots is one */
	uint64_t submissions; /* io_uring submissions, or syscalls on sync */
	struct histo read_ns; /* per page: from submission to its request's completion */
};
void swapfile_get_stats(const struct swapfile *s, struct swapfile_stats *out);

/* For benchmarks: the time of one 4 KiB pread at slot, uncached (O_DIRECT,
 * or dropped from the page cache first), in ns; -EINVAL past the end, or
 * the read's -errno (-EIO if short). Bypasses io_uring, and counts in no
 * statistics. */
int64_t swapfile_probe_read_ns(struct swapfile *s, uint32_t slot);

#endif
