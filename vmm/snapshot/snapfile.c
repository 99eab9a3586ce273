/* vmm/snapshot/snapfile.c: the snapshot file, see snapfile.h and
 * docs/snapshot-format.md. */
#include "snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "guest_ram.h"
#include "snapio.h"

/* The file is little-endian and its structures are naturally aligned, so
 * on an x86-64 host it is read and written as the structs below. A
 * big-endian port starts here. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "snapfile.c reads and writes little-endian structs as they are in memory"
#endif

#define SNAP_MAGIC	   "VMMSNAP" /* with its NUL: 8 bytes */
#define SNAP_HEADER_BYTES  4096
#define SNAP_DEVICE_NAME_Z 32 /* the name field, NUL-padded */

struct snap_disk_header {
	char magic[8];
	uint32_t version;
	uint32_t page_size;
	uint64_t mem_bytes;
	uint64_t nr_pages; /* entries */
	uint64_t nr_data;  /* entries of kind data, and pages of data */
	uint32_t nr_devices;
	uint32_t header_bytes;
	uint64_t data_off;
	uint64_t dev_off;
	uint64_t dev_bytes;
	uint64_t entry_off;
	uint64_t entry_bytes;
	uint64_t file_bytes;
	uint64_t meta_hash;
};
_Static_assert(sizeof(struct snap_disk_header) == 104, "header layout");

struct snap_disk_device {
	char name[SNAP_DEVICE_NAME_Z];
	uint32_t version;
	uint32_t reserved;
	uint64_t length; /* of the bytes that follow, before padding to 8 */
};
_Static_assert(sizeof(struct snap_disk_device) == 48, "device section layout");

#define SNAP_MAX_DEVICE_AREA                                                                       \
	((unsigned long long)SNAP_MAX_DEVICES *                                                    \
	 (sizeof(struct snap_disk_device) + SNAP_MAX_DEVICE_BYTES))

struct snap_disk_entry {
	uint64_t gpn; /* guest page number: GPA / 4096 */
	uint32_t kind;
	uint32_t reserved;
	uint64_t index; /* data: the page's block in the data area; zero: 0 */
	uint64_t hash;	/* data: XXH3-64 of the 4 KiB; zero: 0 */
};
_Static_assert(sizeof(struct snap_disk_entry) == 32, "entry layout");

#define SNAP_OFF(field) ((unsigned long long)offsetof(struct snap_disk_header, field))

static int snap_fail(char *err, size_t errlen, int ret, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int snap_fail(char *err, size_t errlen, int ret, const char *path, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (!err || !errlen)
		return ret;
	len = snprintf(err, errlen, "%s: ", path);
	if (len >= 0 && (size_t)len < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + len, errlen - len, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static int snap_fail_sys(char *err, size_t errlen, const char *path, const char *what)
{
	int e = errno ? errno : EIO;

	return snap_fail(err, errlen, -e, path, "%s: %s", what, strerror(e));
}

static uint64_t snap_align8(uint64_t n)
{
	return (n + 7) & ~7ULL;
}

/* dir without trailing slashes, followed by suffix; NULL: no memory. */
static char *snap_path(const char *dir, const char *suffix)
{
	size_t n = strlen(dir);
	char *p;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (asprintf(&p, "%.*s%s", (int)n, dir, suffix) < 0)
		return NULL;
	return p;
}

/* Whether the page at guest page number gpn is guest RAM for mem_bytes;
 * if so, *ram (if given) is its number among RAM's pages, below
 * mem_bytes / 4096 (RAM above 4 GiB continues where the low part ends). */
static bool snap_ram_page(uint64_t mem_bytes, uint64_t gpn, uint64_t *ram)
{
	struct guest_ram_region reg[GUEST_RAM_MAX_REGIONS];
	int n = guest_ram_layout(mem_bytes, reg);
	uint64_t below = 0;

	if (gpn > UINT64_MAX / SNAP_PAGE)
		return false;
	for (int i = 0; i < n; i++) {
		if (gpn * SNAP_PAGE >= reg[i].gpa && gpn * SNAP_PAGE - reg[i].gpa < reg[i].size) {
			if (ram)
				*ram = below + (gpn * SNAP_PAGE - reg[i].gpa) / SNAP_PAGE;
			return true;
		}
		below += reg[i].size / SNAP_PAGE;
	}
	return false;
}

/* Bitmaps of n bits, as arrays of 64-bit words; NULL: no memory. */
static uint64_t *snap_bitmap_new(uint64_t n)
{
	return calloc(n / 64 + 1, sizeof(uint64_t));
}

static bool snap_bit(const uint64_t *map, uint64_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void snap_bit_set(uint64_t *map, uint64_t i)
{
	map[i / 64] |= 1ULL << (i % 64);
}

static bool snap_page_is_zero(const uint8_t *p)
{
	return p[0] == 0 && !memcmp(p, p + 1, SNAP_PAGE - 1);
}

/* XXH3-64 of the header block (meta_hash taken as 0), then of the device
 * sections and the entry list: what meta_hash holds. */
static int snap_meta_hash(const uint8_t *block, const void *dev, size_t dev_len, const void *ent,
			  size_t ent_len, uint64_t *out)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t zero = 0;
	size_t at = SNAP_OFF(meta_hash);

	if (!st)
		return -ENOMEM;
	XXH3_64bits_reset(st);
	XXH3_64bits_update(st, block, at);
	XXH3_64bits_update(st, &zero, sizeof(zero));
	XXH3_64bits_update(st, block + at + sizeof(zero), SNAP_HEADER_BYTES - at - sizeof(zero));
	XXH3_64bits_update(st, dev, dev_len);
	XXH3_64bits_update(st, ent, ent_len);
	*out = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return 0;
}

/* pread/pwrite until len bytes or end of file: bytes done, or -errno. */
static ssize_t snap_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

static int snap_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += n;
	}
	return 0;
}

static int snap_fsync_path(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return snap_fail_sys(err, errlen, path, "open");
	if (fsync(fd) < 0)
		ret = snap_fail_sys(err, errlen, path, "fsync");
	close(fd);
	return ret;
}

/* ---- writing ---- */

struct snap_writer {
	char *dir, *tmp, *file; /* DIR, DIR.tmp, DIR.tmp/snapshot */
	int fd;
	struct snap_io *io; /* the page data, batched (snapio.h) */
	uint64_t mem_bytes;
	struct snap_disk_entry *ent; /* in the order pages came; sorted at commit */
	uint64_t cap_ent;
	/* Read by snap_writer_progress from any thread: stored with
	 * __atomic_store_n, nr_ent before nr_data, and loaded in the other
	 * order, so that bytes never count a page that pages do not. Only
	 * snap_writer_page changes them, under the caller's lock. */
	uint64_t nr_ent, nr_data;
	uint64_t *given; /* a bit per page of RAM (snap_ram_page): given already */
	uint8_t *dev;	 /* the device sections as the file holds them */
	size_t dev_len, dev_cap;
	char (*names)[SNAP_DEVICE_NAME_Z];
	unsigned nr_dev;
};

/* Remove a snapshot directory as the writer makes it: dir/snapshot and dir. */
static void snap_remove(const char *dir)
{
	char *file = snap_path(dir, "/" SNAP_FILE);

	if (file)
		unlink(file);
	free(file);
	rmdir(dir);
}

static void snap_writer_free(struct snap_writer *w, bool remove_tmp)
{
	snap_io_close(w->io);
	if (w->fd >= 0)
		close(w->fd);
	if (remove_tmp)
		snap_remove(w->tmp);
	free(w->dir);
	free(w->tmp);
	free(w->file);
	free(w->ent);
	free(w->given);
	free(w->dev);
	free(w->names);
	free(w);
}

static int snap_writer_check_mem(const char *dir, uint64_t mem_bytes, char *err, size_t errlen)
{
	if (!mem_bytes || mem_bytes % SNAP_PAGE || mem_bytes > GUEST_RAM_MAX_SIZE)
		return snap_fail(err, errlen, -EINVAL, dir,
				 "guest memory of %llu bytes: expected a non-zero multiple of %d "
				 "of at most %llu GiB",
				 (unsigned long long)mem_bytes, SNAP_PAGE,
				 GUEST_RAM_MAX_SIZE >> 30);
	return 0;
}

/* Make DIR.tmp and DIR.tmp/snapshot, refusing either DIR or DIR.tmp. */
static int snap_writer_create(struct snap_writer *w, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(w->dir, &st) == 0)
		return snap_fail(err, errlen, -EEXIST, w->dir,
				 "already exists: a snapshot is never written over another");
	if (errno != ENOENT)
		return snap_fail_sys(err, errlen, w->dir, "stat");
	if (mkdir(w->tmp, 0700) < 0) {
		if (errno == EEXIST)
			return snap_fail(err, errlen, -EEXIST, w->tmp,
					 "already exists: another snapshot is being written "
					 "there, or one was cut off; remove it if none is");
		return snap_fail_sys(err, errlen, w->tmp, "mkdir");
	}
	/* 0600: the file holds all of the guest's memory. */
	w->fd = open(w->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		int ret = snap_fail_sys(err, errlen, w->file, "open");

		rmdir(w->tmp);
		return ret;
	}
	return 0;
}

