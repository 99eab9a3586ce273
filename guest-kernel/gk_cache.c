/* guest-kernel/gk_cache.c: the page cache, archive files and shared objects. */
#include "gk_cache.h"
#include "gk_cpio.h"
#include "gk_lib.h"

static uint64_t gk_cache_pool_page(void *frames)
{
	return gk_frame_alloc(frames);
}

void gk_cache_init(struct gk_cache *c, struct gk_frames *f)
{
	c->frames = f;
	gk_pool_init(&c->page_pool, sizeof(struct gk_cache_page), gk_cache_pool_page, f);
	gk_pool_init(&c->obj_pool, sizeof(struct gk_obj), gk_cache_pool_page, f);
}

int gk_cache_load_archive(struct gk_cache *c, const uint8_t *a, uint64_t len, const char **why)
{
	struct gk_cpio_entry e;
	struct gk_obj *o;
	uint64_t off = 0;
	int ret;

	while ((ret = gk_cpio_next(a, len, &off, &e, why)) > 0) {
		if ((e.mode & CPIO_S_IFMT) != CPIO_S_IFREG)
			continue; /* directories and the like name no data */
		if (c->nr_files == CACHE_FILES_MAX) {
			*why = "more regular files than the kernel's file table holds";
			return -EINVAL;
		}
		o = gk_pool_get(&c->obj_pool);
		if (!o) {
			*why = "out of memory for the file table";
			return -EINVAL;
		}
		/* `find . | cpio -o` names files ./NAME: open() takes NAME. */
		o->name = e.name[0] == '.' && e.name[1] == '/' ? e.name + 2 : e.name;
		o->kind = OBJ_FILE;
		o->refs = 1; /* the table's: files live as long as the kernel */
		o->size = e.size;
		o->data = e.data;
		o->cache = c;
		c->files[c->nr_files++] = o;
	}
	return ret;
}

int gk_cache_open(struct gk_cache *c, const char *name, uint64_t len)
{
	unsigned i;

	for (i = 0; i < c->nr_files; i++)
		if (strlen(c->files[i]->name) == len && !memcmp(c->files[i]->name, name, len))
			return (int)i;
	return -ENOENT;
}

struct gk_obj *gk_cache_file(struct gk_cache *c, int64_t fd)
{
	return fd >= 0 && fd < (int64_t)c->nr_files ? c->files[fd] : NULL;
}

struct gk_obj *gk_cache_shm(struct gk_cache *c, uint64_t size)
{
	struct gk_obj *o = gk_pool_get(&c->obj_pool);

	if (o) {
		o->kind = OBJ_SHM;
		o->refs = 1;
		o->size = size;
		o->name = "shm";
		o->cache = c;
	}
	return o;
}

static struct gk_cache_page **gk_cache_bucket(struct gk_cache *c, const struct gk_obj *o,
					      uint64_t index)
{
	uint64_t h = ((uint64_t)(uintptr_t)o >> 4 ^ index) * 0x9e3779b97f4a7c15ULL;

	return &c->hash[h >> 54]; /* the top 10 bits: CACHE_BUCKETS */
}

_Static_assert(CACHE_BUCKETS == 1 << 10, "gk_cache_bucket takes 10 bits");

int gk_cache_get(struct gk_cache *c, struct gk_obj *o, uint64_t index, uint64_t *pa)
{
	struct gk_cache_page **b = gk_cache_bucket(c, o, index), *e;
	uint64_t off = index * PAGE_SIZE;

	if (o->kind == OBJ_FILE && off >= o->size)
		return -EFAULT;
	for (e = *b; e; e = e->hnext) {
		if (e->obj == o && e->index == index) {
			c->stats.hits++;
			*pa = e->pa;
			return gk_frame_share(c->frames, e->pa) < 0 ? -ENOMEM : 0;
		}
	}
	c->stats.misses++;
	e = gk_pool_get(&c->page_pool);
	if (!e)
		return -ENOMEM;
	e->pa = gk_frame_alloc(c->frames);
	if (!e->pa) {
		gk_pool_put(&c->page_pool, e);
		return -ENOMEM;
	}
	/* A file's last page is partly past its end: that part stays zero. */
	if (o->kind == OBJ_FILE)
		memcpy((void *)(uintptr_t)e->pa, o->data + off, MIN(PAGE_SIZE, o->size - off));
	e->obj = o;
	e->index = index;
	e->hnext = *b;
	*b = e;
	e->onext = o->pages;
	o->pages = e;
	c->stats.pages++;
	gk_frame_share(c->frames, e->pa); /* the cache's and the caller's */
	*pa = e->pa;
	return 0;
}

/* Take e (of its object's list at *link) out of the cache. */
static void gk_cache_drop(struct gk_cache *c, struct gk_cache_page **link)
{
	struct gk_cache_page *e = *link, **h = gk_cache_bucket(c, e->obj, e->index);

	*link = e->onext;
	while (*h != e)
		h = &(*h)->hnext;
	*h = e->hnext;
	gk_frame_put(c->frames, e->pa);
	gk_pool_put(&c->page_pool, e);
	c->stats.pages--;
}

uint64_t gk_cache_shrink(struct gk_cache *c)
{
	struct gk_cache_page **link;
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < c->nr_files; i++) {
		for (link = &c->files[i]->pages; *link;) {
			if (gk_fref_count(&c->frames->ref, (*link)->pa) == 1) {
				gk_cache_drop(c, link);
				n++;
			} else {
				link = &(*link)->onext;
			}
		}
	}
	c->stats.shrunk += n;
	return n;
}

void gk_obj_get(struct gk_obj *o)
{
	o->refs++;
}

void gk_obj_put(struct gk_obj *o)
{
	struct gk_cache *c = o->cache;

	if (--o->refs)
		return;
	while (o->pages)
		gk_cache_drop(c, &o->pages);
	gk_pool_put(&c->obj_pool, o);
}
