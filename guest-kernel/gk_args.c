/* guest-kernel/gk_args.c: parse "key=value key=value" from the command line. */
#include "gk_args.h"
#include "gk_lib.h"

#define EINVAL 22

static const char *const gk_args_workloads[WORKLOAD_COUNT] = {
    [WORKLOAD_TOUCH] = "touch",	  [WORKLOAD_RANDOM] = "random", [WORKLOAD_HOTSET] = "hotset",
    [WORKLOAD_PHASES] = "phases", [WORKLOAD_VERIFY] = "verify", [WORKLOAD_SEGV] = "segv",
    [WORKLOAD_CHURN] = "churn",	  [WORKLOAD_OOB] = "oob",	[WORKLOAD_TRIPLE] = "triple",
};

const char *gk_bootargs_workload_name(enum workload w)
{
	return w < WORKLOAD_COUNT ? gk_args_workloads[w] : "?";
}

/* Whether the len bytes at s are exactly name. */
static bool gk_args_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && !memcmp(s, name, len);
}

/* A digit's value in bases up to 36; 99 for anything else. */
static unsigned gk_args_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20; /* lower case */
	return ch >= 'a' && ch <= 'z' ? ch - 'a' + 10 : 99;
}

/* A number with an optional K/M/G suffix, filling the whole value: what
 * strtoul(v, &end, 0) accepts (an optional '+', then 0x hex, 0 octal or
 * decimal), read within the value only. */
static int gk_args_number(const char *v, size_t len, int suffixes, uint64_t *out)
{
	const char *end = v + len, *p = v, *digits;
	uint64_t n = 0, mul = 1;
	unsigned base = 10, d;

	if (p < end && *p == '+')
		p++;
	if (end - p > 2 && p[0] == '0' && (p[1] | 0x20) == 'x' && gk_args_digit(p[2]) < 16) {
		p += 2;
		base = 16;
	} else if (p < end && *p == '0') {
		base = 8;
	}
	for (digits = p; p < end && (d = gk_args_digit(*p)) < base; p++)
		n = n * base + d;
	if (p == digits)
		return -EINVAL;
	end = p;
	if (suffixes && end < v + len) {
		switch (*end) {
		case 'k':
		case 'K':
			mul = 1ULL << 10;
			break;
		case 'm':
		case 'M':
			mul = 1ULL << 20;
			break;
		case 'g':
		case 'G':
			mul = 1ULL << 30;
			break;
		default:
			return -EINVAL;
		}
		end++;
	}
	if (end != v + len || (n && n * mul / mul != n))
		return -EINVAL;
	*out = n * mul;
	return 0;
}

static int gk_args_workload(struct gk_bootargs *a, const char *v, size_t len)
{
	unsigned i;

	for (i = 0; i < WORKLOAD_COUNT; i++)
		if (gk_args_is(v, len, gk_args_workloads[i])) {
			a->workload = i;
			return 0;
		}
	return -EINVAL;
}

static int gk_args_one(struct gk_bootargs *a, const char *key, size_t klen, const char *v,
		       size_t vlen)
{
	uint64_t n = 0;

#define ARGS_KEY(s) gk_args_is(key, klen, s)
	if (ARGS_KEY("workload"))
		return gk_args_workload(a, v, vlen);
	if (ARGS_KEY("size")) {
		if (gk_args_number(v, vlen, 1, &n) || !n || n > USER_HEAP_MAX)
			return -EINVAL;
		a->size = ALIGN_UP(n, PAGE_SIZE);
	} else if (ARGS_KEY("wset")) {
		if (gk_args_number(v, vlen, 1, &n) || !n || n > USER_HEAP_MAX)
			return -EINVAL;
		a->wset = ALIGN_UP(n, PAGE_SIZE);
	} else if (ARGS_KEY("seed")) {
		if (gk_args_number(v, vlen, 0, &a->seed))
			return -EINVAL;
	} else if (ARGS_KEY("passes")) {
		if (gk_args_number(v, vlen, 0, &n) || !n || n > 1000000)
			return -EINVAL;
		a->passes = n;
	} else if (ARGS_KEY("hot")) {
		if (gk_args_number(v, vlen, 0, &n) || !n || n > 100)
			return -EINVAL;
		a->hot = n;
	} else if (ARGS_KEY("stride")) {
		if (gk_args_number(v, vlen, 0, &n) || !n)
			return -EINVAL;
		a->stride = n;
	} else if (ARGS_KEY("progress")) {
		if (gk_args_number(v, vlen, 0, &a->progress))
			return -EINVAL;
	} else if (ARGS_KEY("fault_around")) {
		if (gk_args_number(v, vlen, 0, &n) || !n || n > ARGS_FAULT_AROUND_MAX)
			return -EINVAL;
		a->fault_around = (unsigned)n;
	} else if (ARGS_KEY("fault_around_max")) {
		if (gk_args_number(v, vlen, 0, &n) || !n || n > ARGS_FAULT_AROUND_MAX)
			return -EINVAL;
		a->fault_around_max = (unsigned)n;
	}
#undef ARGS_KEY
	return 0;
}

static void gk_args_defaults(struct gk_bootargs *a)
{
	a->workload = WORKLOAD_TOUCH;
	a->size = 2ULL << 20;
	a->seed = 1;
	a->passes = 0;
	a->hot = 10;
	a->stride = 1;
	a->progress = 0;
	a->fault_around = 16;
	a->fault_around_max = ARGS_FAULT_AROUND_MAX;
}

static bool gk_args_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n';
}

int gk_bootargs_parse(struct gk_bootargs *a, const char *s, struct gk_console *c)
{
	gk_args_defaults(a);
	while (*s) {
		const char *tok, *eq;
		size_t len;

		while (gk_args_space(*s))
			s++;
		for (tok = s; *s && !gk_args_space(*s); s++)
			;
		len = s - tok;
		eq = memchr(tok, '=', len);
		if (!len || !eq)
			continue;
		if (gk_args_one(a, tok, eq - tok, eq + 1, tok + len - eq - 1) < 0) {
			gk_printf(c, "BOOT error=\"bad boot argument\" arg=");
			while (tok < s)
				gk_printf(c, "%c", *tok++);
			gk_printf(c, " expected=\"workload=touch|random|hotset|phases|verify|segv|"
				     "churn|oob|triple size=N[K|M|G] seed=N passes=1.. hot=1..100 "
				     "stride=1.. progress=N wset=N[K|M|G] "
				     "fault_around=1..512 fault_around_max=1..512\"\n");
			return -EINVAL;
		}
	}
	if (a->fault_around_max < a->fault_around)
		a->fault_around_max = a->fault_around;
	if (!a->passes && a->workload == WORKLOAD_VERIFY)
		a->passes = 3;
	else if (!a->passes)
		a->passes = a->workload == WORKLOAD_TOUCH ? 1 : 2;
	return 0;
}
