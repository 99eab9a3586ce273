/* guest-kernel/lib.h: the C library subset the kernel uses. */
#ifndef GK_LIB_H
#define GK_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memchr(const void *s, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);

/* Whether the n bytes at a and b are equal, inline: one repe cmpsb (decoded
 * once under PVM), which stops at the first difference. So STR_IS(s, lit),
 * comparing lit with its terminator, reads a terminated s no further than
 * its own terminator. */
static inline bool mem_eq(const void *a, const void *b, size_t n)
{
	bool eq;

	if (!n)
		return true;
	__asm__("repe cmpsb" : "+S"(a), "+D"(b), "+c"(n), "=@ccz"(eq) : : "memory");
	return eq;
}
/* 0, and a compile error unless a is an array (sizeof would be wrong). */
#define LIB_MUST_BE_ARRAY(a)                                                                       \
	(0 * sizeof(struct {                                                                       \
		 int must_be_array                                                                 \
		     : !__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0]));          \
	 }))
#define STR_IS(s, lit) mem_eq((s), (lit), sizeof(lit) + LIB_MUST_BE_ARRAY(lit))

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define ALIGN_UP(x, a)	 ALIGN_DOWN((x) + (a)-1, (a))
#define PAGE_SIZE	 4096ULL

#endif
