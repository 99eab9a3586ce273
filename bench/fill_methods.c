/* bench/fill_methods.c: ways to fill the pages of a shmem frame store.
 *
 * The VMM's second level gives a guest page its memory by filling a page of
 * a memfd store through a view registered with userfaultfd (see
 * docs/second-level.md). This program times the candidate fills, without a
 * guest and without a fault thread, over the whole view, one window of W
 * pages at a time (W = 1, 16, 64, 512):
 *
 *   copy      UFFDIO_COPY of W pages from a buffer of zeros
 *   zeropage  UFFDIO_ZEROPAGE of W pages
 *   fallocate fallocate(mode 0) of W pages of the store, then a write to
 *             each page through the view (a minor fault, the page is there)
 *   anon      baseline: private anonymous memory (no THP), each page
 *             written once and so faulted in by the host kernel's own path
 *
 * Every method ends with one write per page through its mapping, so all
 * rows time "the page is mapped, writable and written once". Each cell is
 * the median of R repetitions (default 5); the store is emptied (hole
 * punched) between repetitions, outside the timing. Ratios are against the
 * anonymous baseline.
 *
 * Features are probed with UFFDIO_API on a throwaway descriptor first;
 * what is missing is named and its rows are printed as unsupported.
 *
 * usage: fill_methods [-s SIZE] [-r REPS]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

#define FM_PAGE	    4096UL
#define FM_MAX_REPS 101
#define FM_NWINDOWS 4

static const unsigned fm_windows[FM_NWINDOWS] = {1, 16, 64, 512};

enum fm_method { FM_COPY, FM_ZEROPAGE, FM_FALLOCATE, FM_NMETHODS };

static const char *const fm_method_names[FM_NMETHODS] = {
    [FM_COPY] = "UFFDIO_COPY",
    [FM_ZEROPAGE] = "UFFDIO_ZEROPAGE",
    [FM_FALLOCATE] = "fallocate+touch",
};

struct fm_store {
	int memfd;
	int uffd; /* -1: no userfaultfd at all */
	uint8_t *view;
	size_t size;
	bool has_copy;
	bool has_zeropage;
	const char *why_no_uffd; /* why uffd is -1 */
};

/* One cell: fill and touch medians in ns per page, or unsupported. */
struct fm_cell {
	bool ok;
	double fill_ns;
	double touch_ns;
	double total_ns;
};

static uint64_t fm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int fm_fail(const char *what)
{
	int err = errno;

	fprintf(stderr, "fill_methods: %s: %s\n", what, strerror(err));
	return -err;
}

static int fm_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v. */
static double fm_median(double *v, unsigned n)
{
	qsort(v, n, sizeof(v[0]), fm_cmp_double);
	return (v[(n - 1) / 2] + v[n / 2]) / 2;
}

static int fm_userfaultfd(void)
{
	return (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
}

static const char *fm_uffd_open_error(int err)
{
	switch (err) {
	case ENOSYS:
		return "userfaultfd: not in this kernel (ENOSYS)";
	case EPERM:
		return "userfaultfd: not permitted (EPERM): run as root, or set "
		       "vm.unprivileged_userfaultfd=1";
	default:
		return "userfaultfd: cannot open";
	}
}

/* UFFDIO_API with no features asked on a throwaway descriptor: what the
 * kernel offers. 0 with *features set, or -errno. */
static int fm_probe(uint64_t *features)
{
	struct uffdio_api api = {.api = UFFD_API, .features = 0};
	int fd = fm_userfaultfd(), err;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	close(fd);
	*features = api.features;
	return 0;
}

/* Open the descriptor the benchmark uses, MISSING faults on shmem. A fault
 * that nobody serves would hang this single-threaded program, so if the
 * kernel offers it, UFFD_FEATURE_SIGBUS turns such a fault into a SIGBUS
 * (none is expected: every touch follows a fill). */
static int fm_open_uffd(struct fm_store *s, uint64_t offered)
{
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_MISSING_SHMEM};
	struct uffdio_register reg = {.range = {(uintptr_t)s->view, s->size},
				      .mode = UFFDIO_REGISTER_MODE_MISSING};

	if (offered & UFFD_FEATURE_SIGBUS)
		api.features |= UFFD_FEATURE_SIGBUS;
	s->uffd = fm_userfaultfd();
	if (s->uffd < 0)
		return fm_fail("userfaultfd");
	if (ioctl(s->uffd, UFFDIO_API, &api) < 0)
		return fm_fail("UFFDIO_API (MISSING_SHMEM)");
	if (ioctl(s->uffd, UFFDIO_REGISTER, &reg) < 0)
		return fm_fail("UFFDIO_REGISTER of the memfd view (MISSING)");
	s->has_copy = reg.ioctls & (1ULL << _UFFDIO_COPY);
	s->has_zeropage = reg.ioctls & (1ULL << _UFFDIO_ZEROPAGE);
	return 0;
}

