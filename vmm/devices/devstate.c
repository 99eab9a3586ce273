/* vmm/devices/devstate.c: device state bytes, see devstate.h. */
#include "devstate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int devstate_register(struct devstate_table *t, const struct devstate_ops *ops, void *dev)
{
	if (strlen(ops->name) > DEVSTATE_NAME_MAX)
		return -EINVAL;
	for (int i = 0; i < t->nr; i++)
		if (!strcmp(t->row[i].ops->name, ops->name))
			return -EEXIST;
	if (t->nr == DEVSTATE_MAX_DEVS)
		return -ENOSPC;
	t->row[t->nr++] = (struct devstate_row){.ops = ops, .dev = dev};
	return 0;
}

/* --- Writing ------------------------------------------------------------ */

static void devstate_put_le(struct devstate_writer *w, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++, w->pos++)
		if (w->pos < w->len)
			w->buf[w->pos] = (uint8_t)(v >> (8 * i));
}

void devstate_begin(struct devstate_writer *w, void *buf, size_t len, uint32_t version)
{
	*w = (struct devstate_writer){.buf = buf, .len = len};
	devstate_put_u32(w, version);
	devstate_put_u32(w, 0); /* the length, once known */
}

void devstate_put_u8(struct devstate_writer *w, uint8_t v)
{
	devstate_put_le(w, v, 1);
}

void devstate_put_u32(struct devstate_writer *w, uint32_t v)
{
	devstate_put_le(w, v, 4);
}

void devstate_put_u64(struct devstate_writer *w, uint64_t v)
{
	devstate_put_le(w, v, 8);
}

void devstate_put_bytes(struct devstate_writer *w, const void *p, size_t n)
{
	if (w->pos < w->len)
		memcpy(w->buf + w->pos, p, n < w->len - w->pos ? n : w->len - w->pos);
	w->pos += n;
}

int devstate_end(struct devstate_writer *w, size_t *used)
{
	size_t end = w->pos;

	*used = end;
	if (end > w->len)
		return -ENOSPC;
	w->pos = 4;
	devstate_put_u32(w, (uint32_t)(end - DEVSTATE_HEADER));
	w->pos = end;
	return 0;
}

/* --- Reading ------------------------------------------------------------ */

int devstate_fail(struct devstate_reader *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->ret)
		return r->ret;
	r->ret = -EINVAL;
	if (!r->errlen)
		return r->ret;
	n = snprintf(r->err, r->errlen, "%s state: ", r->dev);
	if (n >= 0 && (size_t)n < r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->errlen - n, fmt, ap);
		va_end(ap);
	}
	return r->ret;
}

static bool devstate_take(struct devstate_reader *r, size_t n, const char *field)
{
	if (r->ret)
		return false;
	if (n > r->len - r->pos) {
		devstate_fail(r, "%s at byte %zu needs %zu bytes, %zu left of %zu", field, r->pos,
			      n, r->len - r->pos, r->len);
		return false;
	}
	return true;
}

static uint64_t devstate_get_le(struct devstate_reader *r, unsigned bytes, const char *field)
{
	uint64_t v = 0;

	if (!devstate_take(r, bytes, field))
		return 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)r->buf[r->pos + i] << (8 * i);
	r->pos += bytes;
	return v;
}

uint8_t devstate_get_u8(struct devstate_reader *r, const char *field)
{
	return (uint8_t)devstate_get_le(r, 1, field);
}

uint32_t devstate_get_u32(struct devstate_reader *r, const char *field)
{
	return (uint32_t)devstate_get_le(r, 4, field);
}

uint64_t devstate_get_u64(struct devstate_reader *r, const char *field)
{
	return devstate_get_le(r, 8, field);
}

const uint8_t *devstate_get_bytes(struct devstate_reader *r, size_t n, const char *field)
{
	const uint8_t *p;

	if (!devstate_take(r, n, field))
		return NULL;
	p = r->buf + r->pos;
	r->pos += n;
	return p;
}

int devstate_open(struct devstate_reader *r, const char *dev, uint32_t version, const void *buf,
		  size_t len, char *err, size_t errlen)
{
	uint32_t v, n;

	*r = (struct devstate_reader){
	    .buf = buf, .len = len, .dev = dev, .err = err, .errlen = errlen};
	if (errlen)
		err[0] = '\0';
	v = devstate_get_u32(r, "version");
	n = devstate_get_u32(r, "length");
	if (!r->ret && v != version)
		return devstate_fail(r, "version %u: expected %u", v, version);
	if (!r->ret && n != len - DEVSTATE_HEADER)
		return devstate_fail(r, "length %u: expected %zu (the bytes after the header)", n,
				     len - DEVSTATE_HEADER);
	return r->ret;
}

int devstate_close(struct devstate_reader *r)
{
	if (!r->ret && r->pos != r->len)
		devstate_fail(r, "%zu bytes left over after the last field (byte %zu of %zu)",
			      r->len - r->pos, r->pos, r->len);
	return r->ret;
}