int snap_writer_open(struct snap_writer **out, const char *dir, uint64_t mem_bytes, char *err,
		     size_t errlen)
{
	struct snap_writer *w;
	int ret;

	*out = NULL;
	if (!dir || !*dir)
		return snap_fail(err, errlen, -EINVAL, "(none)", "no snapshot directory given");
	ret = snap_writer_check_mem(dir, mem_bytes, err, errlen);
	if (ret)
		return ret;
	w = calloc(1, sizeof(*w));
	if (!w)
		return snap_fail(err, errlen, -ENOMEM, dir, "out of memory");
	w->fd = -1;
	w->mem_bytes = mem_bytes;
	w->dir = snap_path(dir, "");
	w->tmp = snap_path(dir, ".tmp");
	w->file = snap_path(dir, ".tmp/" SNAP_FILE);
	w->given = snap_bitmap_new(mem_bytes / SNAP_PAGE);
	if (!w->dir || !w->tmp || !w->file || !w->given) {
		ret = snap_fail(err, errlen, -ENOMEM, dir, "out of memory");
		goto fail;
	}
	ret = snap_writer_create(w, err, errlen);
	if (!ret && snap_io_open(&w->io, w->fd, w->file, SNAP_HEADER_BYTES,
				 getenv("VMM_SNAPSHOT_NO_DIRECT") != NULL,
				 getenv("VMM_SNAPSHOT_NO_URING") != NULL)) {
		ret = snap_fail(err, errlen, -ENOMEM, dir, "out of memory");
		snap_remove(w->tmp);
	}
	if (ret)
		goto fail;
	*out = w;
	return 0;
fail:
	snap_writer_free(w, false);
	return ret;
}

/* 1 to SNAP_DEVICE_NAME_MAX characters from '!' to '~'. */
static bool snap_name_ok(const char *name, size_t len)
{
	if (!len || len > SNAP_DEVICE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] < '!' || name[i] > '~')
			return false;
	return true;
}

static int snap_writer_check_device(const struct snap_writer *w, const char *name, size_t len,
				    char *err, size_t errlen)
{
	if (!name || !snap_name_ok(name, strnlen(name, SNAP_DEVICE_NAME_Z)))
		return snap_fail(err, errlen, -EINVAL, w->file,
				 "device name \"%.40s\": expected 1 to %d printable characters, "
				 "no spaces",
				 name ? name : "", SNAP_DEVICE_NAME_MAX);
	if (len > SNAP_MAX_DEVICE_BYTES)
		return snap_fail(err, errlen, -EINVAL, w->file,
				 "device %s: %zu bytes of state: expected at most %u", name, len,
				 SNAP_MAX_DEVICE_BYTES);
	if (w->nr_dev == SNAP_MAX_DEVICES)
		return snap_fail(err, errlen, -EINVAL, w->file,
				 "device %s: expected at most %d devices", name, SNAP_MAX_DEVICES);
	for (unsigned i = 0; i < w->nr_dev; i++)
		if (!strcmp(w->names[i], name))
			return snap_fail(err, errlen, -EINVAL, w->file,
					 "device %s given twice: expected each device once", name);
	return 0;
}