static int fm_store_create(struct fm_store *s, size_t size)
{
	uint64_t offered = 0;
	int ret;

	*s = (struct fm_store){.memfd = -1, .uffd = -1, .size = size};
	s->memfd = memfd_create("fill_methods-store", MFD_CLOEXEC);
	if (s->memfd < 0)
		return fm_fail("memfd_create");
	if (ftruncate(s->memfd, size) < 0)
		return fm_fail("ftruncate of the memfd store");
	s->view = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
	if (s->view == MAP_FAILED) {
		s->view = NULL;
		return fm_fail("mmap of the store (MAP_SHARED)");
	}
	ret = fm_probe(&offered);
	if (ret) {
		s->why_no_uffd = ret == -EINVAL ? "userfaultfd: UFFDIO_API refused API version"
						: fm_uffd_open_error(-ret);
		return 0;
	}
	if (!(offered & UFFD_FEATURE_MISSING_SHMEM)) {
		s->why_no_uffd =
		    "userfaultfd: UFFD_FEATURE_MISSING_SHMEM not offered by UFFDIO_API";
		return 0;
	}
	ret = fm_open_uffd(s, offered);
	if (ret)
		s->why_no_uffd = "userfaultfd: set-up failed (see above)";
	if (ret && s->uffd >= 0) {
		close(s->uffd);
		s->uffd = -1;
	}
	return 0;
}

static void fm_store_destroy(struct fm_store *s)
{
	if (s->view)
		munmap(s->view, s->size);
	if (s->uffd >= 0)
		close(s->uffd);
	if (s->memfd >= 0)
		close(s->memfd);
}

/* Give every page back: the view loses its mappings with them. */
static int fm_store_empty(struct fm_store *s)
{
	if (fallocate(s->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, s->size) < 0)
		return fm_fail("fallocate(PUNCH_HOLE) of the store");
	return 0;
}

/* One write per page, as a guest's first store would do. */
static void fm_touch(uint8_t *p, size_t size)
{
	for (size_t off = 0; off < size; off += FM_PAGE)
		((volatile uint8_t *)p)[off] = 1;
}

static int fm_fill_window(struct fm_store *s, enum fm_method m, size_t off, size_t len,
			  const uint8_t *zeros)
{
	switch (m) {
	case FM_COPY: {
		struct uffdio_copy c = {
		    .dst = (uintptr_t)s->view + off, .src = (uintptr_t)zeros, .len = len};

		if (ioctl(s->uffd, UFFDIO_COPY, &c) < 0 || c.copy != (int64_t)len)
			return fm_fail("UFFDIO_COPY");
		return 0;
	}
	case FM_ZEROPAGE: {
		struct uffdio_zeropage z = {.range = {(uintptr_t)s->view + off, len}};

		if (ioctl(s->uffd, UFFDIO_ZEROPAGE, &z) < 0 || z.zeropage != (int64_t)len)
			return fm_fail("UFFDIO_ZEROPAGE");
		return 0;
	}
	case FM_FALLOCATE:
		if (fallocate(s->memfd, 0, off, len) < 0)
			return fm_fail("fallocate(0) of the store");
		return 0;
	default:
		return -EINVAL;
	}
}

