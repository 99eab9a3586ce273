/* tests/fuzz/snapfile-seeds.c: write valid snapshot files as seeds for
 * fuzz_snapfile into DIR (seed-empty, seed-small, seed-high, seed-cbw),
 * made by the writer itself so that they follow the format as it is built
 * (version SNAP_VERSION). seed-cbw gives its pages out of GPA order, as a
 * live snapshot's copy-before-write does, so that its data indices are
 * not in entry order.
 * Usage: snapfile-seeds DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapfile.h"

struct seed_page {
	uint64_t gpa;
	int fill; /* -1: all zero */
};

struct seed {
	const char *name;
	uint64_t mem_bytes;
	const char *devices[3];
	struct seed_page pages[4]; /* in the order given; gpa 0 ends the list */
};

static const struct seed seeds[] = {
    {"seed-empty", 1 << 20, {NULL}, {{0, 0}}},
    {"seed-small",
     1 << 20,
     {"serial", "vcpu0", NULL},
     {{0x1000, 0x11}, {0x2000, -1}, {0x9f000, 0x5a}, {0, 0}}},
    {"seed-high", 5ULL << 30, {"exit", NULL}, {{0xbffff000, -1}, {0x100000000, 0x77}, {0, 0}}},
    {"seed-cbw",
     1 << 20,
     {"serial", NULL},
     {{0x9f000, 0x5a}, {0x1000, 0x11}, {0x3000, -1}, {0x2000, 0x22}}},
};

static int seed_write(const char *dir, const struct seed *s)
{
	char tmp[512], from[600], to[600], err[512];
	struct snap_writer *w;
	uint8_t page[SNAP_PAGE];
	int ret;

	snprintf(tmp, sizeof(tmp), "%s/%s.d", dir, s->name);
	ret = snap_writer_open(&w, tmp, s->mem_bytes, err, sizeof(err));
	for (unsigned i = 0; !ret && i < 3 && s->devices[i]; i++)
		ret = snap_writer_device(w, s->devices[i], i + 1, s->name, strlen(s->name), err,
					 sizeof(err));
	for (unsigned i = 0; !ret && i < 4 && s->pages[i].gpa; i++) {
		for (unsigned k = 0; k < SNAP_PAGE; k++)
			page[k] = s->pages[i].fill < 0 ? 0 : (uint8_t)(s->pages[i].fill + k);
		ret = snap_writer_page(w, s->pages[i].gpa, page, err, sizeof(err));
	}
	if (ret) {
		if (w)
			snap_writer_abort(w);
		fprintf(stderr, "snapfile-seeds: %s\n", err);
		return 1;
	}
	if (snap_writer_commit(w, err, sizeof(err))) {
		fprintf(stderr, "snapfile-seeds: %s\n", err);
		return 1;
	}
	snprintf(from, sizeof(from), "%s/" SNAP_FILE, tmp);
	snprintf(to, sizeof(to), "%s/%s", dir, s->name);
	if (rename(from, to) || rmdir(tmp)) {
		perror("snapfile-seeds: rename");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: snapfile-seeds DIR\n");
		return 2;
	}
	for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		if (seed_write(argv[1], &seeds[i]))
			return 1;
	return 0;
}
