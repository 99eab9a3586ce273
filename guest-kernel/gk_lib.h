/* guest-kernel/gk_lib.h: the C library subset the kernel uses. */
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
int gk_strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Linux's errno values, returned negated; the host's <errno.h> agrees. */
#ifndef EINVAL
#define ENOENT	  2
#define ESRCH	  3
#define ECHILD	  10
#define EAGAIN	  11
#define ENOMEM	  12
#define EACCES	  13
#define EFAULT	  14
#define EEXIST	  17
#define ENODEV	  19
#define EINVAL	  22
#define ERANGE	  34
#define ENOSYS	  38
#define EOVERFLOW 75
#endif

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define ALIGN_UP(x, a)	 ALIGN_DOWN((x) + (a)-1, (a))
#define PAGE_SIZE	 4096ULL
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))

/* A circular doubly-linked list through a member of each element. */
struct gk_list {
	struct gk_list *prev, *next;
};

#define GK_LIST_ENTRY(l, type, member) ((type *)((char *)(l) - __builtin_offsetof(type, member)))

static inline void gk_list_init(struct gk_list *h)
{
	h->prev = h->next = h;
}

static inline bool gk_list_empty(const struct gk_list *h)
{
	return h->next == h;
}

static inline void gk_list_add_tail(struct gk_list *h, struct gk_list *e)
{
	e->prev = h->prev;
	e->next = h;
	h->prev->next = e;
	h->prev = e;
}

static inline void gk_list_del(struct gk_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

#endif