int snap_writer_device(struct snap_writer *w, const char *name, uint32_t version, const void *buf,
		       size_t len, char *err, size_t errlen)
{
	struct snap_disk_device d = {.version = version, .length = len};
	size_t need;
	int ret = snap_writer_check_device(w, name, len, err, errlen);
	void *p;

	if (ret)
		return ret;
	need = w->dev_len + sizeof(d) + snap_align8(len);
	if (need > w->dev_cap) {
		size_t cap = need > 2 * w->dev_cap ? need : 2 * w->dev_cap;

		p = realloc(w->dev, cap);
		if (!p)
			return snap_fail(err, errlen, -ENOMEM, w->file, "device %s: out of memory",
					 name);
		w->dev = p;
		w->dev_cap = cap;
	}
	p = realloc(w->names, (w->nr_dev + 1) * sizeof(*w->names));
	if (!p)
		return snap_fail(err, errlen, -ENOMEM, w->file, "device %s: out of memory", name);
	w->names = p;
	strcpy(d.name, name); /* checked shorter than the field; d's initialiser zeroed the rest */
	strcpy(w->names[w->nr_dev++], name);
	memcpy(w->dev + w->dev_len, &d, sizeof(d));
	if (len)
		memcpy(w->dev + w->dev_len + sizeof(d), buf, len);
	memset(w->dev + w->dev_len + sizeof(d) + len, 0, snap_align8(len) - len);
	w->dev_len = need;
	return 0;
}

/* The page's number among RAM's pages through *ram. */
static int snap_writer_check_page(const struct snap_writer *w, uint64_t gpa, uint64_t *ram,
				  char *err, size_t errlen)
{
	if (gpa % SNAP_PAGE || !snap_ram_page(w->mem_bytes, gpa / SNAP_PAGE, ram))
		return snap_fail(err, errlen, -EINVAL, w->file,
				 "page at GPA %#llx: expected a 4 KiB aligned address in guest "
				 "RAM (%llu MiB)",
				 (unsigned long long)gpa, (unsigned long long)(w->mem_bytes >> 20));
	if (snap_bit(w->given, *ram))
		return snap_fail(err, errlen, -EINVAL, w->file,
				 "page at GPA %#llx: given already: expected each page once",
				 (unsigned long long)gpa);
	return 0;
}

int snap_writer_page(struct snap_writer *w, uint64_t gpa, const void *page, char *err,
		     size_t errlen)
{
	struct snap_disk_entry e = {.gpn = gpa / SNAP_PAGE, .kind = SNAP_KIND_ZERO};
	uint64_t ram;
	int ret = snap_writer_check_page(w, gpa, &ram, err, errlen);

	if (ret)
		return ret;
	if (w->nr_ent == w->cap_ent) {
		uint64_t cap = w->cap_ent ? 2 * w->cap_ent : 1024;
		void *p = realloc(w->ent, cap * sizeof(*w->ent));

		if (!p)
			return snap_fail(err, errlen, -ENOMEM, w->file,
					 "page at GPA %#llx: out of memory",
					 (unsigned long long)gpa);
		w->ent = p;
		w->cap_ent = cap;
	}
	if (!snap_page_is_zero(page)) {
		char why[160];

		/* Into the stream's buffer; its write goes when the buffer is
		 * full, and a failure shows at the next page or commit. */
		ret = snap_io_page(w->io, page, why, sizeof(why));
		if (ret)
			return snap_fail(err, errlen, ret, w->file, "page at GPA %#llx: %s",
					 (unsigned long long)gpa, why);
		e.kind = SNAP_KIND_DATA;
		e.index = w->nr_data; /* blocks follow the order pages come in */
		e.hash = XXH3_64bits(page, SNAP_PAGE);
	}
	w->ent[w->nr_ent] = e;
	snap_bit_set(w->given, ram);
	__atomic_store_n(&w->nr_ent, w->nr_ent + 1, __ATOMIC_RELEASE);
	if (e.kind == SNAP_KIND_DATA)
		__atomic_store_n(&w->nr_data, w->nr_data + 1, __ATOMIC_RELEASE);
	return 0;
}

void snap_writer_progress(const struct snap_writer *w, uint64_t *pages, uint64_t *bytes)
{
	/* nr_data first: the page it counts is then in nr_ent too. */
	uint64_t data = __atomic_load_n(&w->nr_data, __ATOMIC_ACQUIRE);
	uint64_t ent = __atomic_load_n(&w->nr_ent, __ATOMIC_ACQUIRE);

	if (pages)
		*pages = ent;
	if (bytes)
		*bytes = data * SNAP_PAGE;
}

static int snap_entry_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct snap_disk_entry *)a)->gpn;
	uint64_t y = ((const struct snap_disk_entry *)b)->gpn;

	return (x > y) - (x < y);
}

/* Write the device sections, the entry list and last the header, which
 * says where they are and holds their hash. */
static int snap_writer_write_meta(struct snap_writer *w, char *err, size_t errlen)
{
	uint8_t *block = calloc(1, SNAP_HEADER_BYTES);
	struct snap_disk_header h = {
	    .magic = SNAP_MAGIC,
	    .version = SNAP_VERSION,
	    .page_size = SNAP_PAGE,
	    .mem_bytes = w->mem_bytes,
	    .nr_pages = w->nr_ent,
	    .nr_data = w->nr_data,
	    .nr_devices = w->nr_dev,
	    .header_bytes = SNAP_HEADER_BYTES,
	    .data_off = SNAP_HEADER_BYTES,
	    .dev_off = SNAP_HEADER_BYTES + w->nr_data * SNAP_PAGE,
	    .dev_bytes = w->dev_len,
	};
	size_t ent_len = w->nr_ent * sizeof(*w->ent);
	int ret;

	if (!block)
		return snap_fail(err, errlen, -ENOMEM, w->file, "out of memory");
	/* Pages came in any order; the file lists them by GPA, for lookup. */
	if (w->nr_ent)
		qsort(w->ent, w->nr_ent, sizeof(*w->ent), snap_entry_cmp);
	h.entry_off = h.dev_off + h.dev_bytes;
	h.entry_bytes = ent_len;
	h.file_bytes = h.entry_off + ent_len;
	memcpy(block, &h, sizeof(h));
	ret = snap_meta_hash(block, w->dev, w->dev_len, w->ent, ent_len, &h.meta_hash);
	if (ret) {
		ret = snap_fail(err, errlen, ret, w->file, "out of memory");
		goto out;
	}
	memcpy(block, &h, sizeof(h));
	ret = snap_pwrite_full(w->fd, w->dev, w->dev_len, h.dev_off);
	if (!ret)
		ret = snap_pwrite_full(w->fd, w->ent, ent_len, h.entry_off);
	if (!ret)
		ret = snap_pwrite_full(w->fd, block, SNAP_HEADER_BYTES, 0);
	if (ret)
		ret = snap_fail(err, errlen, ret, w->file, "writing the metadata: %s",
				strerror(-ret));
out:
	free(block);
	return ret;
}

