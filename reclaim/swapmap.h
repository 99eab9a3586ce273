/* reclaim/swapmap.h: the swap map, which slot of the swap file holds what.
 *
 * A slot is one page of the swap file. Each slot has a reference count
 * (its owners: the table entry of the page swapped out, and any snapshot
 * or fork that shares it) and an owner, the (VM, guest page) whose data it
 * holds, so that swap-in read-ahead can tell which guest page a
 * neighbouring slot belongs to.
 *
 * Allocation is next-fit from a cursor that moves on past each batch: a
 * batch of neighbouring guest pages written out together lands in one run
 * of neighbouring slots, so it reads back with one large read. When no
 * run is long enough the batch is filled from several runs.
 *
 * 12 bytes per slot and one bit (4 GiB of swap: 12.1 MiB, 0.3%): a 32-bit
 * count, a 64-bit owner (VM id in the top 16 bits, guest page below) and a
 * bitmap of slots in use, which lets allocation skip 64 slots at a time.
 *
 * Not thread-safe: the caller's lock (the reclaimer's) protects the map.
 * Misuse (a reference to a free or out-of-range slot) changes nothing, is
 * refused with -EINVAL and counted in stats.misuse.
 */
#ifndef RECLAIM_SWAPMAP_H
#define RECLAIM_SWAPMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWAP_SLOT_NONE	   UINT32_MAX
#define SWAP_OWNER_MAXPAGE ((UINT64_C(1) << 48) - 2) /* largest guest page an owner can name */

struct swap_map;

/* A map of nr_slots free slots: -EINVAL for 0 or SWAP_SLOT_NONE and more, -ENOMEM. */
int swap_map_create(struct swap_map **out, uint32_t nr_slots);
void swap_map_destroy(struct swap_map *m);

/* Allocate up to n slots, each with one reference and no owner, into
 * slots[] in increasing order: one contiguous run if any free run holds n,
 * else free slots from several runs, from the cursor on. Returns how many
 * were allocated: n, fewer when fewer are free, 0 when the map is full. */
uint32_t swap_map_alloc(struct swap_map *m, uint32_t n, uint32_t *slots);

/* One more reference: the new count, or -EINVAL if slot is free or out of
 * range, -EOVERFLOW at INT_MAX references (neither changes anything). */
int swap_map_get(struct swap_map *m, uint32_t slot);
/* One reference less: the new count; at 0 the slot is free again and its
 * owner forgotten. -EINVAL if slot is free or out of range. */
int swap_map_put(struct swap_map *m, uint32_t slot);
uint32_t swap_map_count(const struct swap_map *m, uint32_t slot); /* 0: free or out of range */

/* Owner of a slot in use: page <= SWAP_OWNER_MAXPAGE. A free slot, an
 * out-of-range slot or a larger page is misuse and changes nothing. */
void swap_map_set_owner(struct swap_map *m, uint32_t slot, uint16_t vm, uint64_t page);
/* false if slot is free, out of range or has no owner set. */
bool swap_map_owner(const struct swap_map *m, uint32_t slot, uint16_t *vm, uint64_t *page);

struct swap_map_stats {
	uint32_t nr_slots, used;
	uint64_t allocs;	 /* slots allocated, ever */
	uint64_t frees;		 /* slots freed (count reached 0), ever */
	uint64_t alloc_failures; /* swap_map_alloc calls that got fewer slots than asked */
	uint64_t split_allocs;	 /* swap_map_alloc calls whose slots came from several runs */
	uint64_t misuse;	 /* calls refused as misuse, nothing changed */
	size_t metadata_bytes;
};
void swap_map_stats(const struct swap_map *m, struct swap_map_stats *out);

/* Debug (tests): every slot's count, bit and owner agree, the totals match
 * (used == allocs - frees). 0, or -EUCLEAN with the first broken invariant
 * described in why. O(nr_slots). */
int swap_map_check(const struct swap_map *m, char *why, size_t len);

#endif
