/* tests/fuzz/fuzz_cpio.c: libFuzzer target for the guest kernel's initrd
 * reader (guest-kernel/gk_cpio.c and gk_cache.c, built for the host).
 *
 * The input is an archive as a VMM or QEMU would pass it, which the
 * guest must not trust: each entry the parser returns must lie inside it,
 * the walk must end, and loading it into the page cache, then reading
 * every page of every file through the cache, must neither crash nor
 * read outside the archive (ASan sees the input in a buffer of its exact
 * size). Frames come from a buffer standing for guest RAM.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gk_cache.h"
#include "gk_cpio.h"

#define FUZZ_RAM_PAGES 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int64_t gk_hcall_call(struct gk_hcall *h, uint32_t nr, uint32_t count, uint64_t arg0, uint64_t arg1)
{
	(void)h, (void)nr, (void)count, (void)arg0, (void)arg1;
	abort(); /* no VMM services here */
}

static void fuzz_walk(const uint8_t *a, size_t len)
{
	struct gk_cpio_entry e;
	const char *why = NULL;
	uint64_t off = 0, before;
	int ret;

	do {
		before = off;
		ret = gk_cpio_next(a, len, &off, &e, &why);
		if (ret >= 0 && ((const uint8_t *)e.name < a || e.data < a ||
				 e.data + e.size > a + len || off <= before || off > len)) {
			fprintf(stderr, "entry outside the archive or no progress at %lu\n",
				before);
			abort();
		}
	} while (ret > 0);
	if (ret < 0 && !why)
		abort();
}

static void fuzz_cache(const uint8_t *a, size_t len, uint8_t *ram)
{
	struct gk_bootinfo bi = {.nr_ram = 1};
	static struct gk_frames frames;
	static struct gk_cache cache;
	const char *why = NULL;
	uint64_t pa, i;
	unsigned f;

	memset(&frames, 0, sizeof(frames));
	memset(&cache, 0, sizeof(cache));
	memset(ram, 0, FUZZ_RAM_PAGES * 4096);
	bi.ram[0].start = (uint64_t)(uintptr_t)ram;
	bi.ram[0].end = bi.ram[0].start + FUZZ_RAM_PAGES * 4096;
	if (gk_frame_init(&frames, &bi, bi.ram[0].start, NULL) < 0)
		abort();
	gk_cache_init(&cache, &frames);
	gk_cache_load_archive(&cache, a, len, &why);
	for (f = 0; f < cache.nr_files; f++) {
		struct gk_obj *o = cache.files[f];

		if (o->data < a || o->data + o->size > a + len)
			abort();
		for (i = 0; i * 4096 < o->size && i < 8; i++) {
			if (gk_cache_get(&cache, o, i, &pa) < 0)
				break; /* out of frames: fine */
			if (memcmp((void *)(uintptr_t)pa, o->data + i * 4096,
				   o->size - i * 4096 < 4096 ? o->size - i * 4096 : 4096))
				abort();
			gk_frame_put(&frames, pa); /* the mapping's reference */
		}
		if (gk_cache_get(&cache, o, (o->size + 4095) / 4096, &pa) != -EFAULT)
			abort(); /* past the end */
	}
	gk_cache_shrink(&cache);
	if (frames.free + frames.stats.allocs - frames.stats.frees != frames.total)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	uint8_t *copy = malloc(size ? size : 1);

	if (!ram)
		ram = aligned_alloc(4096, FUZZ_RAM_PAGES * 4096);
	memcpy(copy, data, size);
	fuzz_walk(copy, size);
	fuzz_cache(copy, size, ram);
	free(copy);
	return 0;
}
