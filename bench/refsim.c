/* bench/refsim.c: replay a reference string through the replacement
 * policies of reclaim/ and compare their faults with OPT's.
 *
 * usage: refsim [--capacity N[,N...]] [--policies P[,P...]] FILE
 *
 * FILE holds page indices: text, one a line (decimal, or hex with 0x;
 * blank lines and lines starting with # are skipped), or, if its name ends
 * in .bin, little-endian uint64s back to back. Indices may be any 64-bit
 * values: they are renumbered densely (in order of value) before the
 * replay, which changes no policy's choices. Capacities are frame counts
 * (default: a quarter, half and three quarters of the distinct pages);
 * policies any of opt, lru, fifo, clock (default: all four). OPT runs at
 * every capacity, listed or not, as the baseline of the last column.
 *
 * Exit status: 0, 2 on bad options or input (the message names the file
 * and line), 1 on any other failure.
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "sim.h"

#define RS_MAX_LIST 32
#define RS_BAD	    2 /* exit status: bad options or input */

struct rs_refs {
	uint64_t *v;
	uint64_t n, cap;
	uint64_t pages; /* distinct, after renumbering */
};

struct rs_opts {
	uint64_t capacity[RS_MAX_LIST];
	unsigned nr_capacity;
	const struct policy_ops *policy[RS_MAX_LIST];
	unsigned nr_policy;
	const char *file;
};

static int rs_push(struct rs_refs *r, uint64_t page)
{
	if (r->n == r->cap) {
		uint64_t cap = r->cap ? 2 * r->cap : 4096;
		uint64_t *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = page;
	return 0;
}

/* One line of text: 1 and *page for an index, 0 for a blank or comment
 * line, -EINVAL for anything else. */
static int rs_parse_line(char *s, uint64_t *page)
{
	char *end;
	int base = 10;

	s += strspn(s, " \t");
	s[strcspn(s, "\r\n")] = '\0';
	if (!*s || *s == '#')
		return 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	/* strtoull alone would take a sign, spaces or a bare 0x. */
	if (!(base == 16 ? isxdigit((unsigned char)*s) : isdigit((unsigned char)*s)))
		return -EINVAL;
	errno = 0;
	*page = strtoull(s, &end, base);
	if (errno || end[strspn(end, " \t")])
		return -EINVAL;
	return 1;
}

static int rs_read_text(FILE *f, const char *path, struct rs_refs *r)
{
	char *line = NULL;
	size_t len = 0;
	uint64_t lineno = 0, page;
	int ret = 0;

	while (getline(&line, &len, f) >= 0) {
		lineno++;
		ret = rs_parse_line(line, &page);
		if (ret < 0) {
			fprintf(stderr,
				"refsim: %s:%lu: expected a page index (decimal, or hex with 0x), "
				"got '%.40s'\n",
				path, lineno, line + strspn(line, " \t"));
			ret = -EINVAL;
			break;
		}
		ret = ret ? rs_push(r, page) : 0;
		if (ret)
			break;
	}
	free(line);
	return ret;
}

static int rs_read_bin(FILE *f, const char *path, struct rs_refs *r)
{
	unsigned char buf[8];
	size_t got;
	int ret;

	while ((got = fread(buf, 1, sizeof(buf), f)) == sizeof(buf)) {
		uint64_t le;

		memcpy(&le, buf, sizeof(le));
		ret = rs_push(r, le64toh(le));
		if (ret)
			return ret;
	}
	if (got) {
		fprintf(stderr,
			"refsim: %s: %lu bytes: not a whole number of little-endian uint64 page "
			"indices (8 bytes each), %zu bytes left over\n",
			path, r->n * 8 + got, got);
		return -EINVAL;
	}
	return 0;
}

static bool rs_is_bin(const char *path)
{
	size_t len = strlen(path);

	return len >= 4 && !strcmp(path + len - 4, ".bin");
}

static int rs_read(const char *path, struct rs_refs *r)
{
	FILE *f = fopen(path, "r");
	int ret;

	if (!f) {
		fprintf(stderr, "refsim: %s: %s\n", path, strerror(errno));
		return -EINVAL; /* the operand is bad input, as its contents would be */
	}
	ret = rs_is_bin(path) ? rs_read_bin(f, path, r) : rs_read_text(f, path, r);
	if (!ret && ferror(f)) {
		fprintf(stderr, "refsim: %s: read error\n", path);
		ret = -EIO;
	}
	if (!ret && !r->n) {
		fprintf(stderr, "refsim: %s: no page indices in it\n", path);
		ret = -EINVAL;
	}
	fclose(f);
	return ret;
}

static int rs_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Page indices become 0 .. distinct - 1, in order of value. */
static int rs_renumber(struct rs_refs *r)
{
	uint64_t *sorted = malloc(r->n * sizeof(*sorted)), k = 0;

	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, r->v, r->n * sizeof(*sorted));
	qsort(sorted, r->n, sizeof(*sorted), rs_cmp);
	for (uint64_t i = 0; i < r->n; i++) {
		if (!k || sorted[i] != sorted[k - 1])
			sorted[k++] = sorted[i];
	}
	for (uint64_t i = 0; i < r->n; i++) {
		uint64_t *at = bsearch(&r->v[i], sorted, k, sizeof(*sorted), rs_cmp);

		r->v[i] = (uint64_t)(at - sorted);
	}
	r->pages = k;
	free(sorted);
	return 0;
}

