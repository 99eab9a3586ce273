/* vmm/snapshot/wsfile.c: a snapshot's working set, see wsfile.h. */
#include "wsfile.h"

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

#define WS_MAGIC "VMMWSET" /* with its NUL: 8 bytes */

struct ws_disk_header {
	char magic[8];
	uint32_t version;
	uint32_t page_size;
	uint64_t snapshot; /* the snapshot's meta_hash */
	uint64_t count;
};
_Static_assert(sizeof(struct ws_disk_header) == 32, "working-set header layout");

#define WS_OFF(field) ((unsigned long long)offsetof(struct ws_disk_header, field))

static int ws_fail(char *err, size_t errlen, int ret, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int ws_fail(char *err, size_t errlen, int ret, const char *path, const char *fmt, ...)
{
	va_list ap;
	int len = snprintf(err, errlen, "%s: ", path);

	if (len >= 0 && (size_t)len < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + len, errlen - len, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* DIR/name beside r's DIR/snapshot; NULL: no memory. */
static char *ws_path(const struct snap_reader *r, const char *name)
{
	const char *file = snap_reader_path(r), *slash = strrchr(file, '/');
	char *p;

	if (asprintf(&p, "%.*s%s", slash ? (int)(slash - file + 1) : 0, file, name) < 0)
		return NULL;
	return p;
}

static bool ws_data_page(const struct snap_reader *r, uint64_t gpa)
{
	int64_t i = snap_reader_find(r, gpa);
	enum snap_kind kind;

	return i >= 0 && !snap_reader_page_at(r, (uint64_t)i, NULL, &kind) &&
	       kind == SNAP_KIND_DATA;
}

static int ws_check_header(const struct snap_reader *r, const char *path,
			   const struct ws_disk_header *h, uint64_t size, char *err, size_t errlen)
{
	uint64_t pages = snap_reader_mem_bytes(r) / SNAP_PAGE;

	if (size < sizeof(*h) + 8)
		return ws_fail(err, errlen, -EINVAL, path,
			       "offset %llu: the file ends after %llu bytes: expected at least %zu",
			       (unsigned long long)size, (unsigned long long)size, sizeof(*h) + 8);
	if (memcmp(h->magic, WS_MAGIC, sizeof(h->magic)))
		return ws_fail(err, errlen, -EINVAL, path,
			       "offset 0: expected magic \"VMMWSET\": not a working-set file");
	if (h->version != SNAP_WS_VERSION || h->page_size != SNAP_PAGE)
		return ws_fail(err, errlen, -EINVAL, path,
			       "offset %llu: version %u, page size %u: expected version %d, page "
			       "size %d",
			       WS_OFF(version), h->version, h->page_size, SNAP_WS_VERSION,
			       SNAP_PAGE);
	if (h->count > pages || size != sizeof(*h) + 8 * h->count + 8)
		return ws_fail(err, errlen, -EINVAL, path,
			       "offset %llu: count %llu: expected at most %llu pages, and a file "
			       "of 40 + 8 x count bytes (it has %llu)",
			       WS_OFF(count), (unsigned long long)h->count,
			       (unsigned long long)pages, (unsigned long long)size);
	return 0;
}

/* The pages after the header, and the hash after them. */
static int ws_check_body(const struct snap_reader *r, const char *path, const uint8_t *buf,
			 const struct ws_disk_header *h, char *err, size_t errlen)
{
	const uint64_t *gpn = (const uint64_t *)(buf + sizeof(*h));
	uint64_t sum, want;

	memcpy(&want, buf + sizeof(*h) + 8 * h->count, sizeof(want));
	sum = XXH3_64bits(buf, sizeof(*h) + 8 * h->count);
	if (sum != want)
		return ws_fail(err, errlen, -EINVAL, path,
			       "offset %llu: expected XXH3-64 %#llx of the bytes before it, found "
			       "%#llx: the file is damaged",
			       (unsigned long long)(sizeof(*h) + 8 * h->count),
			       (unsigned long long)sum, (unsigned long long)want);
	if (h->snapshot != snap_reader_meta_hash(r))
		return ws_fail(err, errlen, -EINVAL, path,
			       "offset %llu: recorded for the snapshot whose metadata hash is "
			       "%#llx, expected %#llx (%s): from another snapshot",
			       WS_OFF(snapshot), (unsigned long long)h->snapshot,
			       (unsigned long long)snap_reader_meta_hash(r), snap_reader_path(r));
	for (uint64_t i = 0; i < h->count; i++)
		if ((i && gpn[i] <= gpn[i - 1]) || gpn[i] > UINT64_MAX / SNAP_PAGE ||
		    !ws_data_page(r, gpn[i] * SNAP_PAGE))
			return ws_fail(err, errlen, -EINVAL, path,
				       "offset %llu: page %llu, number %#llx: expected above the "
				       "one before it and a data page of the snapshot",
				       (unsigned long long)(sizeof(*h) + 8 * i),
				       (unsigned long long)i, (unsigned long long)gpn[i]);
	return 0;
}

/* The whole file into *buf: 0, 1 if there is none, or -errno. */
static int ws_slurp(const char *path, uint8_t **buf, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return ws_fail(err, errlen, -errno, path, "open: %s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
		ret = ws_fail(err, errlen, -EINVAL, path,
			      "expected a regular file of at most 64 MiB");
		goto out;
	}
	*size = st.st_size;
	*buf = malloc(*size + 1);
	if (!*buf) {
		ret = ws_fail(err, errlen, -ENOMEM, path, "out of memory");
		goto out;
	}
	n = pread(fd, *buf, *size, 0);
	if (n < 0 || (uint64_t)n != *size)
		ret = ws_fail(err, errlen, -EIO, path, "offset %lld: reading: %s",
			      (long long)(n < 0 ? 0 : n), n < 0 ? strerror(errno) : "cut short");
out:
	close(fd);
	return ret;
}

int snap_ws_read(const struct snap_reader *r, uint64_t **gpa, uint64_t *n, char *err, size_t errlen)
{
	char *path = ws_path(r, SNAP_WS_FILE);
	struct ws_disk_header h = {0};
	uint8_t *buf = NULL;
	uint64_t size = 0;
	int ret;

	*gpa = NULL;
	*n = 0;
	if (!path)
		return ws_fail(err, errlen, -ENOMEM, snap_reader_path(r), "out of memory");
	ret = ws_slurp(path, &buf, &size, err, errlen);
	if (ret)
		goto out;
	memcpy(&h, buf, size < sizeof(h) ? size : sizeof(h));
	ret = ws_check_header(r, path, &h, size, err, errlen);
	if (!ret)
		ret = ws_check_body(r, path, buf, &h, err, errlen);
	if (ret)
		goto out;
	/* In place: page numbers become GPAs. */
	*gpa = (uint64_t *)buf;
	memmove(buf, buf + sizeof(h), 8 * h.count);
	for (uint64_t i = 0; i < h.count; i++)
		(*gpa)[i] *= SNAP_PAGE;
	*n = h.count;
	buf = NULL;
out:
	free(buf);
	free(path);
	return ret > 0 ? 0 : ret;
}

static int ws_write_file(const char *tmp, const void *buf, size_t len, char *err, size_t errlen)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), ret = 0;
	ssize_t n;

	if (fd < 0)
		return ws_fail(err, errlen, -errno, tmp, "open: %s", strerror(errno));
	n = write(fd, buf, len);
	if (n < 0 || (size_t)n != len || fsync(fd) < 0)
		ret = ws_fail(err, errlen, -EIO, tmp, "writing: %s",
			      n < 0 || (size_t)n == len ? strerror(errno) : "short write");
	close(fd);
	return ret;
}

int snap_ws_write(const struct snap_reader *r, const uint64_t *gpa, uint64_t n, uint64_t *kept,
		  char *err, size_t errlen)
{
	char *path = ws_path(r, SNAP_WS_FILE), *tmp = ws_path(r, SNAP_WS_FILE ".tmp");
	struct ws_disk_header h = {.magic = WS_MAGIC,
				   .version = SNAP_WS_VERSION,
				   .page_size = SNAP_PAGE,
				   .snapshot = snap_reader_meta_hash(r)};
	uint64_t *buf = malloc(sizeof(h) + 8 * n + 8), sum;
	int ret = 0;

	if (!path || !tmp || !buf) {
		ret = ws_fail(err, errlen, -ENOMEM, snap_reader_path(r), "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < n; i++)
		if (ws_data_page(r, gpa[i]))
			buf[4 + h.count++] = gpa[i] / SNAP_PAGE;
	memcpy(buf, &h, sizeof(h));
	sum = XXH3_64bits(buf, sizeof(h) + 8 * h.count);
	buf[4 + h.count] = sum;
	ret = ws_write_file(tmp, buf, sizeof(h) + 8 * h.count + 8, err, errlen);
	if (!ret && rename(tmp, path) < 0)
		ret = ws_fail(err, errlen, -errno, path, "rename: %s", strerror(errno));
	if (ret)
		unlink(tmp);
	*kept = h.count;
out:
	free(buf);
	free(path);
	free(tmp);
	return ret;
}
