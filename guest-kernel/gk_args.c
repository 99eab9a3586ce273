/* guest-kernel/gk_args.c: parse "key=value key=value" from the command line. */
#include "gk_args.h"
#include "gk_lib.h"

static const char *const gk_args_workloads[WORKLOAD_COUNT] = {
    [WORKLOAD_TOUCH] = "touch",	      [WORKLOAD_RANDOM] = "random",
    [WORKLOAD_HOTSET] = "hotset",     [WORKLOAD_PHASES] = "phases",
    [WORKLOAD_VERIFY] = "verify",     [WORKLOAD_SEGV] = "segv",
    [WORKLOAD_CHURN] = "churn",	      [WORKLOAD_OOB] = "oob",
    [WORKLOAD_FORKTREE] = "forktree", [WORKLOAD_MMAPFILE] = "mmapfile",
    [WORKLOAD_SHM] = "shm",	      [WORKLOAD_STACK] = "stack",
    [WORKLOAD_OOM] = "oom",	      [WORKLOAD_TLB] = "tlb",
    [WORKLOAD_COST] = "cost",	      [WORKLOAD_TRIPLE] = "triple",
};

static const char *const gk_args_scheds[] = {
    [SCHED_AUTO] = "auto", [SCHED_TIMER] = "timer", [SCHED_TRAP] = "trap"};

/* The numeric keys: where each goes, its range, and whether K/M/G apply. */
static const struct gk_args_key {
	const char *name;
	size_t offset;
	uint64_t min, max;
	int suffixes;
} gk_args_keys[] = {
#define ARGS_NUM(field, lo, hi, sfx)                                                               \
	{                                                                                          \
#field, __builtin_offsetof(struct gk_bootargs, field), lo, hi, sfx                 \
	}
    ARGS_NUM(size, 1, USER_HEAP_MAX, 1),
    ARGS_NUM(wset, 1, USER_HEAP_MAX, 1),
    ARGS_NUM(seed, 0, UINT64_MAX, 0),
    ARGS_NUM(passes, 1, 1000000, 0),
    ARGS_NUM(hot, 1, 100, 0),
    ARGS_NUM(stride, 1, UINT64_MAX, 0),
    ARGS_NUM(progress, 0, UINT64_MAX, 0),
    ARGS_NUM(depth, 0, 8, 0),
    ARGS_NUM(fanout, 1, 8, 0),
    ARGS_NUM(write, 0, 100, 0),
    ARGS_NUM(procs, 1, 32, 0),
    ARGS_NUM(stack, 4096, USER_STACK_LIMIT, 1),
    ARGS_NUM(stack_max, USER_STACK_SIZE, USER_STACK_LIMIT, 1),
    ARGS_NUM(fault_around, 1, ARGS_FAULT_AROUND_MAX, 0),
    ARGS_NUM(fault_around_max, 1, ARGS_FAULT_AROUND_MAX, 0),
    ARGS_NUM(pcid, 0, 1, 0),
    ARGS_NUM(quantum_us, 100, 1000000, 0),
    ARGS_NUM(tlb_skip, 0, 1, 0),
#undef ARGS_NUM
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

static int gk_args_lookup(const char *const *names, unsigned n, const char *s, uint64_t len)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (gk_args_is(s, len, names[i]))
			return (int)i;
	return -1;
}

int gk_bootargs_workload_by_name(const char *name, uint64_t len)
{
	return gk_args_lookup(gk_args_workloads, WORKLOAD_COUNT, name, len);
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
		switch (*end | 0x20) {
		case 'k':
			mul = 1ULL << 10;
			break;
		case 'm':
			mul = 1ULL << 20;
			break;
		case 'g':
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

static int gk_args_one(struct gk_bootargs *a, const char *key, size_t klen, const char *v,
		       size_t vlen)
{
	const struct gk_args_key *k;
	uint64_t n;
	int i;

	if (gk_args_is(key, klen, "workload")) {
		i = gk_args_lookup(gk_args_workloads, WORKLOAD_COUNT, v, vlen);
		a->workload = (enum workload)i;
		return i < 0 ? -EINVAL : 0;
	}
	if (gk_args_is(key, klen, "sched")) {
		i = gk_args_lookup(gk_args_scheds, ARRAY_SIZE(gk_args_scheds), v, vlen);
		a->sched = (enum gk_sched_mode)i;
		return i < 0 ? -EINVAL : 0;
	}
	for (k = gk_args_keys; k < gk_args_keys + ARRAY_SIZE(gk_args_keys); k++) {
		if (!gk_args_is(key, klen, k->name))
			continue;
		if (gk_args_number(v, vlen, k->suffixes, &n) || n < k->min || n > k->max)
			return -EINVAL;
		*(uint64_t *)((char *)a + k->offset) = n;
	}
	return 0;
}

static void gk_args_defaults(struct gk_bootargs *a)
{
	*a = (struct gk_bootargs){
	    .workload = WORKLOAD_TOUCH,
	    .sched = SCHED_AUTO,
	    .size = 2ULL << 20,
	    .seed = 1,
	    .hot = 10,
	    .stride = 1,
	    .depth = 3,
	    .fanout = 2,
	    .write = 25,
	    .procs = 3,
	    .stack = 256 << 10,
	    .stack_max = 8 << 20,
	    .fault_around = 16,
	    .fault_around_max = ARGS_FAULT_AROUND_MAX,
	    .pcid = 1,
	    .quantum_us = 10000,
	};
}

static bool gk_args_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n';
}

static void gk_args_usage(struct gk_console *c, const char *tok, const char *end)
{
	const struct gk_args_key *k;
	unsigned i;

	gk_printf(c, "BOOT error=\"bad boot argument\" arg=");
	while (tok < end)
		gk_printf(c, "%c", *tok++);
	gk_printf(c, " expected=\"workload=");
	for (i = 0; i < WORKLOAD_COUNT; i++)
		gk_printf(c, "%s%s", i ? "|" : "", gk_args_workloads[i]);
	gk_printf(c, " sched=auto|timer|trap");
	for (k = gk_args_keys; k < gk_args_keys + ARRAY_SIZE(gk_args_keys); k++)
		gk_printf(c, " %s=%lu..%lu%s", k->name, k->min, k->max,
			  k->suffixes ? "[K|M|G]" : "");
	gk_printf(c, "\"\n");
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
			gk_args_usage(c, tok, s);
			return -EINVAL;
		}
	}
	if (a->fault_around_max < a->fault_around)
		a->fault_around_max = a->fault_around;
	a->size = ALIGN_UP(a->size, PAGE_SIZE);
	a->wset = ALIGN_UP(a->wset, PAGE_SIZE);
	a->stack_max = ALIGN_UP(a->stack_max, PAGE_SIZE);
	if (!a->passes)
		a->passes = a->workload == WORKLOAD_VERIFY  ? 3
			    : a->workload == WORKLOAD_TOUCH ? 1
							    : 2;
	return 0;
}
