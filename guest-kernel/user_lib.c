/* guest-kernel/user_lib.c: system calls, text and page patterns for tasks. */
#include "user.h"

int64_t u_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	int64_t ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "memory");
	return ret;
}

int64_t u_syscall6(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		   uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a3, r8 __asm__("r8") = a4, r9 __asm__("r9") = a5;
	int64_t ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "memory");
	return ret;
}

int64_t u_fork(void)
{
	return u_syscall(SYS_FORK, 0, 0, 0);
}

int64_t u_wait(int64_t pid, int *status)
{
	return u_syscall(SYS_WAIT, (uint64_t)pid, (uint64_t)(uintptr_t)status, 0);
}

void u_yield(void)
{
	u_syscall(SYS_YIELD, 0, 0, 0);
}

int64_t u_spawn(const char *name)
{
	uint64_t n = 0;

	while (name[n])
		n++;
	return u_syscall(SYS_SPAWN, (uint64_t)(uintptr_t)name, n, 0);
}

uint64_t u_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, int64_t fd,
		uint64_t off)
{
	return (uint64_t)u_syscall6(SYS_MMAP, addr, len, prot, flags, (uint64_t)fd, off);
}

int64_t u_munmap(uint64_t addr, uint64_t len)
{
	return u_syscall(SYS_MUNMAP, addr, len, 0);
}

int64_t u_mprotect(uint64_t addr, uint64_t len, uint64_t prot)
{
	return u_syscall(SYS_MPROTECT, addr, len, prot);
}

void u_stat(struct user_stat *st)
{
	u_syscall(SYS_STAT, (uint64_t)(uintptr_t)st, 0, 0);
}

bool u_manifest_next(const char **p, const char *end, struct u_file *f)
{
	const char *s = *p;
	unsigned d;

	f->sum = f->size = f->len = 0;
	for (; s < end && *s != ' '; s++) {
		d = *s >= 'a' ? (unsigned)(*s - 'a' + 10) : (unsigned)(*s - '0');
		if (d > 15)
			return false;
		f->sum = f->sum * 16 + d;
	}
	for (s++; s < end && *s >= '0' && *s <= '9'; s++)
		f->size = f->size * 10 + (uint64_t)(*s - '0');
	for (s++; s < end && *s != '\n' && f->len < U_NAME_MAX - 1; s++)
		f->name[f->len++] = *s;
	f->name[f->len] = '\0';
	*p = s + 1;
	return s < end && *s == '\n' && f->len;
}

int64_t u_open(const char *name, uint64_t len, uint64_t *size)
{
	return u_syscall(SYS_OPEN, (uint64_t)(uintptr_t)name, len, (uint64_t)(uintptr_t)size);
}

void u_report(const char *what, unsigned n, const char *const *keys, const uint64_t *values)
{
	struct u_line l;
	unsigned i;

	l.len = 0;
	u_line_str(&l, what);
	for (i = 0; i < n; i++) {
		u_line_str(&l, " ");
		u_line_str(&l, keys[i]);
		u_line_str(&l, "=");
		u_line_dec(&l, values[i]);
	}
	u_line_send(&l);
}

bool u_wait_all(int want, int64_t odd, int odd_want)
{
	static const char *const keys[] = {"pid", "status", "want"};
	uint64_t v[3];
	int64_t pid;
	int status;
	bool ok = true;

	while ((pid = u_wait(-1, &status)) > 0) {
		v[2] = (uint64_t)(pid == odd ? odd_want : want);
		if ((uint64_t)status != v[2]) {
			v[0] = (uint64_t)pid;
			v[1] = (uint64_t)status;
			u_report("CHILD", 3, keys, v);
			ok = false;
		}
	}
	return ok;
}

void u_exit(int64_t status)
{
	u_syscall(SYS_EXIT, (uint64_t)status, 0, 0);
	for (;;) /* never reached: exit does not return */
		;
}

uint64_t u_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

void u_line_str(struct u_line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf))
		l->buf[l->len++] = *s++;
}

static void u_line_num(struct u_line *l, uint64_t v, unsigned base)
{
	char tmp[20];
	unsigned n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && l->len < sizeof(l->buf))
		l->buf[l->len++] = tmp[--n];
}