/* One repetition over the whole view: fill then touch, ns per page each. */
static int fm_run_once(struct fm_store *s, enum fm_method m, unsigned window, const uint8_t *zeros,
		       double *fill_ns, double *touch_ns)
{
	size_t len = window * FM_PAGE, pages = s->size / FM_PAGE;
	uint64_t t0, t1, t2;
	int ret;

	ret = fm_store_empty(s);
	if (ret)
		return ret;
	t0 = fm_now_ns();
	for (size_t off = 0; off < s->size; off += len) {
		ret = fm_fill_window(s, m, off, len, zeros);
		if (ret)
			return ret;
	}
	t1 = fm_now_ns();
	fm_touch(s->view, s->size);
	t2 = fm_now_ns();
	*fill_ns = (double)(t1 - t0) / pages;
	*touch_ns = (double)(t2 - t1) / pages;
	return 0;
}

static int fm_run_anon_once(size_t size, double *touch_ns)
{
	uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t t0;

	if (p == MAP_FAILED)
		return fm_fail("mmap of anonymous memory");
	/* Per 4 KiB page faults, whatever the THP setting. */
	if (madvise(p, size, MADV_NOHUGEPAGE) < 0) {
		munmap(p, size);
		return fm_fail("madvise(MADV_NOHUGEPAGE)");
	}
	t0 = fm_now_ns();
	fm_touch(p, size);
	*touch_ns = (double)(fm_now_ns() - t0) / (size / FM_PAGE);
	munmap(p, size);
	return 0;
}

static bool fm_supported(const struct fm_store *s, enum fm_method m)
{
	switch (m) {
	case FM_COPY:
		return s->uffd >= 0 && s->has_copy;
	case FM_ZEROPAGE:
		return s->uffd >= 0 && s->has_zeropage;
	default:
		return true;
	}
}

static int fm_measure(struct fm_store *s, enum fm_method m, unsigned window, unsigned reps,
		      const uint8_t *zeros, struct fm_cell *c)
{
	double fill[FM_MAX_REPS], touch[FM_MAX_REPS], total[FM_MAX_REPS];
	int ret;

	*c = (struct fm_cell){0};
	if (!fm_supported(s, m))
		return 0;
	for (unsigned r = 0; r < reps; r++) {
		ret = fm_run_once(s, m, window, zeros, &fill[r], &touch[r]);
		if (ret)
			return ret;
		total[r] = fill[r] + touch[r];
	}
	c->ok = true;
	c->fill_ns = fm_median(fill, reps);
	c->touch_ns = fm_median(touch, reps);
	c->total_ns = fm_median(total, reps);
	return 0;
}

/* A size with an optional K/M/G suffix, a whole number of 512-page windows. */
static int fm_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long n, mul = 1;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (!errno && end != s) {
		switch (*end) {
		case 'k':
		case 'K':
			mul = 1ULL << 10;
			end++;
			break;
		case 'm':
		case 'M':
			mul = 1ULL << 20;
			end++;
			break;
		case 'g':
		case 'G':
			mul = 1ULL << 30;
			end++;
			break;
		default:
			break;
		}
	}
	if (errno || end == s || *end || !n || n > (64ULL << 30) / mul ||
	    n * mul % (fm_windows[FM_NWINDOWS - 1] * FM_PAGE)) {
		fprintf(stderr,
			"fill_methods: -s %s: expected a multiple of 2M (the largest window) "
			"up to 64G, e.g. 256M\n",
			s);
		return -EINVAL;
	}
	*out = n * mul;
	return 0;
}

