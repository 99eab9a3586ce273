/* guest-kernel/lib.c: the string functions the kernel uses.
 *
 * GUEST_CFLAGS has -fno-builtin. Scans and compares are one rep string
 * instruction each: under PVM the emulator decodes it once, whatever the
 * length, where a byte loop costs about five emulated instructions a byte.
 * Bulk memory work goes through the VMM or arch_zero_words/arch_copy_words.
 */
#include "lib.h"

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
