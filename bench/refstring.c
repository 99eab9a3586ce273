/* bench/refstring.c: the heap-page reference string of a guest workload.
 *
 *   refstring --workload touch|random|hotset|phases|verify [--size SIZE]
 *             [--passes N] [--seed N] [--hot PCT] [--stride N] --out FILE.bin
 *
 * Runs the guest's own workload code (guest-kernel/user_touch.c,
 * user_random.c, user_phases.c, compiled for the host by refstring_guest.c)
 * with the user-library functions they call replaced by ones that record,
 * in order, which heap page each access lands on, and writes those page
 * indices to FILE as little-endian uint64 (refsim's .bin format). The
 * defaults are the guest's (gk_args.c): size 2M, seed 1, hot 10, stride 1,
 * passes 3 for verify, 1 for touch, 2 otherwise; so the same key=value
 * pairs on both sides give the same string. On stdout, one line:
 *
 *   refstring workload=W size=N passes=N seed=N hot=N refs=N distinct=N
 *             pages=N releases=N
 *
 * pages is what the workload itself returns, the figure the guest reports
 * as RESULT pages=: a benchmark compares the two to check that this copy of
 * the library stubs still walks the pages the guest walks.
 *
 * What one reference is: each call of u_page_zero, u_page_fill,
 * u_page_check, u_page_sweep on a heap page (u_page_touch is a zero check
 * and a fill of a fresh page, or a check of a written one). A run of
 * references to the same page with no other page between them is written
 * once: under any replacement policy the repeats are hits that change
 * nothing the next fault depends on (the page was just used either way).
 * Reads of pages never written (random's and hotset's final sweep reads
 * every page, written or not) are references like any other: the VMM
 * gives such a page a frame. Linux does not: a read fault on untouched
 * anonymous memory maps the shared zero page, so under
 * --memory-manager=kernel those reads hold no memory.
 *
 * Releases (SYS_RELEASE, the phases workload): a released page's content
 * is gone, and the guest gives its frame back (VMM_HC_DISCARD), so its next
 * use is a new page, not a hit on the old one: the first reference to a
 * heap page after its release is given a fresh index (size / 4096 and up,
 * in order of first use). distinct counts every index the string uses:
 * the cold misses of any policy are exactly `distinct` (a VMM serves them
 * as zero fills); faults beyond them are re-faults, what it serves from swap.
 * The string does not say that a released page is dead: a simulated LRU or
 * FIFO keeps it until it ages out, where the VMM gets the frame back at
 * once; OPT is not affected (a page never used again is its first victim).
 *
 * What the string leaves out: everything that is not a heap access. The
 * guest kernel's image, data and stacks, its page tables (one per 2 MiB of
 * heap), the frame allocator's batch pages, the task's code, data, stack
 * and the scratch bitmap that u_page_touch/u_page_sweep read (size / 4096
 * bits: one page per 128 MiB of heap). These are a few hundred pages, used
 * all the time, so resident under any sensible policy: a simulation of the
 * heap string at capacity = budget minus those pages stands for the whole
 * guest. Fault-around in the guest maps frames without touching them, so
 * it adds no references. This is why OPT, LRU and FIFO over this string are
 * a fair yardstick for the VMM's faults on the same workload.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "user.h"

#define RS_BUF_WORDS 4096

struct refstring {
	FILE *out;
	const char *path;
	uint64_t heap, pages; /* heap base address and pages in it */
	uint64_t *id;	      /* the index a heap page's next reference gets */
	uint8_t *released;    /* released since its last reference */
	uint8_t *written;     /* u_page_touch's scratch bitmap, a byte per page */
	uint64_t next_fresh;  /* the next index for a page used after a release */
	uint64_t last;	      /* the last index written, to fold repeats */
	uint64_t refs, distinct, releases;
	uint64_t buf[RS_BUF_WORDS];
	unsigned nbuf;
	int err; /* the first write error, as -errno */
};

/* The guest's functions call the library with no context argument, so the
 * one recorder a run uses is reached through this pointer; main sets it. */
static struct refstring *rs_current;

static void rs_flush(struct refstring *r)
{
	if (r->nbuf && !r->err && fwrite(r->buf, 8, r->nbuf, r->out) != r->nbuf)
		r->err = -errno;
	r->nbuf = 0;
}