int devstate_save_empty(uint32_t version, void *buf, size_t len, size_t *used)
{
	struct devstate_writer w;

	devstate_begin(&w, buf, len, version);
	return devstate_end(&w, used);
}

int devstate_restore_empty(const char *dev, uint32_t version, const void *buf, size_t len,
			   char *err, size_t errlen)
{
	struct devstate_reader r;

	devstate_open(&r, dev, version, buf, len, err, errlen);
	return devstate_close(&r);
}

/* --- A VM's table ------------------------------------------------------- */

int devstate_save_all(const struct devstate_table *t, void *buf, size_t len, size_t *used)
{
	size_t pos = 0, n;
	int ret = 0;

	for (int i = 0; i < t->nr; i++) {
		const struct devstate_ops *ops = t->row[i].ops;
		size_t name_len = strlen(ops->name);
		uint8_t *p = buf;
		int r;

		if (pos + 1 + name_len <= len) {
			p[pos] = (uint8_t)name_len;
			memcpy(p + pos + 1, ops->name, name_len);
		}
		pos += 1 + name_len;
		r = ops->save(t->row[i].dev, pos < len ? p + pos : NULL, pos < len ? len - pos : 0,
			      &n);
		if (r && r != -ENOSPC)
			return r;
		ret = ret ? ret : r;
		pos += n;
	}
	*used = pos;
	return pos > len ? -ENOSPC : ret;
}

static int devstate_all_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int devstate_all_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The row named by the section at buf[pos], or -1 (err says why). */
static int devstate_find(const struct devstate_table *t, const uint8_t *buf, size_t len, size_t pos,
			 char *err, size_t errlen)
{
	size_t n = buf[pos];

	if (n == 0 || n > DEVSTATE_NAME_MAX || n >= len - pos) {
		devstate_all_fail(
		    err, errlen,
		    "device section at byte %zu: name of %zu bytes: expected 1 to %d, "
		    "inside the %zu bytes",
		    pos, n, DEVSTATE_NAME_MAX, len);
		return -1;
	}
	for (int i = 0; i < t->nr; i++)
		if (strlen(t->row[i].ops->name) == n &&
		    !memcmp(t->row[i].ops->name, buf + pos + 1, n))
			return i;
	devstate_all_fail(err, errlen, "device section at byte %zu: '%.*s' is no device of this VM",
			  pos, (int)n, (const char *)buf + pos + 1);
	return -1;
}

/* Bytes of the device section at buf[pos], from its header; 0 if it does not fit. */
static size_t devstate_extent(const uint8_t *buf, size_t len, size_t pos)
{
	uint64_t n;

	if (len - pos < DEVSTATE_HEADER)
		return 0;
	n = buf[pos + 4] | (uint32_t)buf[pos + 5] << 8 | (uint32_t)buf[pos + 6] << 16 |
	    (uint32_t)buf[pos + 7] << 24;
	return n + DEVSTATE_HEADER <= len - pos ? n + DEVSTATE_HEADER : 0;
}

static int devstate_restore_from(struct devstate_table *t, const uint8_t *p, size_t len,
				 size_t *pos, char *err, size_t errlen)
{
	bool seen[DEVSTATE_MAX_DEVS] = {false};
	size_t n = 0;
	int i, ret;

	for (; *pos < len; *pos += 1 + p[*pos] + n) {
		i = devstate_find(t, p, len, *pos, err, errlen);
		if (i < 0)
			return -EINVAL;
		if (seen[i])
			return devstate_all_fail(err, errlen,
						 "device section at byte %zu: '%s' again", *pos,
						 t->row[i].ops->name);
		seen[i] = true;
		n = devstate_extent(p, len, *pos + 1 + p[*pos]);
		if (!n)
			return devstate_all_fail(
			    err, errlen, "%s state at byte %zu: runs past the end (%zu bytes)",
			    t->row[i].ops->name, *pos + 1 + p[*pos], len);
		ret = t->row[i].ops->restore(t->row[i].dev, p + *pos + 1 + p[*pos], n, err, errlen);
		if (ret)
			return ret;
	}
	for (i = 0; i < t->nr; i++)
		if (!seen[i])
			return devstate_all_fail(err, errlen,
						 "%s state: missing from the %zu bytes",
						 t->row[i].ops->name, len);
	return 0;
}

int devstate_restore_all(struct devstate_table *t, const void *buf, size_t len, size_t *at,
			 char *err, size_t errlen)
{
	size_t pos = 0;
	int ret = devstate_restore_from(t, buf, len, &pos, err, errlen);

	if (at)
		*at = pos;
	return ret;
}

int devstate_commit_all(struct devstate_table *t, char *err, size_t errlen)
{
	for (int i = 0; i < t->nr; i++) {
		int ret =
		    t->row[i].ops->commit ? t->row[i].ops->commit(t->row[i].dev, err, errlen) : 0;

		if (ret)
			return ret;
	}
	return 0;
}
