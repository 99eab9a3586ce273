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

static int kstats_read_one(int fd, const struct kvm_stats_header *h, const struct kvm_stats_desc *d,
			   struct kstat *out)
{
	uint64_t value;

	if (d->size != 1)
		return 0;
	if (pread(fd, &value, sizeof(value), h->data_offset + d->offset) != sizeof(value))
		return -EIO;
	snprintf(out->name, sizeof(out->name), "%.*s", (int)h->name_size, d->name);
	out->value = value;
	return 1;
}

int kstats_read(int fd, struct kstats *out)
{
	struct kvm_stats_header h;
	size_t desc_size;
	uint8_t *descs = NULL;
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
	for (uint32_t i = 0; i < h.num_desc; i++) {
		int r = kstats_read_one(fd, &h, (struct kvm_stats_desc *)(descs + i * desc_size),
					&out->v[out->n]);
		if (r < 0) {
			ret = r;
			goto out;
		}
		out->n += r;
	}
out:
	free(descs);
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
