/* tests/lib/elf_fixture.c: see elf_fixture.h. */
#include "elf_fixture.h"

#include <stddef.h>
#include <string.h>

#include "pvh.h"

static void elf_fixture_sections(struct elf_fixture *f)
{
	static const char names[] = "\0.shstrtab";

	memcpy(f->img.shstrtab, names, sizeof(names));
	f->img.shdr[1] = (Elf64_Shdr){.sh_name = 1,
				      .sh_type = SHT_STRTAB,
				      .sh_offset = offsetof(struct elf_fixture, img.shstrtab),
				      .sh_size = sizeof(names),
				      .sh_addralign = 1};
	f->img.ehdr.e_shoff = offsetof(struct elf_fixture, img.shdr);
	f->img.ehdr.e_shentsize = sizeof(Elf64_Shdr);
	f->img.ehdr.e_shnum = 2;
	f->img.ehdr.e_shstrndx = 1;
	f->size = offsetof(struct elf_fixture, img.shdr) + sizeof(f->img.shdr);
}

struct elf_fixture elf_fixture_valid(void)
{
	struct elf_fixture f;
	size_t code_off = offsetof(struct elf_fixture, img.code);
	size_t note_off = offsetof(struct elf_fixture, img.note);

	memset(&f, 0, sizeof(f));
	memcpy(f.img.ehdr.e_ident, ELFMAG, SELFMAG);
	f.img.ehdr.e_ident[EI_CLASS] = ELFCLASS64;
	f.img.ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
	f.img.ehdr.e_ident[EI_VERSION] = EV_CURRENT;
	f.img.ehdr.e_type = ET_EXEC;
	f.img.ehdr.e_machine = EM_X86_64;
	f.img.ehdr.e_version = EV_CURRENT;
	f.img.ehdr.e_entry = FIXTURE_LOAD_GPA;
	f.img.ehdr.e_phoff = offsetof(struct elf_fixture, img.phdr);
	f.img.ehdr.e_ehsize = sizeof(Elf64_Ehdr);
	f.img.ehdr.e_phentsize = sizeof(Elf64_Phdr);
	f.img.ehdr.e_phnum = 2;

	f.img.phdr[0] = (Elf64_Phdr){.p_type = PT_LOAD,
				     .p_flags = PF_R | PF_X,
				     .p_offset = code_off,
				     .p_vaddr = FIXTURE_LOAD_GPA,
				     .p_paddr = FIXTURE_LOAD_GPA,
				     .p_filesz = FIXTURE_CODE_SIZE,
				     .p_memsz = FIXTURE_CODE_SIZE + 4096,
				     .p_align = 16};
	f.img.phdr[1] = (Elf64_Phdr){
	    .p_type = PT_NOTE, .p_offset = note_off, .p_filesz = sizeof(f.img.note), .p_align = 4};
	f.img.note.nh =
	    (Elf64_Nhdr){.n_namesz = 4, .n_descsz = 4, .n_type = XEN_ELFNOTE_PHYS32_ENTRY};
	memcpy(f.img.note.name, "Xen", 4);
	f.img.note.entry = FIXTURE_LOAD_GPA;
	memset(f.img.code, 0xf4, FIXTURE_CODE_SIZE); /* hlt */
	elf_fixture_sections(&f);
	return f;
}
