/* bench/raw_read.c: the latency of one 4 KiB read from a file, the floor
 * under a swap-in.
 *
 *   raw_read [--fill SIZE] [--reads N] [--seed N] FILE
 *
 * Reads N (default 2000) 4 KiB blocks at uniformly random block offsets
 * of FILE, one at a time, each timed alone with CLOCK_MONOTONIC around the
 * pread, and prints one line:
 *
 *   raw_read path=FILE size=BYTES reads=N io=direct|buffered-dontneed
 *            p50_ns=N p99_ns=N min_ns=N mean_ns=N
 *
 * io=direct: the file is opened O_DIRECT, so every read goes to the device.
 * Where the filesystem refuses O_DIRECT (EINVAL: tmpfs before 6.6, some
 * FUSE), buffered reads, with the block dropped from the page cache
 * (posix_fadvise DONTNEED) before each read, outside the timing; the VMM's
 * swap file falls back the same way.
 *
 * --fill SIZE first writes FILE to SIZE bytes of non-zero data and syncs
 * it, so that no read lands on a hole (a hole reads without any I/O). A
 * VMM's swap file filled this way beforehand is a fair place to probe.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RR_BLOCK     4096
#define RR_FILL_STEP (1 << 20)

static uint64_t rr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rr_xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int rr_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Write size bytes of non-zero data to path and sync them. */
static int rr_fill(const char *path, uint64_t size)
{
	char *buf;
	uint64_t off;
	int fd, ret = 0;

	if (posix_memalign((void **)&buf, RR_BLOCK, RR_FILL_STEP))
		return -ENOMEM;
	memset(buf, 0xa5, RR_FILL_STEP);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, "raw_read: %s: open for --fill: %s\n", path, strerror(errno));
		goto out_free;
	}
	for (off = 0; off < size && !ret; off += RR_FILL_STEP) {
		size_t n = size - off < RR_FILL_STEP ? size - off : RR_FILL_STEP;

		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
			ret = errno ? -errno : -EIO;
			fprintf(stderr, "raw_read: %s: write at %" PRIu64 ": %s\n", path, off,
				strerror(-ret));
		}
	}
	if (!ret && fsync(fd) < 0) {
		ret = -errno;
		fprintf(stderr, "raw_read: %s: fsync: %s\n", path, strerror(errno));
	}
	close(fd);
out_free:
	free(buf);
	return ret;
}

static int rr_parse(const char *opt, const char *s, int sizes, uint64_t *out)
{
	char *end;
	uint64_t n;

	errno = 0;
	n = strtoull(s, &end, 0);
	if (sizes && (*end == 'M' || *end == 'G' || *end == 'K')) {
		n <<= *end == 'K' ? 10 : *end == 'M' ? 20 : 30;
		end++;
	}
	if (errno || end == s || *end || *s == '-' || !n) {
		fprintf(stderr, "raw_read: %s %s: expected a positive number%s\n", opt, s,
			sizes ? " (K, M, G suffixes)" : "");
		return -EINVAL;
	}
	*out = n;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"fill", required_argument, NULL, 'f'},
	    {"reads", required_argument, NULL, 'n'},
	    {"seed", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t fill = 0, reads = 2000, seed = 1, blocks, i, sum = 0, *ns;
	const char *path, *io = "direct";
	struct stat st;
	char *buf;
	int c, fd, ret = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f' && !rr_parse("--fill", optarg, 1, &fill))
			continue;
		if (c == 'n' && !rr_parse("--reads", optarg, 0, &reads))
			continue;
		if (c == 's' && !rr_parse("--seed", optarg, 0, &seed))
			continue;
		fprintf(stderr, "usage: raw_read [--fill SIZE] [--reads N] [--seed N] FILE\n");
		return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: raw_read [--fill SIZE] [--reads N] [--seed N] FILE\n");
		return 2;
	}
	path = argv[optind];
	if (fill && rr_fill(path, fill))
		return 1;
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 && errno == EINVAL) {
		io = "buffered-dontneed";
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		fprintf(stderr, "raw_read: %s: open: %s\n", path, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) < 0) {
		fprintf(stderr, "raw_read: %s: fstat: %s\n", path, strerror(errno));
		goto out_close;
	}
	if (st.st_size < RR_BLOCK) {
		fprintf(stderr, "raw_read: %s: %jd bytes, smaller than one 4 KiB block (--fill?)\n",
			path, (intmax_t)st.st_size);
		goto out_close;
	}
	blocks = (uint64_t)st.st_size / RR_BLOCK;
	ns = calloc(reads, sizeof(*ns));
	if (!ns || posix_memalign((void **)&buf, RR_BLOCK, RR_BLOCK)) {
		fprintf(stderr, "raw_read: out of memory for %" PRIu64 " reads\n", reads);
		free(ns);
		goto out_close;
	}
	seed = seed * 0x9e3779b97f4a7c15ULL | 1;
	for (i = 0; i < reads; i++) {
		off_t off = (off_t)(rr_xorshift(&seed) % blocks * RR_BLOCK);
		uint64_t t0;
		ssize_t n;

		if (*io == 'b')
			posix_fadvise(fd, off, RR_BLOCK, POSIX_FADV_DONTNEED);
		t0 = rr_now_ns();
		n = pread(fd, buf, RR_BLOCK, off);
		ns[i] = rr_now_ns() - t0;
		if (n != RR_BLOCK) {
			fprintf(stderr, "raw_read: %s: read at %jd: %s\n", path, (intmax_t)off,
				n < 0 ? strerror(errno) : "short read");
			goto out_free;
		}
		sum += ns[i];
	}
	qsort(ns, reads, sizeof(*ns), rr_cmp);
	printf("raw_read path=%s size=%jd reads=%" PRIu64 " io=%s p50_ns=%" PRIu64
	       " p99_ns=%" PRIu64 " min_ns=%" PRIu64 " mean_ns=%" PRIu64 "\n",
	       path, (intmax_t)st.st_size, reads, io, ns[(reads - 1) / 2],
	       ns[(reads * 99 - 1) / 100], ns[0], sum / reads);
	ret = 0;
out_free:
	free(buf);
	free(ns);
out_close:
	close(fd);
	return ret;
}
