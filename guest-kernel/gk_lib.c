/* guest-kernel/gk_lib.c: the string functions the kernel uses.
 *
 * GUEST_CFLAGS has -fno-builtin, so these are real calls (and gcc may emit
 * memcpy and memset itself). Plain loops: the device tree, the command
 * line and console lines are a few hundred bytes.
 * Page-sized work goes through the VMM or gk_arch_zero_words/gk_arch_copy_words.
 */
#include "gk_lib.h"

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	for (; n; n--, p++)
		if (*p == (unsigned char)c)
			return (void *)p;
	return NULL;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

/* rep movsq then rep movsb for the tail, and the same with stos: what the
 * CPU's fast-string microcode is for, a loop here could be turned back
 * into a call to this very function, and where kernel mode is emulated
 * (PVM) each iteration costs about what an instruction does: 8 bytes an
 * iteration is 8 times faster than 1 (a 4 KiB rep stosb took 2 ms there,
 * rep stosq 0.28 ms). */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	size_t words = n / 8, bytes = n % 8;

	__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(words) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(bytes) : : "memory");
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
	size_t words = n / 8, bytes = n % 8;
	uint64_t v = (uint8_t)c * 0x0101010101010101ULL;

	__asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(bytes) : "a"(v) : "memory");
	return dst;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int gk_strcmp(const char *a, const char *b)
{
	for (; *a == *b; a++, b++)
		if (!*a)
			return 0;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}