static void rs_ref(uint64_t addr)
{
	struct refstring *r = rs_current;
	uint64_t page = (addr - r->heap) / U_PAGE, id;

	if (addr < r->heap || page >= r->pages) {
		fprintf(stderr,
			"refstring: the workload touched %#" PRIx64 ", outside the heap "
			"[%#" PRIx64 ", %#" PRIx64 ")\n",
			addr, r->heap, (uint64_t)(r->heap + r->pages * U_PAGE));
		exit(1);
	}
	if (r->released[page]) {
		r->released[page] = 0;
		r->id[page] = r->next_fresh++;
		r->distinct++;
	} else if (r->id[page] == UINT64_MAX) {
		r->id[page] = page;
		r->distinct++;
	}
	id = r->id[page];
	if (r->refs && id == r->last)
		return;
	r->last = id;
	r->refs++;
	r->buf[r->nbuf++] = htole64(id);
	if (r->nbuf == RS_BUF_WORDS)
		rs_flush(r);
}

/* ---- the user library, as the workloads see it (guest-kernel/user_lib.c) */

int64_t u_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct refstring *r = rs_current;
	uint64_t p;

	if (nr != SYS_RELEASE)
		return 0;
	/* The kernel checks the range lies in the heap; the workloads pass heap ranges. */
	for (p = (a0 - r->heap) / U_PAGE; p < (a0 + a1 - r->heap) / U_PAGE && p < r->pages; p++)
		if (r->id[p] != UINT64_MAX)
			r->released[p] = 1;
	r->releases++;
	return (int64_t)(a1 / U_PAGE);
}

/* Progress lines are output, not references. */
void u_pass_line(const struct user_args *a, const char *name, uint64_t pass)
{
	(void)a;
	(void)name;
	(void)pass;
}

/* Never forked: the booted VM's identity, whose pattern is the seed's own. */
uint64_t u_forkid(void)
{
	return 0;
}

void u_fork_line(uint64_t id)
{
	(void)id;
}

/* Contents do not matter here, only which page is used. */
uint64_t u_pattern(uint64_t page, uint64_t pass, uint64_t seed)
{
	return 1;
}

void u_page_fill(uint64_t page, uint64_t pattern)
{
	rs_ref(page);
}

bool u_page_check(uint64_t page, uint64_t pattern, const char *what)
{
	rs_ref(page);
	return true;
}

bool u_page_zero(uint64_t page, const char *what)
{
	rs_ref(page);
	return true;
}

bool u_page_touch(const struct user_args *a, uint64_t index, uint64_t pattern, uint64_t *written)
{
	struct refstring *r = rs_current;
	uint64_t page = a->heap + index * U_PAGE;

	if (r->written[index])
		return u_page_check(page, pattern, "reread");
	u_page_zero(page, "fresh-zero");
	u_page_fill(page, pattern);
	r->written[index] = 1;
	(*written)++;
	return true;
}

bool u_page_sweep(const struct user_args *a, uint64_t index, uint64_t pattern)
{
	rs_ref(a->heap + index * U_PAGE);
	return true;
}

/* ---- the program ------------------------------------------------------- */

static const struct {
	const char *name;
	struct u_outcome (*run)(const struct user_args *a);
	uint64_t passes; /* gk_args.c's default */
} rs_workloads[] = {
    {"touch", u_touch, 1},   {"random", u_random, 2}, {"hotset", u_hotset, 2},
    {"phases", u_phases, 2}, {"verify", u_verify, 3},
};

#define RS_NWORKLOADS (sizeof(rs_workloads) / sizeof(rs_workloads[0]))

static void rs_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: refstring --workload touch|random|hotset|phases|verify [--size SIZE]\n"
	    "                 [--passes N] [--seed N] [--hot PCT] [--stride N] --out FILE.bin\n");
}

