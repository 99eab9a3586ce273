/* tests/lib/bzimage_fixture.h: a small valid bzImage built in memory.
 *
 * Tests start from bzimage_fixture_valid() and break one thing. The image
 * is what the 64-bit boot protocol needs of one and nothing more: a setup
 * part of (setup_sects + 1) * 512 bytes holding the setup header at 0x1f1
 * (protocol 2.15, XLF_KERNEL_64, LOADED_HIGH, relocatable, 2 MiB aligned,
 * preferring 16 MiB, init_size 1 MiB), then a protected-mode kernel of
 * BZ_FIXTURE_KERNEL bytes whose byte i is (uint8_t)(i * 7 + 1).
 */
#ifndef TESTS_BZIMAGE_FIXTURE_H
#define TESTS_BZIMAGE_FIXTURE_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

#define BZ_FIXTURE_SETUP_SECTS 4
#define BZ_FIXTURE_SETUP       ((BZ_FIXTURE_SETUP_SECTS + 1) * 512)
#define BZ_FIXTURE_KERNEL      8192
#define BZ_FIXTURE_LOAD	       0x1000000ULL
#define BZ_FIXTURE_INIT_SIZE   0x100000u

struct bzimage_fixture {
	uint8_t bytes[BZ_FIXTURE_SETUP + BZ_FIXTURE_KERNEL];
	size_t size;
};

struct bzimage_fixture bzimage_fixture_valid(void);
/* The setup header inside the image (at 0x1f1, unaligned). */
struct setup_header *bzimage_fixture_hdr(struct bzimage_fixture *f);

/* The broken images of the corpus (tests/linux/bzimage-corpus.c), one way
 * each, with words the refusal must have. */
struct bzimage_fixture_case {
	const char *name;
	const char *words;
	void (*breaks)(struct bzimage_fixture *f);
};
extern const struct bzimage_fixture_case bzimage_fixture_cases[];
extern const size_t bzimage_fixture_nr_cases;

#endif
