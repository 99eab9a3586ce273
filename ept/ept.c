/* ept/ept.c: the VMM's second-level table (see ept.h).
 *
 * Layout: four levels of 4 KiB tables of 512 entries, level 3 (the root,
 * GPA bits 39-47) down to level 0 (the leaves, bits 12-20). A leaf entry is
 * whatever the caller stored. An interior entry (and the root entry kept in
 * struct ept) references a child table:
 *
 *   bit 0-2    EPT_RWX, so that "present" reads as in a real EPT
 *   bit 12-51  host address of the child table (page aligned, below 2^52)
 *   bit 52-61  number of non-zero entries in the child table (0-512)
 *
 * Keeping the child's count in its parent entry costs no extra memory and
 * makes "free a table when its last entry is cleared" O(1). The root table
 * is allocated on the first set and freed with its last entry like any
 * other, so an empty table costs no table pages.
 *
 * Sharing (ept_clone): trees are persistent radix trees. A table may be
 * referenced by interior entries of several trees, counted in its refs; a
 * table with refs > 1 is never written. A tree about to write copies each
 * shared table on the path from its root first (the copy's children gain a
 * reference), so the tables a tree writes are those only it can reach. The
 * child count stays right in every parent because a shared child does not
 * change. Clearing an entry drops the tables it empties without copying
 * them.
 *
 * Entries are per page: the low 12 bits of a GPA are ignored, and setting an
 * entry to 0 is clearing it.
 */
#include "ept.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EPT_LEVELS	4
#define EPT_ENTRIES	512
#define EPT_TABLE_BYTES (EPT_ENTRIES * sizeof(uint64_t))
#define EPT_GPA_LIMIT	(1ULL << EPT_GPA_BITS)
#define EPT_COUNT_SHIFT 52
#define EPT_COUNT_MASK	(0x3ffULL << EPT_COUNT_SHIFT)

/* A table page, and just past its 512 entries the number of interior
 * entries (in any tree) that reference it. posix_memalign(4096, 4104) keeps
 * the entries page aligned, as the interior entry format needs, and puts the
 * count in the same malloc chunk: 8 bytes more per table page (glibc's
 * chunk has them spare: malloc_usable_size is 4104 either way), where a
 * side map from address to count would cost a hash entry and a lock shared
 * by every tree. */
struct ept_table {
	uint64_t e[EPT_ENTRIES];
	uint32_t refs; /* __atomic: trees under different locks share tables */
};

struct ept {
	uint64_t root; /* an interior entry referencing the level-3 table */
	size_t pages;  /* table pages reachable from root, shared or not */
};

static unsigned ept_index(uint64_t gpa, int level)
{
	return (gpa >> (EPT_PAGE_SHIFT + 9 * level)) & (EPT_ENTRIES - 1);
}

static uint64_t ept_span(int level)
{
	return 1ULL << (EPT_PAGE_SHIFT + 9 * level);
}

static struct ept_table *ept_table(uint64_t interior)
{
	return (struct ept_table *)(uintptr_t)(interior & EPT_FRAME_MASK);
}

static unsigned ept_count(uint64_t interior)
{
	return (interior & EPT_COUNT_MASK) >> EPT_COUNT_SHIFT;
}

static void ept_count_add(uint64_t *interior, int delta)
{
	*interior += (uint64_t)(int64_t)delta << EPT_COUNT_SHIFT;
}

/* A zeroed table with one reference; the caller accounts for it in pages. */
static struct ept_table *ept_table_alloc(void)
{
	struct ept_table *p;

	if (posix_memalign((void **)&p, EPT_TABLE_BYTES, sizeof(*p)))
		return NULL;
	/* User-space addresses are below 2^47 unless mmap was asked for more. */
	assert(((uintptr_t)p & ~EPT_FRAME_MASK) == 0);
	memset(p, 0, sizeof(*p));
	p->refs = 1;
	return p;
}

static void ept_table_hold(struct ept_table *tbl)
{
	__atomic_fetch_add(&tbl->refs, 1, __ATOMIC_RELAXED);
}

/* Drop one reference to a table at level; the last one frees it and drops
 * one on each child. Acquire-release so that every earlier reader's loads
 * of the table come before its free. */
