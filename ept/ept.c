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

struct ept {
	uint64_t root; /* an interior entry referencing the level-3 table */
	size_t pages;  /* table pages allocated */
};

static unsigned ept_index(uint64_t gpa, int level)
{
	return (gpa >> (EPT_PAGE_SHIFT + 9 * level)) & (EPT_ENTRIES - 1);
}

static uint64_t ept_span(int level)
{
	return 1ULL << (EPT_PAGE_SHIFT + 9 * level);
}

static uint64_t *ept_table(uint64_t interior)
{
	return (uint64_t *)(uintptr_t)(interior & EPT_FRAME_MASK);
}

static unsigned ept_count(uint64_t interior)
{
	return (interior & EPT_COUNT_MASK) >> EPT_COUNT_SHIFT;
}

static void ept_count_add(uint64_t *interior, int delta)
{
	*interior += (uint64_t)(int64_t)delta << EPT_COUNT_SHIFT;
}

static uint64_t *ept_table_alloc(struct ept *t)
{
	uint64_t *p = aligned_alloc(EPT_TABLE_BYTES, EPT_TABLE_BYTES);

	if (!p)
		return NULL;
	/* User-space addresses are below 2^47 unless mmap was asked for more. */
	assert(((uintptr_t)p & ~EPT_FRAME_MASK) == 0);
	memset(p, 0, EPT_TABLE_BYTES);
	t->pages++;
	return p;
}

static void ept_table_free(struct ept *t, uint64_t *p)
{
	free(p);
	t->pages--;
}

struct ept *ept_create(void)
{
	return calloc(1, sizeof(struct ept));
}

static void ept_free_tree(struct ept *t, uint64_t interior, int level)
{
	uint64_t *tbl = ept_table(interior);

	if (level > 0) {
		for (unsigned i = 0; i < EPT_ENTRIES; i++)
			if (tbl[i])
				ept_free_tree(t, tbl[i], level - 1);
	}
	ept_table_free(t, tbl);
}

void ept_destroy(struct ept *t)
{
	if (!t)
		return;
	if (t->root)
		ept_free_tree(t, t->root, EPT_LEVELS - 1);
	free(t);
}

uint64_t ept_get(const struct ept *t, uint64_t gpa)
{
	uint64_t e = t->root;

	if (gpa >= EPT_GPA_LIMIT)
		return 0;
	for (int level = EPT_LEVELS - 1; level >= 0 && e; level--)
		e = ept_table(e)[ept_index(gpa, level)];
	return e;
}

/* path[level] is the interior entry referencing the level's table. From
 * level up, free each table left empty and drop it from its parent. */
static void ept_prune(struct ept *t, uint64_t **path, int level)
{
	for (; level < EPT_LEVELS; level++) {
		if (ept_count(*path[level]))
			return;
		ept_table_free(t, ept_table(*path[level]));
		*path[level] = 0;
		if (level + 1 < EPT_LEVELS)
			ept_count_add(path[level + 1], -1);
	}
}

void ept_clear(struct ept *t, uint64_t gpa)
{
	uint64_t *path[EPT_LEVELS];
	uint64_t *slot = &t->root;

	if (gpa >= EPT_GPA_LIMIT)
		return;
	for (int level = EPT_LEVELS - 1; level >= 0; level--) {
		if (!*slot)
			return;
		path[level] = slot;
		slot = &ept_table(*slot)[ept_index(gpa, level)];
	}
	if (!*slot)
		return;
	*slot = 0;
	ept_count_add(path[0], -1);
	ept_prune(t, path, 0);
}

int ept_set(struct ept *t, uint64_t gpa, uint64_t entry)
{
	uint64_t *path[EPT_LEVELS];
	uint64_t *slot = &t->root;

	if (gpa >= EPT_GPA_LIMIT)
		return -EINVAL;
	if (!entry) {
		ept_clear(t, gpa);
		return 0;
	}
	for (int level = EPT_LEVELS - 1; level >= 0; level--) {
		if (!*slot) {
			uint64_t *tbl = ept_table_alloc(t);

			if (!tbl) {
				/* Tables made on the way down hold nothing yet. */
				ept_prune(t, path, level + 1);
				return -ENOMEM;
			}
			*slot = (uint64_t)(uintptr_t)tbl | EPT_RWX;
			if (level + 1 < EPT_LEVELS)
				ept_count_add(path[level + 1], 1);
		}
		path[level] = slot;
		slot = &ept_table(*slot)[ept_index(gpa, level)];
	}
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
	const uint64_t *tbl = ept_table(interior);
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

/* Copy the table that src references into a new one referenced by *dst.
 * On failure *dst holds what was copied so far, consistent enough for
 * ept_free_tree. */
static int ept_clone_tree(struct ept *t, uint64_t *dst, uint64_t src, int level)
{
	const uint64_t *from = ept_table(src);
	uint64_t *to = ept_table_alloc(t);

	if (!to)
		return -ENOMEM;
	*dst = (uint64_t)(uintptr_t)to | (src & ~EPT_FRAME_MASK);
	if (level == 0) {
		memcpy(to, from, EPT_TABLE_BYTES);
		return 0;
	}
	for (unsigned i = 0; i < EPT_ENTRIES; i++) {
		if (from[i] && ept_clone_tree(t, &to[i], from[i], level - 1))
			return -ENOMEM;
	}
	return 0;
}

struct ept *ept_clone(const struct ept *t)
{
	struct ept *c = ept_create();

	if (!c)
		return NULL;
	if (t->root && ept_clone_tree(c, &c->root, t->root, EPT_LEVELS - 1)) {
		ept_destroy(c);
		return NULL;
	}
	return c;
}

size_t ept_bytes(const struct ept *t)
{
	return t->pages * EPT_TABLE_BYTES;
}
