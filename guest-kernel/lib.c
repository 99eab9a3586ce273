/* guest-kernel/lib.c: string functions for the kernel and libfdt.
 *
 * GUEST_CFLAGS has -fno-builtin. Scans and compares are one rep string
 * instruction each: under PVM the emulator decodes it once, whatever the
 * length, where a byte loop costs about five emulated instructions a byte.
 * Bulk memory work goes through the VMM or arch_zero_words/arch_copy_words.
 */
#include "lib.h"
#include "trap.h"

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	if (!n)
		return NULL;
	__asm__ volatile("repne scasb" : "+D"(p), "+c"(n) : "a"(c) : "cc", "memory");
	return p[-1] == (unsigned char)c ? (void *)(p - 1) : NULL;
}

/* Stops at the first difference, so strcmp and strncmp read no further into
 * a than its terminator. After the scan, the last pair compared differs,
 * or all n were equal (and so is the last pair). */
int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	if (!n)
		return 0;
	__asm__ volatile("repe cmpsb" : "+S"(x), "+D"(y), "+c"(n) : : "cc", "memory");
	return x[-1] - y[-1];
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlapping with dst above src: copy from the end. */
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

char *strrchr(const char *s, int c)
{
	const char *last = NULL;

	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (!*s)
			return (char *)last;
	}
}

size_t strlen(const char *s)
{
	const char *p = s;
	size_t n = (size_t)-1;

	__asm__ volatile("repne scasb" : "+D"(p), "+c"(n) : "a"(0) : "cc", "memory");
	return (size_t)(p - s) - 1;
}

size_t strnlen(const char *s, size_t max)
{
	const char *p = s;
	size_t n = max;

	if (!max)
		return 0;
	__asm__ volatile("repne scasb" : "+D"(p), "+c"(n) : "a"(0) : "cc", "memory");
	return p[-1] ? max : (size_t)(p - s) - 1;
}

/* b's length with its terminator, then one compare that stops at the
 * first difference (memcmp). */
int strcmp(const char *a, const char *b)
{
	return memcmp(a, b, strlen(b) + 1);
}

int strncmp(const char *a, const char *b, size_t n)
{
	size_t m = strnlen(b, n);

	return memcmp(a, b, m < n ? m + 1 : n);
}

static int lib_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

unsigned long strtoul(const char *s, char **end, int base)
{
	unsigned long v = 0;
	const char *start;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '+')
		s++;
	if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    lib_digit(s[2]) < 16) {
		s += 2;
		base = 16;
	} else if (base == 0) {
		base = s[0] == '0' ? 8 : 10;
	}
	start = s;
	for (; lib_digit(*s) < base; s++)
		v = v * base + lib_digit(*s);
	if (end)
		*end = (char *)(s == start ? start : s);
	return v;
}

void __stack_chk_fail(void)
{
	trap_panic("stack protector: canary overwritten");
}