/* Rename DIR.tmp to DIR, refusing a DIR made meanwhile (a plain rename
 * would replace an empty one). */
static int snap_writer_rename(struct snap_writer *w, char *err, size_t errlen)
{
	struct stat st;

	if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->dir, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST)
		return snap_fail(err, errlen, -EEXIST, w->dir,
				 "appeared while the snapshot was written: not replaced");
	if (errno != EINVAL && errno != ENOSYS)
		return snap_fail_sys(err, errlen, w->dir, "rename");
	/* A filesystem without RENAME_NOREPLACE: check, then rename. */
	if (lstat(w->dir, &st) == 0)
		return snap_fail(err, errlen, -EEXIST, w->dir,
				 "appeared while the snapshot was written: not replaced");
	if (rename(w->tmp, w->dir) < 0)
		return snap_fail_sys(err, errlen, w->dir, "rename");
	return 0;
}

static int snap_fsync_parent(const char *dir, char *err, size_t errlen)
{
	char *parent = strdup(dir);
	char *slash = parent ? strrchr(parent, '/') : NULL;
	int ret;

	if (!parent)
		return snap_fail(err, errlen, -ENOMEM, dir, "out of memory");
	if (slash == parent)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	ret = snap_fsync_path(slash ? parent : ".", err, errlen);
	free(parent);
	return ret;
}

const char *snap_writer_via(const struct snap_writer *w)
{
	return snap_io_via(w->io);
}

int snap_writer_commit(struct snap_writer *w, char *err, size_t errlen)
{
	char why[160];
	int ret = snap_io_finish(w->io, why, sizeof(why));

	if (ret)
		ret = snap_fail(err, errlen, ret, w->file, "%s", why);
	else
		ret = snap_writer_write_meta(w, err, errlen);
	if (ret)
		goto fail;
	if (fsync(w->fd) < 0) {
		ret = snap_fail_sys(err, errlen, w->file, "fsync");
		goto fail;
	}
	ret = close(w->fd) < 0 ? snap_fail_sys(err, errlen, w->file, "close") : 0;
	w->fd = -1;
	if (!ret)
		ret = snap_fsync_path(w->tmp, err, errlen);
	if (!ret)
		ret = snap_writer_rename(w, err, errlen);
	if (ret)
		goto fail;
	ret = snap_fsync_parent(w->dir, err, errlen);
	if (ret)
		/* Not known to be durable: take it back, so that an error
		 * always means there is no snapshot. */
		snap_remove(w->dir);
	snap_writer_free(w, false);
	return ret;
fail:
	snap_writer_free(w, true);
	return ret;
}

void snap_writer_abort(struct snap_writer *w)
{
	if (w)
		snap_writer_free(w, true);
}

/* ---- reading ---- */

struct snap_device_ref {
	const char *name; /* NUL-terminated inside the section's name field */
	uint32_t version;
	const uint8_t *buf;
	size_t len;
};

struct snap_reader {
	char *path;
	int fd;
	struct snap_disk_header h;
	uint8_t *meta; /* bytes [dev_off, file_bytes): device sections, then entries */
	const struct snap_disk_entry *ent;
	uint32_t *blk; /* data block k's entry (nr_pages <= 2^26: fits) */
	struct snap_device_ref *dev;
};

void snap_reader_close(struct snap_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->meta);
	free(r->blk);
	free(r->dev);
	free(r);
}

/* The fields that locate the parts: each is what the counts (checked
 * first, so that nothing here overflows) make it. */
static int snap_check_layout(const char *path, const struct snap_disk_header *h, char *err,
			     size_t errlen)
{
	const struct {
		const char *what;
		unsigned long long off, want, found;
	} f[] = {
	    {"page size", SNAP_OFF(page_size), SNAP_PAGE, h->page_size},
	    {"header size", SNAP_OFF(header_bytes), SNAP_HEADER_BYTES, h->header_bytes},
	    {"data offset", SNAP_OFF(data_off), SNAP_HEADER_BYTES, h->data_off},
	    {"device sections offset (4096 + 4096 x the data pages at offset 32)",
	     SNAP_OFF(dev_off), SNAP_HEADER_BYTES + h->nr_data * SNAP_PAGE, h->dev_off},
	    {"device sections size (a multiple of 8)", SNAP_OFF(dev_bytes),
	     snap_align8(h->dev_bytes), h->dev_bytes},
	    {"entry list offset (device sections offset + size, at offsets 56 and 64)",
	     SNAP_OFF(entry_off), h->dev_off + h->dev_bytes, h->entry_off},
	    {"entry list size (32 x the entries at offset 24)", SNAP_OFF(entry_bytes),
	     h->nr_pages * sizeof(struct snap_disk_entry), h->entry_bytes},
	    {"file size (entry list offset + size, at offsets 72 and 80)", SNAP_OFF(file_bytes),
	     h->entry_off + h->entry_bytes, h->file_bytes},
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].want != f[i].found)
			return snap_fail(err, errlen, -EINVAL, path,
					 "offset %llu: expected %s %llu, found %llu", f[i].off,
					 f[i].what, f[i].want, f[i].found);
	return 0;
}