static int fm_parse_reps(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > FM_MAX_REPS) {
		fprintf(stderr, "fill_methods: -r %s: expected an integer in [1, %d]\n", s,
			FM_MAX_REPS);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static void fm_usage(FILE *f)
{
	fprintf(f, "usage: fill_methods [-s SIZE] [-r REPS]\n"
		   "Times ways to fill the pages of a memfd store registered with userfaultfd,\n"
		   "against anonymous memory faulted in by the kernel.\n"
		   "Defaults: -s 256M -r 5\n");
}

static void fm_print_cell(const char *method, const char *window, const struct fm_cell *c,
			  double anon_ns)
{
	if (!c->ok) {
		printf("| %-15s | %6s | %11s | %11s | %11s | %8s |\n", method, window, "-", "-",
		       "unsupported", "-");
		return;
	}
	printf("| %-15s | %6s | %11.3f | %11.3f | %11.3f | %7.2fx |\n", method, window,
	       c->fill_ns / 1000, c->touch_ns / 1000, c->total_ns / 1000, c->total_ns / anon_ns);
}

static void fm_print_header(const struct fm_store *s, size_t size, unsigned reps)
{
	printf("fill_methods: memfd store of %zu MiB (%zu pages), view MAP_SHARED", size >> 20,
	       size / FM_PAGE);
	printf("%s; median of %u repetitions\n",
	       s->uffd >= 0 ? ", registered with userfaultfd (MISSING)" : "", reps);
	if (s->uffd < 0)
		printf("unsupported: %s: UFFDIO_COPY and UFFDIO_ZEROPAGE not measured\n",
		       s->why_no_uffd);
	else {
		if (!s->has_copy)
			printf("unsupported: UFFDIO_COPY is not offered on this shmem range\n");
		if (!s->has_zeropage)
			printf("unsupported: UFFDIO_ZEROPAGE is not offered on this shmem range\n");
	}
	printf("\n| %-15s | %6s | %11s | %11s | %11s | %8s |\n", "method", "window", "fill us/pg",
	       "touch us/pg", "total us/pg", "vs anon");
	printf(
	    "|-----------------|--------|-------------|-------------|-------------|----------|\n");
}

int main(int argc, char **argv)
{
	size_t size = 256UL << 20;
	unsigned reps = 5;
	double anon[FM_MAX_REPS], anon_ns;
	struct fm_store s;
	struct fm_cell cells[FM_NMETHODS][FM_NWINDOWS], anon_cell;
	uint8_t *zeros;
	char wbuf[16];
	int c, ret = 0;

	while ((c = getopt(argc, argv, "s:r:h")) != -1) {
		switch (c) {
		case 's':
			ret = fm_parse_size(optarg, &size);
			break;
		case 'r':
			ret = fm_parse_reps(optarg, &reps);
			break;
		case 'h':
			fm_usage(stdout);
			return 0;
		default:
			fm_usage(stderr);
			return 2;
		}
		if (ret)
			return 2;
	}
	if (optind != argc) {
		fm_usage(stderr);
		return 2;
	}

	/* The source of every UFFDIO_COPY: the largest window of zeros. */
	zeros = mmap(NULL, fm_windows[FM_NWINDOWS - 1] * FM_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (zeros == MAP_FAILED) {
		fm_fail("mmap of the zero buffer");
		return 1;
	}
	ret = fm_store_create(&s, size);
	for (unsigned r = 0; !ret && r < reps; r++)
		ret = fm_run_anon_once(size, &anon[r]);
	for (int m = 0; !ret && m < FM_NMETHODS; m++)
		for (int w = 0; !ret && w < FM_NWINDOWS; w++)
			ret = fm_measure(&s, m, fm_windows[w], reps, zeros, &cells[m][w]);
	if (!ret) {
		anon_ns = fm_median(anon, reps);
		anon_cell = (struct fm_cell){.ok = true, .touch_ns = anon_ns, .total_ns = anon_ns};
		fm_print_header(&s, size, reps);
		fm_print_cell("anon (baseline)", "-", &anon_cell, anon_ns);
		for (int m = 0; m < FM_NMETHODS; m++)
			for (int w = 0; w < FM_NWINDOWS; w++) {
				snprintf(wbuf, sizeof(wbuf), "%u", fm_windows[w]);
				fm_print_cell(fm_method_names[m], wbuf, &cells[m][w], anon_ns);
			}
		printf("\nwindow: pages filled per call; fill: the calls, touch: one write per "
		       "page after them;\nvs anon: total against the anonymous baseline "
		       "(kernel fault path, MADV_NOHUGEPAGE).\n");
	}
	fm_store_destroy(&s);
	munmap(zeros, fm_windows[FM_NWINDOWS - 1] * FM_PAGE);
	return ret ? 1 : 0;
}
