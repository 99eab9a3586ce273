/* guest-kernel/gk_cache.h: the page cache and the objects it caches.
 *
 * An object is a file of the boot archive (read-only; its bytes sit in
 * the archive in guest memory) or a shared anonymous object (made by
 * mmap(MAP_SHARED | MAP_ANONYMOUS), its pages zero until written). The
 * cache maps (object, page index) to a frame through a hash table; every
 * process that maps the page maps that frame. The cache holds one
 * reference to each frame it caches (gk_fref.h), so a cached page that a
 * process maps has a count of two or more and a private mapping's write
 * always copies it.
 *
 * A file page is read on its first fault (a miss: a frame filled from the
 * archive) and stays cached; gk_cache_shrink gives back the pages nobody
 * maps when memory runs out. A shared anonymous object lives while areas
 * map it (gk_obj_get / gk_obj_put), and its pages with it.
 */
#ifndef GK_CACHE_H
#define GK_CACHE_H

#include <stdint.h>
#include "gk_frame.h"
#include "gk_pool.h"
#include "gk_vma.h"

#define CACHE_BUCKETS	1024
#define CACHE_FILES_MAX 64

enum gk_obj_kind { OBJ_FILE, OBJ_SHM };

struct gk_cache_page;
struct gk_cache;

struct gk_obj {
	enum gk_obj_kind kind;
	uint32_t refs;	     /* areas mapping it; a file's table entry holds one more */
	uint64_t size;	     /* bytes */
	const uint8_t *data; /* a file's bytes */
	const char *name;    /* a file's name (NUL-terminated, in the archive) */
	struct gk_cache *cache;
	struct gk_cache_page *pages; /* cached pages, through onext */
};

struct gk_cache_page {
	struct gk_obj *obj;
	uint64_t index, pa;
	struct gk_cache_page *hnext, *onext; /* hash chain, object's list */
};

struct gk_cache_stats {
	uint64_t hits, misses, pages, shrunk;
};

struct gk_cache {
	struct gk_cache_page *hash[CACHE_BUCKETS];
	struct gk_pool page_pool, obj_pool;
	struct gk_frames *frames;
	struct gk_obj *files[CACHE_FILES_MAX];
	unsigned nr_files;
	struct gk_cache_stats stats;
};

void gk_cache_init(struct gk_cache *c, struct gk_frames *f);
/* Files from the cpio "newc" archive at [a, a + len): the regular files
 * become objects. 0, or -EINVAL with *why naming what is wrong (the
 * files before it are kept). */
int gk_cache_load_archive(struct gk_cache *c, const uint8_t *a, uint64_t len, const char **why);
/* The descriptor of the file called name (a user string, checked by the
 * caller), or -ENOENT. */
int gk_cache_open(struct gk_cache *c, const char *name, uint64_t len);
struct gk_obj *gk_cache_file(struct gk_cache *c, int64_t fd); /* NULL: no such descriptor */
/* A new shared anonymous object of size bytes, with one reference that
 * the caller drops once an area holds it. NULL when out of memory. */
struct gk_obj *gk_cache_shm(struct gk_cache *c, uint64_t size);
/* The frame caching page index of o, read or made on a miss, with one
 * more reference for the caller's mapping: 0, -EFAULT past the end of a
 * file, -ENOMEM. */
int gk_cache_get(struct gk_cache *c, struct gk_obj *o, uint64_t index, uint64_t *pa);
/* Give back cached file pages that no process maps; how many. */
uint64_t gk_cache_shrink(struct gk_cache *c);

#endif
