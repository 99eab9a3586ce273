/* tests/check_gk_frame.c: the guest kernel's frame allocator and frame
 * reference counts (guest-kernel/gk_frame.c and gk_fref.c, built for the
 * host over a buffer standing for guest RAM) against a reference model of
 * copy-on-write.
 *
 * The model has address spaces of a few virtual pages each, and a page
 * cache. Random operations do what the kernel does with frames: a fault
 * maps a fresh frame, fork shares every frame, a write to a shared frame
 * copies it or, with a count of one, takes it back, unmap and exit drop
 * references, the cache holds one of its own. After each, every frame's
 * count must be the number of references the model holds, a frame must
 * be free exactly when it has none, a frame handed out must read zero,
 * and nobody's data may change but by its own writes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "gk_frame.h"

#define RAM_PAGES 512
#define SPACES	  6
#define VPAGES	  24
#define CACHED	  8
#define PG	  4096ULL

/* Only reached with a VMM's page services, which these frames have not. */
int64_t gk_hcall_call(struct gk_hcall *h, uint32_t nr, uint32_t count, uint64_t arg0, uint64_t arg1)
{
	(void)h, (void)nr, (void)count, (void)arg0, (void)arg1;
	ck_abort_msg("hypercall without a VMM");
	return -1;
}

#define REQUIRE(cond, ...)                                                                         \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg(__VA_ARGS__);                                                 \
	} while (0)

static uint8_t *ram;
static struct gk_frames frames;

/* The model: each space's pages (frame, or 0) and what each should hold. */
struct space {
	bool live;
	uint64_t frame[VPAGES];
	uint64_t data[VPAGES]; /* the word the owner last wrote there */
};

static struct space spaces[SPACES];
static uint64_t cache[CACHED]; /* frames the "page cache" holds */
static uint64_t stamp = 1;

static uint64_t *word(uint64_t pa)
{
	return (uint64_t *)(uintptr_t)pa;
}

/* A frame fresh from the allocator: zero, as the kernel requires. */
static uint64_t alloc_zero(void)
{
	uint64_t pa = gk_frame_alloc(&frames);

	if (!pa)
		return 0;
	for (uint64_t i = 0; i < PG / 8; i++)
		REQUIRE(word(pa)[i] == 0, "frame %#lx handed out with word %lu = %#lx", pa, i,
			word(pa)[i]);
	return pa;
}

/* The model's references to each frame, by frame index from ram. */
static void model_refs(unsigned *refs)
{
	memset(refs, 0, RAM_PAGES * sizeof(*refs));
	for (int s = 0; s < SPACES; s++)
		for (int v = 0; v < VPAGES; v++)
			if (spaces[s].live && spaces[s].frame[v])
				refs[(spaces[s].frame[v] - (uintptr_t)ram) / PG]++;
	for (int c = 0; c < CACHED; c++)
		if (cache[c])
			refs[(cache[c] - (uintptr_t)ram) / PG]++;
}

static void check_model(void)
{
	static unsigned refs[RAM_PAGES];
	uint64_t in_use = 0, pa;

	model_refs(refs);
	for (int i = 0; i < RAM_PAGES; i++) {
		pa = (uintptr_t)ram + i * PG;
		in_use += refs[i] > 0;
		REQUIRE(!refs[i] || gk_fref_count(&frames.ref, pa) == refs[i],
			"frame %#lx: count %u, %u references", pa, gk_fref_count(&frames.ref, pa),
			refs[i]);
	}
	for (int s = 0; s < SPACES; s++)
		for (int v = 0; v < VPAGES && spaces[s].live; v++)
			REQUIRE(!spaces[s].frame[v] ||
				    *word(spaces[s].frame[v]) == spaces[s].data[v],
				"space %d page %d: reads %#lx, its owner wrote %#lx", s, v,
				*word(spaces[s].frame[v]), spaces[s].data[v]);
	/* Exactly the referenced frames are allocated. */
	REQUIRE(frames.total - frames.free == in_use, "%lu frames in use, %lu referenced",
		frames.total - frames.free, in_use);
}

static void op_fault(struct space *s, int v)
{
	uint64_t pa;

	if (s->frame[v])
		return;
	pa = alloc_zero();
	if (!pa)
		return;
	s->frame[v] = pa;
	*word(pa) = s->data[v] = stamp++;
}

/* A write: the kernel's COW fault when the frame is shared, else in place. */
static void op_write(struct space *s, int v)
{
	uint64_t pa = s->frame[v], copy;

	if (!pa)
		return;
	if (!gk_frame_exclusive(&frames, pa)) {
		copy = alloc_zero();
		if (!copy)
			return;
		memcpy(word(copy), word(pa), PG);
		s->frame[v] = copy;
		gk_frame_put(&frames, pa);
		pa = copy;
	}
	*word(pa) = s->data[v] = stamp++;
}

static void op_unmap(struct space *s, int v)
{
	if (s->frame[v])
		gk_frame_put(&frames, s->frame[v]);
	s->frame[v] = 0;
}

static void op_fork(struct space *parent)
{
	struct space *child = NULL;

	for (int s = 0; s < SPACES && !child; s++)
		if (!spaces[s].live)
			child = &spaces[s];
	if (!child)
		return;
	*child = *parent;
	for (int v = 0; v < VPAGES; v++)
		if (child->frame[v])
			ck_assert_int_eq(gk_frame_share(&frames, child->frame[v]), 0);
}