static void ept_table_put(struct ept_table *tbl, int level)
{
	if (__atomic_sub_fetch(&tbl->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (unsigned i = 0; level > 0 && i < EPT_ENTRIES; i++)
		if (tbl->e[i])
			ept_table_put(ept_table(tbl->e[i]), level - 1);
	free(tbl);
}

/* Another tree holds it too. A count of 1 read on this tree's own path
 * cannot grow behind our back: only a holder can clone or copy it. */
static bool ept_table_shared(struct ept_table *tbl)
{
	return __atomic_load_n(&tbl->refs, __ATOMIC_ACQUIRE) > 1;
}

struct ept *ept_create(void)
{
	return calloc(1, sizeof(struct ept));
}

void ept_destroy(struct ept *t)
{
	if (!t)
		return;
	if (t->root)
		ept_table_put(ept_table(t->root), EPT_LEVELS - 1);
	free(t);
}

uint64_t ept_get(const struct ept *t, uint64_t gpa)
{
	uint64_t e = t->root;

	if (gpa >= EPT_GPA_LIMIT)
		return 0;
	for (int level = EPT_LEVELS - 1; level >= 0 && e; level--)
		e = ept_table(e)->e[ept_index(gpa, level)];
	return e;
}

/* Make the level's table that *slot references this tree's own: a shared
 * one is replaced by a private copy, whose children gain the copy as a
 * second parent. The tree reads the same either way, even on -ENOMEM. */
static int ept_own(uint64_t *slot, int level)
{
	struct ept_table *old = ept_table(*slot), *copy;

	if (!ept_table_shared(old))
		return 0;
	copy = ept_table_alloc();
	if (!copy)
		return -ENOMEM;
	memcpy(copy->e, old->e, sizeof(copy->e));
	for (unsigned i = 0; level > 0 && i < EPT_ENTRIES; i++)
		if (copy->e[i])
			ept_table_hold(ept_table(copy->e[i]));
	*slot = (uint64_t)(uintptr_t)copy | (*slot & ~EPT_FRAME_MASK);
	ept_table_put(old, level); /* the other holder may have let go meanwhile */
	return 0;
}

/* path[level] is the interior entry referencing the level's table. From
 * level up, free each table left empty and drop it from its parent. The
 * tables are this tree's own (ept_set made them so). */
static void ept_prune(struct ept *t, uint64_t **path, int level)
{
	for (; level < EPT_LEVELS; level++) {
		if (ept_count(*path[level]))
			return;
		ept_table_put(ept_table(*path[level]), level);
		t->pages--;
		*path[level] = 0;
		if (level + 1 < EPT_LEVELS)
			ept_count_add(path[level + 1], -1);
	}
}

/* Walk gpa's path from the root down to the table at level stop, making
 * each table this tree's own and recording path[level]. Missing tables are
 * created empty if alloc, else the path must exist. On -ENOMEM the tree
 * reads as before; tables created so far are left for the caller to prune
 * from *failed + 1. */
static int ept_own_path(struct ept *t, uint64_t gpa, int stop, bool alloc, uint64_t **path,
			int *failed)
{
	uint64_t *slot = &t->root;

	for (int level = EPT_LEVELS - 1; level >= stop; level--) {
		*failed = level;
		if (!*slot) {
			struct ept_table *tbl;

			assert(alloc); /* else the caller saw the path exist */
			tbl = ept_table_alloc();
			if (!tbl)
				return -ENOMEM;
			t->pages++;
			*slot = (uint64_t)(uintptr_t)tbl | EPT_RWX;
			if (level + 1 < EPT_LEVELS)
				ept_count_add(path[level + 1], 1);
		} else if (ept_own(slot, level)) {
			return -ENOMEM;
		}
		path[level] = slot;
		slot = &ept_table(*slot)->e[ept_index(gpa, level)];
	}
	return 0;
}

/* The highest level whose table on gpa's path holds nothing but gpa's
 * entry (so clearing it empties the tables from there down), or -1; and
 * whether gpa is mapped at all. */
static int ept_emptied_level(const struct ept *t, uint64_t gpa, bool *mapped)
{
	uint64_t e = t->root;
	int top = -1;

	*mapped = false;
	for (int level = EPT_LEVELS - 1; level >= 0; level--) {
		if (!e)
			return -1;
		if (ept_count(e) != 1)
			top = -1;
		else if (top < 0)
			top = level;
		e = ept_table(e)->e[ept_index(gpa, level)];
	}
	*mapped = e != 0;
	return top;
}

int ept_clear(struct ept *t, uint64_t gpa)
{
	uint64_t *path[EPT_LEVELS], *slot;
	bool mapped;
	int top, failed;

	if (gpa >= EPT_GPA_LIMIT)
		return 0;
	top = ept_emptied_level(t, gpa, &mapped);
	if (!mapped)
		return 0;
	if (top == EPT_LEVELS - 1) {
		/* gpa was the only entry: drop the whole tree. */
		ept_table_put(ept_table(t->root), top);
		t->root = 0;
		t->pages = 0;
		return 0;
	}
	/* Tables that clearing empties are dropped, not copied first: only
	 * the path above them must become this tree's own. */
	if (ept_own_path(t, gpa, top + 1, false, path, &failed))
		return -ENOMEM;
	slot = &ept_table(*path[top + 1])->e[ept_index(gpa, top + 1)];
	if (top >= 0) {
		ept_table_put(ept_table(*slot), top);
		t->pages -= top + 1;
	}
	*slot = 0;
	ept_count_add(path[top + 1], -1);
	return 0;
}

int ept_set(struct ept *t, uint64_t gpa, uint64_t entry)
{
	uint64_t *path[EPT_LEVELS], *slot;
	int failed;

	if (gpa >= EPT_GPA_LIMIT)
		return -EINVAL;
	if (!entry)
		return ept_clear(t, gpa);
	if (ept_own_path(t, gpa, 0, true, path, &failed)) {
		/* Tables made on the way down hold nothing yet. */
		ept_prune(t, path, failed + 1);
		return -ENOMEM;
	}
	slot = &ept_table(*path[0])->e[ept_index(gpa, 0)];
	if (!*slot)
		ept_count_add(path[0], 1);
	*slot = entry;
	return 0;
}

/* Visit the entries of one table whose pages overlap [start, end); base is
 * the GPA of the table's entry 0. */
static int ept_walk(uint64_t interior, int level, uint64_t base, uint64_t start, uint64_t end,
		    ept_visit_fn fn, void *arg)
{
	const uint64_t *tbl = ept_table(interior)->e;
	uint64_t span = ept_span(level);
	unsigned i = start > base ? (start - base) / span : 0;
	int ret;

	for (; i < EPT_ENTRIES; i++) {
		uint64_t lo = base + i * span;

		if (lo >= end)
			break;
		if (!tbl[i])
			continue;
		if (level == 0)
			ret = fn(lo, tbl[i], arg);
		else
			ret = ept_walk(tbl[i], level - 1, lo, start, end, fn, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* Visits every page that overlaps [start, end): for page-aligned bounds,
 * exactly the pages in it. */
int ept_for_each(const struct ept *t, uint64_t start, uint64_t end, ept_visit_fn fn, void *arg)
{
	if (end > EPT_GPA_LIMIT)
		end = EPT_GPA_LIMIT;
	if (!t->root || start >= end)
		return 0;
	return ept_walk(t->root, EPT_LEVELS - 1, 0, start, end, fn, arg);
}

/* O(1): the clone takes a reference on the root and so shares every table;
 * whichever tree writes first copies the path it writes through. */
struct ept *ept_clone(const struct ept *t)
{
	struct ept *c = ept_create();

	if (!c)
		return NULL;
	if (t->root)
		ept_table_hold(ept_table(t->root));
	c->root = t->root;
	c->pages = t->pages;
	return c;
}

size_t ept_bytes(const struct ept *t)
{
	return t->pages * EPT_TABLE_BYTES;
}

/* Tables no other tree can reach: those on a path of unshared tables from
 * the root. A table with one reference under a shared parent is not
 * counted: the parent's other holders reach it too. */
static size_t ept_private_pages(const struct ept_table *tbl, int level)
{
	size_t pages = 1;

	for (unsigned i = 0; level > 0 && i < EPT_ENTRIES; i++) {
		struct ept_table *child = tbl->e[i] ? ept_table(tbl->e[i]) : NULL;

		if (child && !ept_table_shared(child))
			pages += ept_private_pages(child, level - 1);
	}
	return pages;
}

size_t ept_private_bytes(const struct ept *t)
{
	if (!t->root || ept_table_shared(ept_table(t->root)))
		return 0;
	return ept_private_pages(ept_table(t->root), EPT_LEVELS - 1) * EPT_TABLE_BYTES;
}
