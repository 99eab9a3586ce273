/* vmm/snapshot/snapfile.h: the snapshot file, its writer and its reader.
 *
 * A snapshot is a directory DIR holding one file, DIR/snapshot, in the
 * format of docs/snapshot-format.md (version 2, little-endian; the reader
 * also reads version 1):
 *
 *   [0, 4096)                 header: magic "VMMSNAP\0", version, guest
 *                             memory size, counts, the offset of each part,
 *                             the metadata hash
 *   [4096, dev_off)           page data: one 4 KiB block per present
 *                             non-zero page, 4 KiB aligned, in the order
 *                             the writer was given the pages (any GPA order)
 *   [dev_off, entry_off)      device sections: name, version, length and
 *                             the device's own bytes, 8-byte aligned
 *   [entry_off, end)          page entries, 32 bytes each, sorted by GPA:
 *                             (guest page number, kind zero/data, the
 *                             index of its data block, XXH3-64 of the page)
 *
 * The metadata hash (XXH3-64) covers the header, the device sections and
 * the entry list; each data page has its own hash in its entry. Metadata
 * comes after the data so that the writer can stream pages as it goes and
 * write what it learnt from them at the end. Pages may come in any order
 * (a live snapshot saves a page the guest is about to write before its
 * turn), so each entry names its block and the writer sorts the entries
 * at commit.
 *
 * Writing is atomic: the writer builds DIR.tmp/snapshot, fsyncs it and
 * DIR.tmp, renames DIR.tmp to DIR (RENAME_NOREPLACE) and fsyncs DIR's
 * parent, so DIR appears complete or not at all. It refuses a DIR that
 * exists (-EEXIST) and a DIR.tmp that exists (-EEXIST): that is another
 * writer at work or one that crashed, and telling them apart is the
 * user's call, so the message says to remove DIR.tmp. On failure or abort
 * it removes the DIR.tmp it made.
 *
 * The reader checks everything it can without reading page data when it
 * opens (fields, offsets, sizes, the entries' order and GPAs, that each
 * data block belongs to exactly one entry, the device sections' framing,
 * the metadata hash), and checks a page's hash each time
 * it reads the page, so that damage a lazy restore meets later is never
 * silent.
 *
 * Errors: functions return 0 or a negative errno and, given err, write one
 * sentence naming the file, the byte offset and what was expected, e.g.
 *   snap0/snapshot: offset 8: expected version 1 or 2, found 7
 * -EINVAL: the file is not a valid snapshot (or an argument is wrong);
 * -EIO: the file could not be read (including one cut short after open);
 * -EBADMSG: a page's data does not match its hash.
 *
 * Not thread-safe, except:
 * - snap_reader_read_page and the reader's getters, which may be called
 *   from several threads at once (pread, nothing shared is changed);
 * - snap_writer_progress, which may be called from any thread while
 *   another calls snap_writer_page or snap_writer_device (the counters it
 *   reads are atomic), though not once commit or abort has begun.
 * The writer's other calls need the caller's lock if they come from more
 * than one thread (a live snapshot's writer and fault threads both call
 * snap_writer_page). No global state: each snapshot has its own writer or
 * reader.
 */
#ifndef VMM_SNAPFILE_H
#define VMM_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_VERSION	      2 /* what the writer writes */
#define SNAP_VERSION_MIN      1 /* the oldest the reader reads */
#define SNAP_PAGE	      4096
#define SNAP_FILE	      "snapshot" /* the file inside DIR */
#define SNAP_DEVICE_NAME_MAX  31	 /* bytes of a device name, without its NUL */
#define SNAP_MAX_DEVICES      1024
#define SNAP_MAX_DEVICE_BYTES (16u << 20) /* one device's section */

enum snap_kind {
	SNAP_KIND_ZERO = 0, /* the page is all zeros: no data in the file */
	SNAP_KIND_DATA = 1, /* 4 KiB of data in the file */
};

struct snap_writer;
struct snap_reader;

/* ---- writing ---- */

/* Start a snapshot of a guest with mem_bytes of RAM (a non-zero multiple
 * of SNAP_PAGE, at most GUEST_RAM_MAX_SIZE) into dir (a trailing '/' is
 * ignored): creates dir.tmp/snapshot. -EEXIST if dir or dir.tmp exists,
 * -EINVAL for a bad size, -errno if the directory or file cannot be made. */
int snap_writer_open(struct snap_writer **out, const char *dir, uint64_t mem_bytes, char *err,
		     size_t errlen);
/* Add one device's state: name of 1 to SNAP_DEVICE_NAME_MAX printable
 * ASCII characters, unique in the snapshot; len up to
 * SNAP_MAX_DEVICE_BYTES. The bytes are copied, and written at commit; the
 * format frames them and the device alone knows what they mean. Any time
 * before commit. -EINVAL for a bad or repeated name or size. */
int snap_writer_device(struct snap_writer *w, const char *name, uint32_t version, const void *buf,
		       size_t len, char *err, size_t errlen);