static void op_exit(struct space *s)
{
	for (int v = 0; v < VPAGES; v++)
		op_unmap(s, v);
	s->live = false;
}

/* The cache takes a reference to a mapped frame, or drops one it holds. */
static void op_cache(struct space *s, int v, int c)
{
	if (cache[c]) {
		gk_frame_put(&frames, cache[c]);
		cache[c] = 0;
	} else if (s->frame[v]) {
		ck_assert_int_eq(gk_frame_share(&frames, s->frame[v]), 0);
		cache[c] = s->frame[v];
	}
}

static void setup(void)
{
	struct gk_bootinfo bi = {.nr_ram = 1};

	ram = aligned_alloc(PG, RAM_PAGES * PG);
	memset(ram, 0, RAM_PAGES * PG);
	memset(&frames, 0, sizeof(frames));
	memset(spaces, 0, sizeof(spaces));
	memset(cache, 0, sizeof(cache));
	/* The "kernel" ends where RAM starts: every page is the allocator's. */
	bi.ram[0].start = (uint64_t)(uintptr_t)ram;
	bi.ram[0].end = bi.ram[0].start + RAM_PAGES * PG;
	ck_assert_int_eq(gk_frame_init(&frames, &bi, bi.ram[0].start, NULL), 0);
	spaces[0].live = true;
}

static void teardown(void)
{
	free(ram);
}

START_TEST(frame_counts_match_cow_model_under_random_operations)
{
	srandom(testlib_seed("frame_counts_match_cow_model_under_random_operations",
			     "GK_FRAME_TEST_SEED"));
	/* The table is the first pages of RAM; the rest is handed out. */
	ck_assert_uint_eq(frames.total, RAM_PAGES - 1);
	for (int step = 0; step < 20000; step++) {
		struct space *s = &spaces[random() % SPACES];
		int v = random() % VPAGES, r = random() % 100;

		if (!s->live) { /* space 0 never exits: a fork of it fills the slot */
			if (r < 10)
				op_fork(&spaces[0]);
			continue;
		}
		if (r < 30)
			op_fault(s, v);
		else if (r < 60)
			op_write(s, v);
		else if (r < 72)
			op_unmap(s, v);
		else if (r < 82)
			op_fork(s);
		else if (r < 86 && s != &spaces[0])
			op_exit(s);
		else if (r < 96)
			op_cache(s, v, random() % CACHED);
		check_model();
	}
	for (int s = 0; s < SPACES; s++)
		if (spaces[s].live)
			op_exit(&spaces[s]);
	for (int c = 0; c < CACHED; c++)
		if (cache[c])
			gk_frame_put(&frames, cache[c]);
	ck_assert_uint_eq(frames.free, frames.total);
}
END_TEST

START_TEST(frame_last_reference_frees_and_the_frame_comes_back_zero)
{
	uint64_t pa = alloc_zero(), again;

	ck_assert_uint_eq(gk_fref_count(&frames.ref, pa), 1);
	ck_assert_int_eq(gk_frame_share(&frames, pa), 0);
	ck_assert(!gk_frame_exclusive(&frames, pa));
	memset(word(pa), 0xa5, PG);
	gk_frame_put(&frames, pa);
	ck_assert(gk_frame_exclusive(&frames, pa));
	ck_assert_uint_eq(frames.free, frames.total - 1);
	gk_frame_put(&frames, pa);
	ck_assert_uint_eq(frames.free, frames.total);
	/* Take every frame: the freed one is among them, zeroed. */
	while ((again = alloc_zero()))
		;
	ck_assert_uint_eq(frames.free, 0);
}
END_TEST

START_TEST(frame_count_refuses_to_overflow)
{
	uint64_t pa = alloc_zero();

	for (uint32_t i = 1; i < FREF_MAX; i++)
		ck_assert_int_eq(gk_fref_get(&frames.ref, pa), 0);
	ck_assert_uint_eq(gk_fref_count(&frames.ref, pa), FREF_MAX);
	ck_assert_int_eq(gk_fref_get(&frames.ref, pa), -EOVERFLOW);
	ck_assert_uint_eq(gk_fref_count(&frames.ref, pa), FREF_MAX);
}
END_TEST

START_TEST(frame_outside_the_allocator_is_never_counted)
{
	uint64_t image = (uint64_t)(uintptr_t)ram - PG; /* below: a kernel-image page */

	ck_assert(!gk_fref_managed(&frames.ref, image));
	ck_assert_int_eq(gk_frame_share(&frames, image), 0);
	ck_assert(!gk_frame_exclusive(&frames, image)); /* a write always copies it */
	gk_frame_put(&frames, image);
	ck_assert_uint_eq(frames.free, frames.total);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gk_frame");
	TCase *tc = tcase_create("frames");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, frame_counts_match_cow_model_under_random_operations);
	tcase_add_test(tc, frame_last_reference_frees_and_the_frame_comes_back_zero);
	tcase_add_test(tc, frame_count_refuses_to_overflow);
	tcase_add_test(tc, frame_outside_the_allocator_is_never_counted);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