/* The counts, each bounded before it is used to compute an offset. */
static int snap_check_counts(const char *path, const struct snap_disk_header *h, char *err,
			     size_t errlen)
{
	if (!h->mem_bytes || h->mem_bytes % SNAP_PAGE || h->mem_bytes > GUEST_RAM_MAX_SIZE)
		return snap_fail(err, errlen, -EINVAL, path,
				 "offset %llu: expected guest memory size a non-zero multiple of "
				 "%d of at most %llu GiB, found %llu",
				 SNAP_OFF(mem_bytes), SNAP_PAGE, GUEST_RAM_MAX_SIZE >> 30,
				 (unsigned long long)h->mem_bytes);
	if (h->nr_pages > h->mem_bytes / SNAP_PAGE)
		return snap_fail(err, errlen, -EINVAL, path,
				 "offset %llu: expected at most %llu page entries (guest memory "
				 "/ 4096), found %llu",
				 SNAP_OFF(nr_pages), (unsigned long long)(h->mem_bytes / SNAP_PAGE),
				 (unsigned long long)h->nr_pages);
	if (h->nr_data > h->nr_pages)
		return snap_fail(err, errlen, -EINVAL, path,
				 "offset %llu: expected at most %llu data pages (the entries), "
				 "found %llu",
				 SNAP_OFF(nr_data), (unsigned long long)h->nr_pages,
				 (unsigned long long)h->nr_data);
	if (h->nr_devices > SNAP_MAX_DEVICES)
		return snap_fail(err, errlen, -EINVAL, path,
				 "offset %llu: expected at most %d devices, found %u",
				 SNAP_OFF(nr_devices), SNAP_MAX_DEVICES, h->nr_devices);
	if (h->dev_bytes > SNAP_MAX_DEVICE_AREA)
		return snap_fail(err, errlen, -EINVAL, path,
				 "offset %llu: expected at most %llu bytes of device sections, "
				 "found %llu",
				 SNAP_OFF(dev_bytes), SNAP_MAX_DEVICE_AREA,
				 (unsigned long long)h->dev_bytes);
	return 0;
}

static int snap_check_header(const char *path, const uint8_t *block, uint64_t size,
			     const struct snap_disk_header *h, char *err, size_t errlen)
{
	int ret;

	if (size >= sizeof(h->magic) && memcmp(h->magic, SNAP_MAGIC, sizeof(h->magic)))
		return snap_fail(err, errlen, -EINVAL, path,
				 "offset 0: expected magic \"VMMSNAP\\0\": not a snapshot file");
	if (size < SNAP_HEADER_BYTES)
		return snap_fail(err, errlen, -EINVAL, path,
				 "offset %llu: file ends inside the %d-byte header: cut short",
				 (unsigned long long)size, SNAP_HEADER_BYTES);
	if (h->version < SNAP_VERSION_MIN || h->version > SNAP_VERSION)
		return snap_fail(err, errlen, -EINVAL, path,
				 "offset %llu: expected version %d or %d, found %u",
				 SNAP_OFF(version), SNAP_VERSION_MIN, SNAP_VERSION, h->version);
	ret = snap_check_counts(path, h, err, errlen);
	if (!ret)
		ret = snap_check_layout(path, h, err, errlen);
	if (ret)
		return ret;
	for (size_t i = sizeof(*h); i < SNAP_HEADER_BYTES; i++)
		if (block[i])
			return snap_fail(err, errlen, -EINVAL, path,
					 "offset %zu: expected 0 (reserved), found %#x", i,
					 block[i]);
	if (size != h->file_bytes)
		return snap_fail(err, errlen, -EINVAL, path,
				 "offset %llu: file %s; expected %llu bytes (file size at offset "
				 "%llu)",
				 (unsigned long long)(size < h->file_bytes ? size : h->file_bytes),
				 size < h->file_bytes ? "ends: cut short" : "goes on",
				 (unsigned long long)h->file_bytes, SNAP_OFF(file_bytes));
	return 0;
}

/* One device section at pos of the device area; its size through *step. */
static int snap_check_device(struct snap_reader *r, unsigned i, uint64_t pos, uint64_t *step,
			     char *err, size_t errlen)
{
	unsigned long long off = r->h.dev_off + pos;
	uint64_t room = r->h.dev_bytes - pos;
	struct snap_disk_device d;
	size_t nlen;

	if (room < sizeof(d))
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: device section %u: expected its 48-byte header "
				 "before the entry list at offset %llu",
				 off, i, (unsigned long long)r->h.entry_off);
	memcpy(&d, r->meta + pos, sizeof(d));
	nlen = strnlen(d.name, sizeof(d.name));
	for (size_t k = nlen; k < sizeof(d.name); k++)
		if (d.name[k])
			nlen = 0;
	if (!snap_name_ok(d.name, nlen))
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: device section %u: expected a name of 1 to %d "
				 "printable characters, NUL-padded to 32 bytes",
				 off, i, SNAP_DEVICE_NAME_MAX);
	if (d.reserved)
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: device %s: expected 0 (reserved), found %#x",
				 off + offsetof(struct snap_disk_device, reserved), d.name,
				 d.reserved);
	if (d.length > SNAP_MAX_DEVICE_BYTES || snap_align8(d.length) > room - sizeof(d))
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: device %s: length %llu: expected at most %llu, to "
				 "end before the entry list at offset %llu",
				 off + offsetof(struct snap_disk_device, length), d.name,
				 (unsigned long long)d.length,
				 (unsigned long long)(room - sizeof(d) < SNAP_MAX_DEVICE_BYTES
							  ? room - sizeof(d)
							  : SNAP_MAX_DEVICE_BYTES),
				 (unsigned long long)r->h.entry_off);
	for (uint64_t k = d.length; k < snap_align8(d.length); k++)
		if (r->meta[pos + sizeof(d) + k])
			return snap_fail(err, errlen, -EINVAL, r->path,
					 "offset %llu: device %s: expected 0 (padding), found %#x",
					 off + sizeof(d) + k, d.name, r->meta[pos + sizeof(d) + k]);
	for (unsigned k = 0; k < i; k++)
		if (!strcmp(r->dev[k].name, d.name))
			return snap_fail(err, errlen, -EINVAL, r->path,
					 "offset %llu: device %s: expected each device once, found "
					 "it again (section %u)",
					 off, d.name, i);
	r->dev[i] = (struct snap_device_ref){
	    .name = (const char *)r->meta + pos,
	    .version = d.version,
	    .buf = r->meta + pos + sizeof(d),
	    .len = d.length,
	};
	*step = sizeof(d) + snap_align8(d.length);
	return 0;
}

