/* ept/ept.h: the VMM's second-level table, one per VM.
 *
 * A 4-level radix tree over guest-physical addresses (48 bits, 4 KiB
 * pages) whose leaf entries use the Intel EPT layout (SDM vol. 3, 29.3.2),
 * whatever KVM and the hardware use underneath:
 *
 *   bit 0-2   R W X            bit 8   accessed      bit 9   dirty
 *   bit 3-5   memory type      bit 12-51  frame number (index into the frame store)
 *   bit 52-58 software-available:
 *     EPT_SW_SWAP  not present; bits 12-51 hold a swap slot
 *     EPT_SW_SNAP  not present; bits 12-51 hold a snapshot-file page
 *     EPT_SW_AHEAD present, filled ahead of use by fault-around and not yet
 *                  seen used by the guest
 *
 * An entry of 0 was never mapped. Interior tables are allocated only where
 * an entry is set, so a sparse 64 GiB guest costs kilobytes; a table page
 * whose entries are all cleared is freed again.
 *
 * Clones share table pages copy-on-write. ept_clone costs O(1) whatever
 * the size: the clone and the original reference the same tables, each
 * counted (atomically) in a reference count kept just past the table's 512
 * entries: 8 bytes more per 4 KiB table page, which glibc's malloc chunk
 * for a page-aligned page already had spare. The first ept_set or
 * ept_clear through a shared table copies the path from the root down to
 * it (at most 4 pages), so either tree may be changed, cloned again or
 * destroyed first, in any order.
 *
 * Thread-safety: one tree is used under one lock, its VM's. Trees that
 * share pages may be used under different locks at the same time: a shared
 * page is never written in place, only its reference count is, with atomic
 * operations, so readers of a shared page in one tree never see a writer
 * of another. ept_clone reads its source: call it under the source's
 * lock; the clone is then the new owner's.
 */
#ifndef EPT_EPT_H
#define EPT_EPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EPT_PAGE_SHIFT 12
#define EPT_PAGE_SIZE  (1ULL << EPT_PAGE_SHIFT)
#define EPT_GPA_BITS   48

#define EPT_R	       (1ULL << 0)
#define EPT_W	       (1ULL << 1)
#define EPT_X	       (1ULL << 2)
#define EPT_RWX	       (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT   3
#define EPT_MT_WB      (6ULL << EPT_MT_SHIFT) /* write-back memory type */
#define EPT_ACCESSED   (1ULL << 8)
#define EPT_DIRTY      (1ULL << 9)
#define EPT_FRAME_MASK 0x000ffffffffff000ULL
#define EPT_SW_SWAP    (1ULL << 53)
#define EPT_SW_SNAP    (1ULL << 54)
#define EPT_SW_AHEAD   (1ULL << 55)

static inline uint64_t ept_entry(uint64_t frame, uint64_t bits)
{
	return (frame << EPT_PAGE_SHIFT) | bits;
}
static inline uint64_t ept_frame(uint64_t entry)
{
	return (entry & EPT_FRAME_MASK) >> EPT_PAGE_SHIFT;
}
static inline bool ept_present(uint64_t entry)
{
	return entry & EPT_RWX;
}

struct ept;

struct ept *ept_create(void);
void ept_destroy(struct ept *t);
uint64_t ept_get(const struct ept *t, uint64_t gpa);	  /* 0: never mapped */
int ept_set(struct ept *t, uint64_t gpa, uint64_t entry); /* 0, -ENOMEM, -EINVAL (gpa) */
int ept_clear(struct ept *t, uint64_t gpa);		  /* entry becomes 0; 0, -ENOMEM */

/* -ENOMEM comes only from allocating a table page: a new one on a path not
 * mapped yet, or a copy of a page shared with a clone. So on a tree that
 * shares no pages (never cloned, or its clones destroyed, or every page on
 * the path since copied), setting an entry that is already non-zero and
 * clearing cannot fail. On -ENOMEM the tree reads as it did before. */

/* Call fn for each non-zero entry in [start, end), in GPA order; a non-zero
 * return from fn stops the walk and is returned. */
typedef int (*ept_visit_fn)(uint64_t gpa, uint64_t entry, void *arg);
int ept_for_each(const struct ept *t, uint64_t start, uint64_t end, ept_visit_fn fn, void *arg);

/* A table with the same entries (snapshots, fork) that shares every table
 * page with t: O(1), no table page is allocated. Changes to either later do
 * not show in the other. NULL on -ENOMEM (struct ept itself). */
struct ept *ept_clone(const struct ept *t);

/* Bytes of the table pages this tree references, shared with clones or not
 * (metadata accounting): a page shared by two trees counts in each, so the
 * sum over trees can exceed what is allocated. O(1). */
size_t ept_bytes(const struct ept *t);

/* Bytes of the table pages no other tree can reach: those whose every table
 * from the root down is unshared. A walk over those pages (512 loads per
 * private interior table, none of leaf tables), not a counter: when another
 * tree lets go of a page, the pages become private to this one without
 * this tree being told (its lock is not held). */
size_t ept_private_bytes(const struct ept *t);

#endif
