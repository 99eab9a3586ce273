/* tests/lib/elf_fixture.h: a small valid PVH ELF image built in memory.
 *
 * Tests start from elf_fixture_valid() and break one thing. The image has
 * one PT_LOAD (code at 1 MiB + one page of bss), one PT_NOTE holding the
 * PVH entry note, and, at the end as a linker puts it, a section header
 * table: the null section and the section name table.
 */
#ifndef TESTS_ELF_FIXTURE_H
#define TESTS_ELF_FIXTURE_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#define FIXTURE_LOAD_GPA  0x100000ULL
#define FIXTURE_CODE_SIZE 64

struct elf_fixture_note {
	Elf64_Nhdr nh;
	char name[4]; /* "Xen" */
	uint32_t entry;
};

struct elf_fixture {
	union {
		uint8_t bytes[4096];
		struct {
			Elf64_Ehdr ehdr;
			Elf64_Phdr phdr[2];
			struct elf_fixture_note note;
			uint8_t code[FIXTURE_CODE_SIZE];
			char shstrtab[16];
			Elf64_Shdr shdr[2];
		} img;
	};
	size_t size;
};

struct elf_fixture elf_fixture_valid(void);

#endif