static int rs_parse_capacities(const char *arg, struct rs_opts *o)
{
	const char *s = arg;

	for (o->nr_capacity = 0; o->nr_capacity < RS_MAX_LIST; s++) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || end == s || *s == '-' || !v || (*end && *end != ',')) {
			fprintf(stderr,
				"refsim: --capacity %s: expected frame counts (positive integers) "
				"separated by commas, e.g. 16,64,256\n",
				arg);
			return -EINVAL;
		}
		o->capacity[o->nr_capacity++] = v;
		s = end;
		if (!*s)
			return 0;
	}
	fprintf(stderr, "refsim: --capacity %s: at most %d capacities\n", arg, RS_MAX_LIST);
	return -EINVAL;
}

static int rs_parse_policies(const char *arg, struct rs_opts *o)
{
	char *copy = strdup(arg), *save = NULL, *name;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	o->nr_policy = 0;
	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		const struct policy_ops *ops = policy_by_name(name);

		if (!ops) {
			fprintf(
			    stderr,
			    "refsim: --policies %s: no policy '%s' (any of opt, lru, fifo, clock, "
			    "separated by commas)\n",
			    arg, name);
			ret = -EINVAL;
			break;
		}
		if (o->nr_policy == RS_MAX_LIST) {
			fprintf(stderr, "refsim: --policies %s: at most %d policies\n", arg,
				RS_MAX_LIST);
			ret = -EINVAL;
			break;
		}
		o->policy[o->nr_policy++] = ops;
	}
	if (!ret && !o->nr_policy) {
		fprintf(stderr, "refsim: --policies '%s': no policy named\n", arg);
		ret = -EINVAL;
	}
	free(copy);
	return ret;
}

static void rs_usage(FILE *f)
{
	fprintf(f, "usage: refsim [--capacity N[,N...]] [--policies P[,P...]] FILE\n"
		   "Replays the reference string in FILE (page indices: text, one a line, or\n"
		   "little-endian uint64s if FILE ends in .bin) through each policy at each\n"
		   "capacity (frames) and prints faults against OPT's.\n"
		   "Defaults: --capacity of 1/4, 1/2 and 3/4 of the distinct pages,\n"
		   "--policies opt,lru,fifo,clock\n");
}

static int rs_parse_args(int argc, char **argv, struct rs_opts *o)
{
	static const struct option longopts[] = {
	    {"capacity", required_argument, NULL, 'c'},
	    {"policies", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, ret = 0;

	while (!ret && (c = getopt_long(argc, argv, "c:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ret = rs_parse_capacities(optarg, o);
			break;
		case 'p':
			ret = rs_parse_policies(optarg, o);
			break;
		case 'h':
			return 1;
		default:
			rs_usage(stderr);
			return -EINVAL;
		}
	}
	if (!ret && optind + 1 != argc) {
		fprintf(stderr, "refsim: expected one FILE, got %d\n", argc - optind);
		rs_usage(stderr);
		ret = -EINVAL;
	}
	o->file = argv[argc - 1];
	return ret;
}

static void rs_defaults(struct rs_opts *o, uint64_t pages)
{
	static const struct policy_ops *const all[] = {&policy_opt_ops, &policy_lru_ops,
						       &policy_fifo_ops, &policy_clock_ops};

	if (!o->nr_capacity) {
		for (unsigned q = 1; q <= 3; q++)
			o->capacity[o->nr_capacity++] = pages * q / 4 ? pages * q / 4 : 1;
	}
	if (!o->nr_policy) {
		for (unsigned i = 0; i < 4; i++)
			o->policy[o->nr_policy++] = all[i];
	}
}

static int rs_sim(const struct policy_ops *ops, const struct rs_refs *r, uint64_t capacity,
		  struct sim_result *out)
{
	int ret = sim_run(ops, r->v, r->n, r->pages, capacity, out);

	if (ret)
		fprintf(stderr, "refsim: %s at %lu frames: %s\n", ops->name, capacity,
			strerror(-ret));
	return ret;
}

static int rs_table(const struct rs_opts *o, const struct rs_refs *r)
{
	struct sim_result opt, res;
	int ret;

	printf("refsim: %s: %lu references to %lu distinct pages\n\n", o->file, r->n, r->pages);
	printf("| %8s | %-6s | %12s | %12s | %11s | %7s |\n", "capacity", "policy", "refs",
	       "faults", "fault ratio", "vs opt");
	printf("|---------:|--------|-------------:|-------------:|------------:|--------:|\n");
	for (unsigned c = 0; c < o->nr_capacity; c++) {
		ret = rs_sim(&policy_opt_ops, r, o->capacity[c], &opt);
		if (ret)
			return ret;
		for (unsigned p = 0; p < o->nr_policy; p++) {
			ret = rs_sim(o->policy[p], r, o->capacity[c], &res);
			if (ret)
				return ret;
			printf("| %8lu | %-6s | %12lu | %12lu | %11.4f | %6.3fx |\n",
			       o->capacity[c], o->policy[p]->name, res.refs, res.faults,
			       (double)res.faults / res.refs, (double)res.faults / opt.faults);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rs_opts o = {0};
	struct rs_refs r = {0};
	int ret = rs_parse_args(argc, argv, &o);

	if (ret > 0) {
		rs_usage(stdout);
		return 0;
	}
	if (!ret)
		ret = rs_read(o.file, &r);
	if (!ret)
		ret = rs_renumber(&r);
	if (!ret) {
		rs_defaults(&o, r.pages);
		ret = rs_table(&o, &r);
	}
	if (ret == -ENOMEM)
		fprintf(stderr, "refsim: out of memory\n");
	free(r.v);
	return !ret ? 0 : ret == -EINVAL ? RS_BAD : 1;
}