void u_line_hex(struct u_line *l, uint64_t v)
{
	u_line_str(l, "0x");
	u_line_num(l, v, 16);
}

void u_line_dec(struct u_line *l, uint64_t v)
{
	u_line_num(l, v, 10);
}

void u_line_send(struct u_line *l)
{
	u_syscall(SYS_WRITE, (uint64_t)(uintptr_t)l->buf, l->len, 0);
	l->len = 0;
}

uint64_t u_pattern(uint64_t page, uint64_t pass, uint64_t seed)
{
	uint64_t x = page * 0x9e3779b97f4a7c15ULL ^ (pass + 1) * 0xc2b2ae3d27d4eb4fULL ^
		     (seed + 1) * 0x165667b19e3779f9ULL;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x | 1;
}

void u_page_fill(uint64_t page, uint64_t pattern)
{
	volatile uint64_t *p = (uint64_t *)(uintptr_t)page;
	uint64_t i;

	for (i = 0; i < U_PAGE_WORDS; i++)
		p[i] = pattern + i;
}

static bool u_mismatch(const char *what, uint64_t addr, uint64_t got, uint64_t want)
{
	struct u_line l;

	l.len = 0;
	u_line_str(&l, "MISMATCH check=");
	u_line_str(&l, what);
	u_line_str(&l, " addr=");
	u_line_hex(&l, addr);
	u_line_str(&l, " got=");
	u_line_hex(&l, got);
	u_line_str(&l, " want=");
	u_line_hex(&l, want);
	u_line_send(&l);
	return false;
}

bool u_page_check(uint64_t page, uint64_t pattern, const char *what)
{
	const volatile uint64_t *p = (const uint64_t *)(uintptr_t)page;
	uint64_t i;

	for (i = 0; i < U_PAGE_WORDS; i++)
		if (p[i] != pattern + i)
			return u_mismatch(what, page + i * 8, p[i], pattern + i);
	return true;
}

bool u_page_zero(uint64_t page, const char *what)
{
	const volatile uint64_t *p = (const uint64_t *)(uintptr_t)page;
	uint64_t i;

	for (i = 0; i < U_PAGE_WORDS; i++)
		if (p[i])
			return u_mismatch(what, page + i * 8, p[i], 0);
	return true;
}

bool u_page_touch(const struct user_args *a, uint64_t index, uint64_t pattern, uint64_t *written)
{
	volatile uint64_t *bits = (uint64_t *)(uintptr_t)a->scratch;
	uint64_t page = a->heap + index * U_PAGE, bit = 1ULL << (index % 64);

	if (bits[index / 64] & bit)
		return u_page_check(page, pattern, "reread");
	if (!u_page_zero(page, "fresh-zero"))
		return false;
	u_page_fill(page, pattern);
	bits[index / 64] |= bit;
	(*written)++;
	return true;
}

void u_pass_line(const struct user_args *a, const char *name, uint64_t pass)
{
	struct u_line l;

	if (!a->progress || pass % a->progress)
		return;
	l.len = 0;
	u_line_str(&l, "PASS workload=");
	u_line_str(&l, name);
	u_line_str(&l, " pass=");
	u_line_dec(&l, pass);
	u_line_send(&l);
}

uint64_t u_forkid(void)
{
	return (uint64_t)u_syscall(SYS_FORKID, 0, 0, 0);
}

void u_fork_line(uint64_t id)
{
	struct u_line l;

	l.len = 0;
	u_line_str(&l, "FORK generation=");
	u_line_dec(&l, id >> 16 & 0xffff);
	u_line_str(&l, " index=");
	u_line_dec(&l, id & 0xffff);
	u_line_send(&l);
}

bool u_page_sweep(const struct user_args *a, uint64_t index, uint64_t pattern)
{
	const volatile uint64_t *bits = (const uint64_t *)(uintptr_t)a->scratch;
	uint64_t page = a->heap + index * U_PAGE;

	if (bits[index / 64] & 1ULL << (index % 64))
		return u_page_check(page, pattern, "sweep");
	return u_page_zero(page, "untouched-zero");
}