static int snap_check_devices(struct snap_reader *r, char *err, size_t errlen)
{
	uint64_t pos = 0, step = 0;
	int ret;

	r->dev = calloc(r->h.nr_devices ? r->h.nr_devices : 1, sizeof(*r->dev));
	if (!r->dev)
		return snap_fail(err, errlen, -ENOMEM, r->path, "out of memory");
	for (unsigned i = 0; i < r->h.nr_devices; i++) {
		ret = snap_check_device(r, i, pos, &step, err, errlen);
		if (ret)
			return ret;
		pos += step;
	}
	if (pos != r->h.dev_bytes)
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: expected the entry list after %u device sections, "
				 "found %llu more bytes of device sections (size at offset %llu)",
				 (unsigned long long)(r->h.dev_off + pos), r->h.nr_devices,
				 (unsigned long long)(r->h.dev_bytes - pos), SNAP_OFF(dev_bytes));
	return 0;
}

/* The data index of entry i, the *data data entries before it checked and
 * their indices set in used. Version 1 gives the blocks in GPA order, so
 * the k-th data entry has index k; version 2 in the order the writer got
 * the pages, so the indices are any permutation of [0, nr_data). */
static int snap_check_index(const struct snap_reader *r, uint64_t i, uint64_t *data, uint64_t *used,
			    char *err, size_t errlen)
{
	const struct snap_disk_entry *e = &r->ent[i];
	unsigned long long off =
	    r->h.entry_off + i * sizeof(*e) + offsetof(struct snap_disk_entry, index);

	if (r->h.version == 1 && e->index != *data)
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: entry %llu: expected data index %llu (version 1: "
				 "data pages in GPA order), found %llu",
				 off, (unsigned long long)i, (unsigned long long)*data,
				 (unsigned long long)e->index);
	if (e->index >= r->h.nr_data)
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: entry %llu: data index %llu: expected below the "
				 "%llu data pages (at offset %llu)",
				 off, (unsigned long long)i, (unsigned long long)e->index,
				 (unsigned long long)r->h.nr_data, SNAP_OFF(nr_data));
	if (snap_bit(used, e->index))
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: entry %llu: data index %llu: expected each data "
				 "index once, found it in an earlier entry too",
				 off, (unsigned long long)i, (unsigned long long)e->index);
	snap_bit_set(used, e->index);
	r->blk[e->index] = (uint32_t)i;
	(*data)++;
	return 0;
}

/* Entry i, the entries before it checked and *data of them data pages. */
static int snap_check_entry(const struct snap_reader *r, uint64_t i, uint64_t *data, uint64_t *used,
			    char *err, size_t errlen)
{
	const struct snap_disk_entry *e = &r->ent[i];
	unsigned long long off = r->h.entry_off + i * sizeof(*e);

	if (!snap_ram_page(r->h.mem_bytes, e->gpn, NULL))
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: entry %llu: page number %#llx: expected a page of "
				 "guest RAM (%llu MiB)",
				 off, (unsigned long long)i, (unsigned long long)e->gpn,
				 (unsigned long long)(r->h.mem_bytes >> 20));
	if (i && e->gpn <= r->ent[i - 1].gpn)
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: entry %llu: GPA %#llx: expected above the GPA "
				 "before it (%#llx): entries sorted by GPA, each page once",
				 off, (unsigned long long)i,
				 (unsigned long long)(e->gpn * SNAP_PAGE),
				 (unsigned long long)(r->ent[i - 1].gpn * SNAP_PAGE));
	if ((e->kind != SNAP_KIND_ZERO && e->kind != SNAP_KIND_DATA) || e->reserved)
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: entry %llu: kind %u, reserved %u: expected kind 0 "
				 "(zero) or 1 (data), reserved 0",
				 off + offsetof(struct snap_disk_entry, kind),
				 (unsigned long long)i, e->kind, e->reserved);
	if (e->kind == SNAP_KIND_ZERO && (e->index || e->hash))
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: entry %llu: a zero page with index %llu, hash "
				 "%#llx: expected 0 and 0",
				 off + offsetof(struct snap_disk_entry, index),
				 (unsigned long long)i, (unsigned long long)e->index,
				 (unsigned long long)e->hash);
	if (e->kind == SNAP_KIND_DATA)
		return snap_check_index(r, i, data, used, err, errlen);
	return 0;
}

/* With each index below nr_data used at most once, as many data entries
 * as nr_data means each block belongs to exactly one entry. */
static int snap_check_entries(struct snap_reader *r, char *err, size_t errlen)
{
	uint64_t data = 0;
	uint64_t *used = snap_bitmap_new(r->h.nr_data); /* nr_data: at most 2^26, checked */
	int ret = 0;

	r->blk = malloc((r->h.nr_data + 1) * sizeof(*r->blk));
	if (!used || !r->blk) {
		free(used);
		return snap_fail(err, errlen, -ENOMEM, r->path, "out of memory");
	}
	r->ent = (const struct snap_disk_entry *)(r->meta + r->h.dev_bytes);
	for (uint64_t i = 0; !ret && i < r->h.nr_pages; i++)
		ret = snap_check_entry(r, i, &data, used, err, errlen);
	if (!ret && data != r->h.nr_data)
		ret = snap_fail(err, errlen, -EINVAL, r->path,
				"offset %llu: expected %llu data pages, as many as data entries, "
				"found %llu",
				SNAP_OFF(nr_data), (unsigned long long)data,
				(unsigned long long)r->h.nr_data);
	free(used);
	return ret;
}

static int snap_check_hash(const struct snap_reader *r, const uint8_t *block, char *err,
			   size_t errlen)
{
	uint64_t sum;
	int ret = snap_meta_hash(block, r->meta, r->h.dev_bytes, r->ent, r->h.entry_bytes, &sum);

	if (ret)
		return snap_fail(err, errlen, ret, r->path, "out of memory");
	if (sum != r->h.meta_hash)
		return snap_fail(err, errlen, -EINVAL, r->path,
				 "offset %llu: expected metadata hash %#llx (XXH3-64 of bytes "
				 "[0, %d) and [%llu, %llu)), found %#llx: the metadata is damaged",
				 SNAP_OFF(meta_hash), (unsigned long long)sum, SNAP_HEADER_BYTES,
				 (unsigned long long)r->h.dev_off,
				 (unsigned long long)r->h.file_bytes,
				 (unsigned long long)r->h.meta_hash);
	return 0;
}