/* Add the guest page at gpa (4 KiB aligned, in guest RAM for mem_bytes).
 * Pages may come in any GPA order, each at most once: -EINVAL naming the
 * GPA for a page given before, or outside RAM. An all-zero page is
 * recorded as SNAP_KIND_ZERO and costs no data (a hole: the format is
 * sparse); any other goes to the file after the blocks of the pages given
 * before it, batched (snapio.h): it is copied at once, so page may change
 * after the call. A failed write (-errno) of earlier pages shows here or
 * at commit; the writer must then be aborted. */
int snap_writer_page(struct snap_writer *w, uint64_t gpa, const void *page, char *err,
		     size_t errlen);
/* Pages given so far and bytes of page data written so far. Safe from any
 * thread while pages are added (see above): each count is read atomically,
 * and bytes never count a page that pages do not yet. */
void snap_writer_progress(const struct snap_writer *w, uint64_t *pages, uint64_t *bytes);
/* How page data is written (snapio.h): "io_uring, O_DIRECT" and so on.
 * VMM_SNAPSHOT_NO_DIRECT or VMM_SNAPSHOT_NO_URING in the environment
 * force the fallbacks (tests). */
const char *snap_writer_via(const struct snap_writer *w);
/* Write the metadata, fsync, rename dir.tmp to dir and fsync the parent.
 * Frees w whatever the outcome; on failure dir.tmp is removed and dir does
 * not appear. */
int snap_writer_commit(struct snap_writer *w, char *err, size_t errlen);
/* Give up: remove dir.tmp and free w. */
void snap_writer_abort(struct snap_writer *w);

/* ---- reading ---- */

/* Open dir/snapshot and check its metadata: -EINVAL naming the offset for
 * any bad field or a metadata hash mismatch, -EIO if it cannot be read,
 * -ENOMEM. Page data is read later, by snap_reader_read_page. */
int snap_reader_open(struct snap_reader **out, const char *dir, char *err, size_t errlen);
void snap_reader_close(struct snap_reader *r);

/* The file's path as messages name it: dir/snapshot. */
const char *snap_reader_path(const struct snap_reader *r);
uint64_t snap_reader_mem_bytes(const struct snap_reader *r);
/* 0 if the snapshot is of a guest with mem_bytes of RAM, else -EINVAL
 * naming both sizes (a restore with another --mem). */
int snap_reader_check_mem(const struct snap_reader *r, uint64_t mem_bytes, char *err,
			  size_t errlen);

/* Devices, in the order they were written. The name and bytes stay valid
 * until snap_reader_close. */
unsigned snap_reader_nr_devices(const struct snap_reader *r);
/* -ERANGE if i is not below snap_reader_nr_devices. */
int snap_reader_device_at(const struct snap_reader *r, unsigned i, const char **name,
			  uint32_t *version, const void **buf, size_t *len);
/* The device called name: 0, or -ENOENT if the snapshot has none. */
int snap_reader_device(const struct snap_reader *r, const char *name, uint32_t *version,
		       const void **buf, size_t *len);
/* Where the device called name has its bytes in the file (after its
 * 48-byte header), for messages: 0, or -ENOENT. */
int snap_reader_device_offset(const struct snap_reader *r, const char *name, uint64_t *off);

/* The metadata hash: what names this snapshot (a working set recorded
 * from it says which snapshot it belongs to, wsfile.h). */
uint64_t snap_reader_meta_hash(const struct snap_reader *r);

/* Page entries, sorted by GPA. */
uint64_t snap_reader_nr_pages(const struct snap_reader *r);
/* -ERANGE if i is not below snap_reader_nr_pages. */
int snap_reader_page_at(const struct snap_reader *r, uint64_t i, uint64_t *gpa,
			enum snap_kind *kind);
/* The index of the entry for the page holding gpa (any address in it), or
 * -ENOENT if the snapshot has none (the page was never touched). */
int64_t snap_reader_find(const struct snap_reader *r, uint64_t gpa);
/* Fill page (SNAP_PAGE bytes, any alignment) with entry i's contents:
 * zeros for SNAP_KIND_ZERO, else the file's block, checked against its
 * hash. -EBADMSG naming the offset and GPA if it does not match, -EIO
 * naming the offset if the file is cut short or the read fails, -ERANGE for
 * a bad i. */
int snap_reader_read_page(const struct snap_reader *r, uint64_t i, void *page, char *err,
			  size_t errlen);
/* Entries [i, i + n) into buf (n pages), as snap_reader_read_page does,
 * with one read per run of entries whose blocks follow each other in the
 * file (most do: pages are written mostly in GPA order). */
int snap_reader_read_pages(const struct snap_reader *r, uint64_t i, unsigned n, void *buf,
			   char *err, size_t errlen);

/* Data blocks in file order, for reading a snapshot at disk speed. */
uint64_t snap_reader_nr_data(const struct snap_reader *r);
/* Blocks [first, first + n) in one read into buf (n pages), each checked
 * against its entry's hash; ents[k]: the entry of block first + k. buf
 * NULL: only ents (nothing read). Errors as snap_reader_read_page's,
 * naming the offset and GPA of the first bad block. */
int snap_reader_read_blocks(const struct snap_reader *r, uint64_t first, unsigned n, void *buf,
			    uint64_t *ents, char *err, size_t errlen);
/* Tell the kernel that blocks [first, first + n) will be read soon. */
void snap_reader_advise(const struct snap_reader *r, uint64_t first, uint64_t n);

#endif
