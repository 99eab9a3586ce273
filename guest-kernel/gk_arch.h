/* guest-kernel/gk_arch.h: the few x86-64 instructions C cannot express. */
#ifndef GK_ARCH_H
#define GK_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#define MSR_EFER  0xc0000080u
#define RFLAGS_IF (1ULL << 9)

static inline void gk_arch_outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void gk_arch_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t gk_arch_inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t gk_arch_inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t gk_arch_read_cr2(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline void gk_arch_write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline uint64_t gk_arch_read_cr4(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void gk_arch_write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void gk_arch_invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* INVPCID type 0 (one address in one PCID) or 1 (all of one PCID). */
static inline void gk_arch_invpcid(uint64_t type, uint64_t pcid, uint64_t va)
{
	struct {
		uint64_t pcid, va;
	} d = {pcid, va};

	__asm__ volatile("invpcid %0, %1" : : "m"(d), "r"(type) : "memory");
}

static inline uint64_t gk_arch_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* gk_entry.S: rdmsr / wrmsr that return -1 instead of faulting, for
 * probing what the VM offers (a #GP there is caught by gk_trap.c). */
int gk_arch_rdmsr_safe(uint32_t msr, uint64_t *v);
int gk_arch_wrmsr_safe(uint32_t msr, uint64_t v);

static inline void gk_arch_cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline void gk_arch_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* Zero or copy whole 8-byte words: pages, with the CPU's fast strings. */
static inline void gk_arch_zero_words(void *dst, uint64_t words)
{
	__asm__ volatile("rep stosq" : "+D"(dst), "+c"(words) : "a"(0UL) : "memory");
}

static inline void gk_arch_copy_words(void *dst, const void *src, uint64_t words)
{
	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
}

static inline __attribute__((noreturn)) void gk_arch_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