/* A number as the guest reads one (decimal, 0x hex, 0 octal), with K/M/G if sizes. */
static int rs_number(const char *opt, const char *s, int sizes, uint64_t lo, uint64_t hi,
		     uint64_t *out)
{
	static const char suffix[] = "kKmMgG";
	char *end;
	uint64_t n, mul = 1;

	errno = 0;
	n = strtoull(s, &end, 0);
	if (sizes && *end && !end[1] && strchr(suffix, *end))
		mul = 1ULL << 10 * ((strchr(suffix, *end++) - suffix) / 2 +
				    1); /* k, m, g: 10, 20, 30 */
	if (errno || end == s || *end || *s == '-' || (n && n * mul / mul != n) || n * mul < lo ||
	    n * mul > hi) {
		fprintf(stderr,
			"refstring: %s %s: expected a number from %" PRIu64 " to %" PRIu64 "%s\n",
			opt, s, lo, hi, sizes ? " (K, M, G suffixes)" : "");
		return -EINVAL;
	}
	*out = n * mul;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"workload", required_argument, NULL, 'w'},
	    {"size", required_argument, NULL, 's'},
	    {"passes", required_argument, NULL, 'p'},
	    {"seed", required_argument, NULL, 'r'},
	    {"hot", required_argument, NULL, 'h'},
	    {"stride", required_argument, NULL, 't'},
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'H'},
	    {NULL, 0, NULL, 0},
	};
	struct user_args a = {.heap = USER_HEAP_BASE, .size = 2ULL << 20, .seed = 1, .hot = 10};
	struct refstring *r;
	struct u_outcome o;
	const char *workload = NULL, *out = NULL;
	unsigned w = 0;
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			workload = optarg;
			break;
		case 's':
			ret = rs_number("--size", optarg, 1, 1, USER_HEAP_MAX, &a.size);
			a.size = (a.size + U_PAGE - 1) / U_PAGE * U_PAGE;
			break;
		case 'p':
			ret = rs_number("--passes", optarg, 0, 1, 1000000, &a.passes);
			break;
		case 'r':
			ret = rs_number("--seed", optarg, 0, 0, UINT64_MAX, &a.seed);
			break;
		case 'h':
			ret = rs_number("--hot", optarg, 0, 1, 100, &a.hot);
			break;
		case 't':
			ret = rs_number("--stride", optarg, 0, 1, UINT64_MAX, &a.stride);
			break;
		case 'o':
			out = optarg;
			break;
		case 'H':
			rs_usage(stdout);
			return 0;
		default:
			rs_usage(stderr);
			return 2;
		}
		if (ret)
			return 2;
	}
	if (optind < argc || !workload || !out) {
		rs_usage(stderr);
		return 2;
	}
	while (w < RS_NWORKLOADS && strcmp(rs_workloads[w].name, workload))
		w++;
	if (w == RS_NWORKLOADS) {
		fprintf(stderr,
			"refstring: --workload %s: expected touch, random, hotset, phases or "
			"verify\n",
			workload);
		return 2;
	}
	if (!a.passes)
		a.passes = rs_workloads[w].passes;
	a.workload = w;
	a.stride = a.stride ? a.stride : 1;

	r = calloc(1, sizeof(*r));
	if (!r) {
		fprintf(stderr, "refstring: out of memory\n");
		return 1;
	}
	r->heap = a.heap;
	r->pages = a.size / U_PAGE;
	r->next_fresh = r->pages;
	r->path = out;
	r->id = malloc(r->pages * sizeof(*r->id));
	r->released = calloc(r->pages, 1);
	r->written = calloc(r->pages, 1);
	if (!r->id || !r->released || !r->written) {
		fprintf(stderr, "refstring: out of memory for %" PRIu64 " pages\n", r->pages);
		ret = 1;
		goto out_free;
	}
	memset(r->id, 0xff, r->pages * sizeof(*r->id));
	r->out = fopen(out, "wb");
	if (!r->out) {
		fprintf(stderr, "refstring: %s: %s\n", out, strerror(errno));
		ret = 1;
		goto out_free;
	}
	rs_current = r;
	o = rs_workloads[w].run(&a);
	rs_flush(r);
	if (fclose(r->out) && !r->err)
		r->err = -errno;
	if (r->err) {
		fprintf(stderr, "refstring: %s: write: %s\n", out, strerror(-r->err));
		ret = 1;
		goto out_free;
	}
	printf("refstring workload=%s size=%" PRIu64 " passes=%" PRIu64 " seed=%" PRIu64
	       " hot=%" PRIu64 " refs=%" PRIu64 " distinct=%" PRIu64 " pages=%" PRIu64
	       " releases=%" PRIu64 "\n",
	       workload, a.size, a.passes, a.seed, a.hot, r->refs, r->distinct, o.pages,
	       r->releases);
	ret = o.ok ? 0 : 1;
out_free:
	free(r->id);
	free(r->released);
	free(r->written);
	free(r);
	return ret;
}