/* Read the header block and the metadata after the data, checking the
 * header before its offsets are used. */
static int snap_reader_load(struct snap_reader *r, uint8_t *block, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t len;
	int ret;

	if (fstat(r->fd, &st) < 0)
		return snap_fail_sys(err, errlen, r->path, "fstat");
	if (!S_ISREG(st.st_mode)) /* replaced since it was looked at */
		return snap_fail(err, errlen, -EINVAL, r->path, "expected a regular file");
	n = snap_pread_full(r->fd, block, SNAP_HEADER_BYTES, 0);
	if (n < 0)
		return snap_fail(err, errlen, -EIO, r->path, "offset 0: reading the header: %s",
				 strerror(-n));
	memcpy(&r->h, block, sizeof(r->h));
	ret = snap_check_header(r->path, block,
				n < SNAP_HEADER_BYTES ? (uint64_t)n : (uint64_t)st.st_size, &r->h,
				err, errlen);
	if (ret)
		return ret;
	len = r->h.file_bytes - r->h.dev_off;
	r->meta = malloc(len ? len : 1);
	if (!r->meta)
		return snap_fail(err, errlen, -ENOMEM, r->path,
				 "cannot allocate %zu bytes of metadata", len);
	n = snap_pread_full(r->fd, r->meta, len, r->h.dev_off);
	if (n < 0 || (size_t)n < len)
		return snap_fail(err, errlen, -EIO, r->path,
				 "offset %llu: reading the metadata: %s",
				 (unsigned long long)(r->h.dev_off + (n < 0 ? 0 : n)),
				 n < 0 ? strerror(-n) : "file cut short");
	return 0;
}

/* A regular file, looked at before it is opened and opened without
 * blocking: a FIFO would hold open() until a writer came. */
