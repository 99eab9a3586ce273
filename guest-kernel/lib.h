/* guest-kernel/lib.h: the C library subset the kernel and libfdt need.
 *
 * libfdt.a (Debian's, built with -fstack-protector) calls these by their
 * standard names and reads its canary at %fs:0x28; entry.S points FS_BASE
 * at a block whose word 0x28 holds a boot-time rdtsc value.
 */
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
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
unsigned long strtoul(const char *s, char **end, int base);
void __stack_chk_fail(void) __attribute__((noreturn));

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
