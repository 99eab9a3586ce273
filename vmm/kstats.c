/* vmm/kstats.c: KVM binary statistics, see kstats.h. */
#include "kstats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm.h"

#ifndef KVM_STATS_TYPE_MASK
struct kvm_stats_header {
	uint32_t flags, name_size, num_desc, id_offset, desc_offset, data_offset;
};
struct kvm_stats_desc {
	uint32_t flags;
	int16_t exponent;
	uint16_t size;
	uint32_t offset;
	uint32_t bucket_size;
	char name[];
};
#endif

#define KSTATS_MAX_DESC 4096
#define KSTATS_MAX_DATA (1 << 20) /* bytes of values the descriptors may cover */

/* One descriptor's value from the data block (data_len bytes), if it is a
 * single u64: 1, 0 to skip it, -EIO if it lies outside the block. */
static int kstats_take_one(const struct kvm_stats_header *h, const struct kvm_stats_desc *d,
			   const uint8_t *data, size_t data_len, struct kstat *out)
{
	uint64_t value;

	if (d->size != 1)
		return 0;
	if (d->offset > data_len || data_len - d->offset < sizeof(value))
		return -EIO;
	memcpy(&value, data + d->offset, sizeof(value));
	snprintf(out->name, sizeof(out->name), "%.*s", (int)h->name_size, d->name);
	out->value = value;
	return 1;
}

/* Bytes of the data block the descriptors cover. */
static size_t kstats_data_len(const struct kvm_stats_header *h, const uint8_t *descs,
			      size_t desc_size)
{
	size_t len = 0;

	for (uint32_t i = 0; i < h->num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)(descs + i * desc_size);
		size_t end = (size_t)d->offset + (size_t)d->size * sizeof(uint64_t);

		len = end > len ? end : len;
	}
	return len;
}

/* The descriptors, then the whole data block in one read: two reads,
 * not one per statistic (they are read at every report). */
int kstats_read(int fd, struct kstats *out)
{
	struct kvm_stats_header h;
	size_t desc_size, data_len;
	uint8_t *descs = NULL, *data = NULL;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return 0;
	if (pread(fd, &h, sizeof(h), 0) != sizeof(h))
		return -EIO;
	if (h.num_desc > KSTATS_MAX_DESC || h.name_size > 256)
		return -EINVAL;
	desc_size = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(desc_size * h.num_desc + 1);
	out->v = calloc(h.num_desc + 1, sizeof(*out->v));
	if (!descs || !out->v) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(fd, descs, desc_size * h.num_desc, h.desc_offset) !=
	    (ssize_t)(desc_size * h.num_desc)) {
		ret = -EIO;
		goto out;
	}
	data_len = kstats_data_len(&h, descs, desc_size);
	if (data_len > KSTATS_MAX_DATA) {
		ret = -EINVAL; /* a descriptor past any sane block: read nothing */
		goto out;
	}
	data = malloc(data_len + 1);
	if (!data) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(fd, data, data_len, h.data_offset) != (ssize_t)data_len) {
		ret = -EIO;
		goto out;
	}
	for (uint32_t i = 0; i < h.num_desc; i++) {
		int r = kstats_take_one(&h, (struct kvm_stats_desc *)(descs + i * desc_size), data,
					data_len, &out->v[out->n]);
		if (r < 0) {
			ret = r;
			goto out;
		}
		out->n += r;
	}
out:
	free(descs);
	free(data);
	if (ret)
		kstats_free(out);
	return ret;
}

void kstats_free(struct kstats *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}