static int snap_reader_open_file(struct snap_reader *r, char *err, size_t errlen)
{
	struct stat st;

	if (stat(r->path, &st) < 0)
		return snap_fail_sys(err, errlen, r->path, "open");
	if (!S_ISREG(st.st_mode))
		return snap_fail(err, errlen, -EINVAL, r->path, "expected a regular file, found %s",
				 S_ISFIFO(st.st_mode)  ? "a FIFO"
				 : S_ISDIR(st.st_mode) ? "a directory"
						       : "a device or socket");
	/* O_NONBLOCK does nothing to a regular file's reads. */
	r->fd = open(r->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	return r->fd < 0 ? snap_fail_sys(err, errlen, r->path, "open") : 0;
}

int snap_reader_open(struct snap_reader **out, const char *dir, char *err, size_t errlen)
{
	struct snap_reader *r;
	uint8_t *block = NULL;
	int ret;

	*out = NULL;
	if (!dir || !*dir)
		return snap_fail(err, errlen, -EINVAL, "(none)", "no snapshot directory given");
	r = calloc(1, sizeof(*r));
	if (!r)
		return snap_fail(err, errlen, -ENOMEM, dir, "out of memory");
	r->fd = -1;
	r->path = snap_path(dir, "/" SNAP_FILE);
	block = calloc(1, SNAP_HEADER_BYTES);
	if (!r->path || !block) {
		ret = snap_fail(err, errlen, -ENOMEM, dir, "out of memory");
		goto fail;
	}
	ret = snap_reader_open_file(r, err, errlen);
	if (ret)
		goto fail;
	ret = snap_reader_load(r, block, err, errlen);
	if (!ret)
		ret = snap_check_devices(r, err, errlen);
	if (!ret)
		ret = snap_check_entries(r, err, errlen);
	if (!ret)
		ret = snap_check_hash(r, block, err, errlen);
	if (ret)
		goto fail;
	free(block);
	*out = r;
	return 0;
fail:
	free(block);
	snap_reader_close(r);
	return ret;
}

const char *snap_reader_path(const struct snap_reader *r)
{
	return r->path;
}

uint64_t snap_reader_mem_bytes(const struct snap_reader *r)
{
	return r->h.mem_bytes;
}

int snap_reader_check_mem(const struct snap_reader *r, uint64_t mem_bytes, char *err, size_t errlen)
{
	if (mem_bytes == r->h.mem_bytes)
		return 0;
	return snap_fail(err, errlen, -EINVAL, r->path,
			 "offset %llu: a snapshot of a guest with %llu MiB (%llu bytes) of memory: "
			 "expected %llu MiB (%llu bytes), as given",
			 SNAP_OFF(mem_bytes), (unsigned long long)(r->h.mem_bytes >> 20),
			 (unsigned long long)r->h.mem_bytes, (unsigned long long)(mem_bytes >> 20),
			 (unsigned long long)mem_bytes);
}

unsigned snap_reader_nr_devices(const struct snap_reader *r)
{
	return r->h.nr_devices;
}

int snap_reader_device_at(const struct snap_reader *r, unsigned i, const char **name,
			  uint32_t *version, const void **buf, size_t *len)
{
	if (i >= r->h.nr_devices)
		return -ERANGE;
	if (name)
		*name = r->dev[i].name;
	if (version)
		*version = r->dev[i].version;
	if (buf)
		*buf = r->dev[i].buf;
	if (len)
		*len = r->dev[i].len;
	return 0;
}

int snap_reader_device(const struct snap_reader *r, const char *name, uint32_t *version,
		       const void **buf, size_t *len)
{
	for (unsigned i = 0; i < r->h.nr_devices; i++)
		if (!strcmp(r->dev[i].name, name))
			return snap_reader_device_at(r, i, NULL, version, buf, len);
	return -ENOENT;
}

int snap_reader_device_offset(const struct snap_reader *r, const char *name, uint64_t *off)
{
	for (unsigned i = 0; i < r->h.nr_devices; i++)
		if (!strcmp(r->dev[i].name, name)) {
			*off = r->h.dev_off + (uint64_t)(r->dev[i].buf - r->meta);
			return 0;
		}
	return -ENOENT;
}

uint64_t snap_reader_meta_hash(const struct snap_reader *r)
{
	return r->h.meta_hash;
}

uint64_t snap_reader_nr_pages(const struct snap_reader *r)
{
	return r->h.nr_pages;
}

int snap_reader_page_at(const struct snap_reader *r, uint64_t i, uint64_t *gpa,
			enum snap_kind *kind)
{
	if (i >= r->h.nr_pages)
		return -ERANGE;
	if (gpa)
		*gpa = r->ent[i].gpn * SNAP_PAGE;
	if (kind)
		*kind = r->ent[i].kind;
	return 0;
}

int64_t snap_reader_find(const struct snap_reader *r, uint64_t gpa)
{
	uint64_t lo = 0, hi = r->h.nr_pages, gpn = gpa / SNAP_PAGE;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (r->ent[mid].gpn < gpn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->h.nr_pages && r->ent[lo].gpn == gpn ? (int64_t)lo : -ENOENT;
}

/* Entry i's block, read into page, against its hash. */
static int snap_check_page(const struct snap_reader *r, uint64_t i, const void *page, char *err,
			   size_t errlen)
{
	const struct snap_disk_entry *e = &r->ent[i];
	uint64_t sum = XXH3_64bits(page, SNAP_PAGE);

	if (sum != e->hash)
		return snap_fail(
		    err, errlen, -EBADMSG, r->path,
		    "offset %llu: the page at GPA %#llx: expected XXH3-64 %#llx (entry "
		    "%llu), found %#llx: the page data is damaged",
		    (unsigned long long)(r->h.data_off + e->index * SNAP_PAGE),
		    (unsigned long long)(e->gpn * SNAP_PAGE), (unsigned long long)e->hash,
		    (unsigned long long)i, (unsigned long long)sum);
	return 0;
}

/* Blocks [first, first + n) in one read, not checked. */
static int snap_read_raw(const struct snap_reader *r, uint64_t first, uint64_t n, void *buf,
			 char *err, size_t errlen)
{
	unsigned long long off = r->h.data_off + first * SNAP_PAGE;
	ssize_t got = snap_pread_full(r->fd, buf, n * SNAP_PAGE, off);
	unsigned long long gpa = r->ent[r->blk[first]].gpn * SNAP_PAGE;

	if (got < 0)
		return snap_fail(err, errlen, -EIO, r->path,
				 "offset %llu: reading the page at GPA %#llx: %s", off, gpa,
				 strerror((int)-got));
	if ((uint64_t)got < n * SNAP_PAGE) {
		off += got & ~(uint64_t)(SNAP_PAGE - 1);
		gpa = r->ent[r->blk[first + got / SNAP_PAGE]].gpn * SNAP_PAGE;
		return snap_fail(err, errlen, -EIO, r->path,
				 "offset %llu: the page at GPA %#llx ends after %zd of %d bytes: "
				 "the file is cut short",
				 off, gpa, got % SNAP_PAGE, SNAP_PAGE);
	}
	return 0;
}

uint64_t snap_reader_nr_data(const struct snap_reader *r)
{
	return r->h.nr_data;
}

int snap_reader_read_blocks(const struct snap_reader *r, uint64_t first, unsigned n, void *buf,
			    uint64_t *ents, char *err, size_t errlen)
{
	int ret;

	if (first > r->h.nr_data || n > r->h.nr_data - first)
		return snap_fail(err, errlen, -ERANGE, r->path,
				 "data blocks [%llu, %llu): expected below %llu blocks",
				 (unsigned long long)first, (unsigned long long)first + n,
				 (unsigned long long)r->h.nr_data);
	if (!n)
		return 0;
	ret = buf ? snap_read_raw(r, first, n, buf, err, errlen) : 0;
	for (unsigned k = 0; !ret && k < n; k++) {
		ents[k] = r->blk[first + k];
		if (buf)
			ret = snap_check_page(r, ents[k], (uint8_t *)buf + (size_t)k * SNAP_PAGE,
					      err, errlen);
	}
	return ret;
}

void snap_reader_advise(const struct snap_reader *r, uint64_t first, uint64_t n)
{
	if (first < r->h.nr_data && n)
		posix_fadvise(r->fd, r->h.data_off + first * SNAP_PAGE,
			      (n < r->h.nr_data - first ? n : r->h.nr_data - first) * SNAP_PAGE,
			      POSIX_FADV_WILLNEED);
}

int snap_reader_read_pages(const struct snap_reader *r, uint64_t i, unsigned n, void *buf,
			   char *err, size_t errlen)
{
	unsigned k = 0, run;
	int ret = 0;

	if (i > r->h.nr_pages || n > r->h.nr_pages - i)
		return snap_fail(err, errlen, -ERANGE, r->path,
				 "page entries [%llu, %llu): expected below %llu entries",
				 (unsigned long long)i, (unsigned long long)i + n,
				 (unsigned long long)r->h.nr_pages);
	while (!ret && k < n) {
		const struct snap_disk_entry *e = &r->ent[i + k];
		uint8_t *at = (uint8_t *)buf + (size_t)k * SNAP_PAGE;

		if (e->kind == SNAP_KIND_ZERO) {
			memset(at, 0, SNAP_PAGE);
			k++;
			continue;
		}
		/* Neighbours in GPA are mostly neighbours in the file: one read. */
		for (run = 1;
		     k + run < n && e[run].kind == SNAP_KIND_DATA && e[run].index == e->index + run;
		     run++)
			;
		ret = snap_read_raw(r, e->index, run, at, err, errlen);
		for (unsigned j = 0; !ret && j < run; j++)
			ret =
			    snap_check_page(r, i + k + j, at + (size_t)j * SNAP_PAGE, err, errlen);
		k += run;
	}
	return ret;
}

int snap_reader_read_page(const struct snap_reader *r, uint64_t i, void *page, char *err,
			  size_t errlen)
{
	if (i >= r->h.nr_pages)
		return snap_fail(err, errlen, -ERANGE, r->path,
				 "page entry %llu: expected below %llu entries",
				 (unsigned long long)i, (unsigned long long)r->h.nr_pages);
	return snap_reader_read_pages(r, i, 1, page, err, errlen);
}
