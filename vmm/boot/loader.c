/* vmm/boot/loader.c: ELF64 / PVH loader, see loader.h. */
#include "loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "pvh.h"
#include "vmm_abi.h"

/* True if [off, off + len) lies inside a buffer of size bytes. */
static int in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

/* The section name table, section strndx of the count at shoff. */
static int loader_check_shstrtab(const char *name, const uint8_t *buf, size_t size, uint64_t shoff,
				 uint64_t count, uint64_t strndx)
{
	Elf64_Shdr sh;

	if (strndx == SHN_UNDEF)
		return 0;
	if (strndx >= count)
		return err_input(name, "section name table index %lu: expected below %lu sections",
				 (unsigned long)strndx, (unsigned long)count);
	memcpy(&sh, buf + shoff + strndx * sizeof(sh), sizeof(sh));
	if (sh.sh_type != SHT_NOBITS && !in_file(sh.sh_offset, sh.sh_size, size))
		return err_input(
		    name,
		    "section name table (section %lu) at offset %#lx (%#lx bytes) runs "
		    "past end of file (%zu bytes)",
		    (unsigned long)strndx, (unsigned long)sh.sh_offset, (unsigned long)sh.sh_size,
		    size);
	return 0;
}

/* The section header table and its name table, when the header points to
 * one: the loader reads neither, but a table that runs past the end means
 * a truncated or corrupt file, which must not boot because its segments
 * happen to lie in the part that survived. Extended numbering (ELF gABI):
 * e_shnum 0 takes the count from section 0's sh_size, e_shstrndx
 * SHN_XINDEX the index from its sh_link. */
static int loader_check_shdrs(const char *name, const uint8_t *buf, size_t size)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	uint64_t count = eh->e_shnum, strndx = eh->e_shstrndx;
	Elf64_Shdr sh0;

	if (!eh->e_shoff)
		return eh->e_shnum || eh->e_shstrndx != SHN_UNDEF
			   ? err_input(name,
				       "no section header table (e_shoff 0) but e_shnum %u, "
				       "e_shstrndx %u: expected 0 and 0",
				       eh->e_shnum, eh->e_shstrndx)
			   : 0;
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return err_input(name, "section header size %u: expected %zu", eh->e_shentsize,
				 sizeof(Elf64_Shdr));
	if (!in_file(eh->e_shoff, sizeof(sh0), size))
		return err_input(name,
				 "section header table at offset %#lx runs past end of file (%zu "
				 "bytes)",
				 (unsigned long)eh->e_shoff, size);
	memcpy(&sh0, buf + eh->e_shoff, sizeof(sh0));
	if (!count)
		count = sh0.sh_size;
	if (strndx == SHN_XINDEX)
		strndx = sh0.sh_link;
	if (count > size / sizeof(sh0) || !in_file(eh->e_shoff, count * sizeof(sh0), size))
		return err_input(name,
				 "section header table at offset %#lx (%lu entries) runs past end "
				 "of file (%zu bytes)",
				 (unsigned long)eh->e_shoff, (unsigned long)count, size);
	return loader_check_shstrtab(name, buf, size, eh->e_shoff, count, strndx);
}

static int loader_check_ehdr(const char *name, const uint8_t *buf, size_t size)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;

	if (size < SELFMAG || memcmp(buf, ELFMAG, SELFMAG))
		return err_input(name, "not an ELF file (no \\177ELF magic at offset 0)");
	if (size < EI_NIDENT || buf[EI_CLASS] != ELFCLASS64)
		return err_input(name, "ELF class %u at offset %u: expected ELF64 (2), not ELF32",
				 size < EI_NIDENT ? 0 : buf[EI_CLASS], EI_CLASS);
	if (size < sizeof(*eh))
		return err_input(name,
				 "truncated ELF header: file is %zu bytes, expected at least %zu",
				 size, sizeof(*eh));
	if (buf[EI_DATA] != ELFDATA2LSB)
		return err_input(name, "ELF data encoding %u: expected little-endian",
				 buf[EI_DATA]);
	if (eh->e_machine != EM_X86_64)
		return err_input(name, "ELF machine %u: expected x86-64 (%u)", eh->e_machine,
				 EM_X86_64);
	if (eh->e_type != ET_EXEC)
		return err_input(name, "ELF type %u: expected an executable (ET_EXEC)", eh->e_type);
	if (eh->e_phnum == 0 || eh->e_phnum > LOADER_MAX_PHDRS)
		return err_input(name, "%u program headers: expected 1 to %u", eh->e_phnum,
				 LOADER_MAX_PHDRS);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return err_input(name, "program header size %u: expected %zu", eh->e_phentsize,
				 sizeof(Elf64_Phdr));
	if (eh->e_phoff % 8)
		return err_input(name, "program headers at offset %#lx: expected 8-byte alignment",
				 (unsigned long)eh->e_phoff);
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size))
		return err_input(
		    name,
		    "program headers at offset %#lx (%u entries) run past end of file (%zu bytes)",
		    (unsigned long)eh->e_phoff, eh->e_phnum, size);
	return loader_check_shdrs(name, buf, size);
}

static int loader_check_load(const char *name, unsigned i, const Elf64_Phdr *ph, size_t size,
			     const struct guest_ram *m)
{
	if (ph->p_filesz > ph->p_memsz)
		return err_input(name, "segment %u: p_filesz %#lx exceeds p_memsz %#lx", i,
				 (unsigned long)ph->p_filesz, (unsigned long)ph->p_memsz);
	if (!in_file(ph->p_offset, ph->p_filesz, size))
		return err_input(
		    name, "segment %u: file range [%#lx, %#lx) runs past end of file (%zu bytes)",
		    i, (unsigned long)ph->p_offset, (unsigned long)(ph->p_offset + ph->p_filesz),
		    size);
	if (ph->p_paddr < VMM_RESERVED_END)
		return err_input(name, "segment %u: GPA %#lx overlaps the VMM's area [0, %#llx)", i,
				 (unsigned long)ph->p_paddr, VMM_RESERVED_END);
	if (!guest_ram_contains(m, ph->p_paddr, ph->p_memsz))
		return err_input(
		    name, "segment %u: GPA range [%#lx, +%#lx) lies outside guest RAM (%lu MiB)", i,
		    (unsigned long)ph->p_paddr, (unsigned long)ph->p_memsz,
		    (unsigned long)(m->size >> 20));
	return 0;
}

/* Walk the notes of one PT_NOTE segment for the PVH entry; 1 if found. */
static int loader_find_pvh(const char *name, const uint8_t *buf, const Elf64_Phdr *ph,
			   uint64_t *entry)
{
	uint64_t off = ph->p_offset, end = ph->p_offset + ph->p_filesz;

	while (end - off >= sizeof(Elf64_Nhdr)) {
		const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(buf + off);
		uint64_t name_off = off + sizeof(*nh);
		uint64_t desc_off = name_off + ((nh->n_namesz + 3ULL) & ~3ULL);
		uint64_t next = desc_off + ((nh->n_descsz + 3ULL) & ~3ULL);

		if (next > end)
			return err_input(
			    name,
			    "note at offset %#lx runs past its PT_NOTE segment (ends at %#lx)",
			    (unsigned long)off, (unsigned long)end);
		if (nh->n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
		    nh->n_namesz == sizeof(PVH_NOTE_NAME) &&
		    !memcmp(buf + name_off, PVH_NOTE_NAME, sizeof(PVH_NOTE_NAME))) {
			uint32_t e32;

			if (nh->n_descsz == 4) {
				memcpy(&e32, buf + desc_off, 4);
				*entry = e32;
			} else if (nh->n_descsz == 8) {
				memcpy(entry, buf + desc_off, 8);
			} else
				return err_input(
				    name,
				    "PVH entry note at offset %#lx has %u bytes: expected 4 or 8",
				    (unsigned long)off, nh->n_descsz);
			return 1;
		}
		off = next;
	}
	return 0;
}

static int loader_check(const char *name, const uint8_t *buf, size_t size,
			const struct guest_ram *m, struct load_info *out)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	const Elf64_Phdr *ph;
	int ret, found = 0, nr_load = 0;

	ret = loader_check_ehdr(name, buf, size);
	if (ret)
		return ret;
	ph = (const Elf64_Phdr *)(buf + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && (ph[i].p_memsz || ph[i].p_filesz)) {
			ret = loader_check_load(name, i, &ph[i], size, m);
			if (ret)
				return ret;
			nr_load++;
		} else if (ph[i].p_type == PT_NOTE && !found) {
			if (!in_file(ph[i].p_offset, ph[i].p_filesz, size) || ph[i].p_offset % 4)
				return err_input(
				    name,
				    "segment %u (PT_NOTE): file range at offset %#lx is unaligned "
				    "or runs past end of file (%zu bytes)",
				    i, (unsigned long)ph[i].p_offset, size);
			found = loader_find_pvh(name, buf, &ph[i], &out->entry);
			if (found < 0)
				return found;
		}
	}
	if (!nr_load)
		return err_input(name, "no PT_LOAD segment: nothing to load");
	if (!found)
		return err_input(name,
				 "no PVH entry note (Xen note type %u, XEN_ELFNOTE_PHYS32_ENTRY): "
				 "not a PVH kernel",
				 XEN_ELFNOTE_PHYS32_ENTRY);
	if (out->entry > UINT32_MAX)
		return err_input(name, "PVH entry %#lx: expected a 32-bit address",
				 (unsigned long)out->entry);
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_memsz && out->entry >= ph[i].p_paddr &&
		    out->entry - ph[i].p_paddr < ph[i].p_filesz)
			return 0;
	return err_input(name, "PVH entry %#lx lies outside every loaded segment",
			 (unsigned long)out->entry);
}

int loader_load_image(const char *name, const uint8_t *buf, size_t size, struct guest_ram *m,
		      struct load_info *out)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	const Elf64_Phdr *ph;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = loader_check(name, buf, size, m, out);
	if (ret)
		return ret;
	/* Checked in full first, so that a bad image leaves RAM untouched.
	 * RAM starts zeroed, so only p_filesz bytes are written: the rest of
	 * p_memsz (bss) costs no frame until the guest touches it. */
	ph = (const Elf64_Phdr *)(buf + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		ret = guest_ram_write(m, ph[i].p_paddr, buf + ph[i].p_offset, ph[i].p_filesz);
		if (ret)
			return err_errno(-ret, name, "segment %u: cannot write it to GPA %#lx: %s",
					 i, (unsigned long)ph[i].p_paddr, strerror(-ret));
		out->pages += (ph[i].p_paddr % EPT_PAGE_SIZE + ph[i].p_filesz + EPT_PAGE_SIZE - 1) /
			      EPT_PAGE_SIZE;
		if (ph[i].p_paddr + ph[i].p_memsz > out->load_end)
			out->load_end = ph[i].p_paddr + ph[i].p_memsz;
	}
	return 0;
}

uint64_t loader_image_pages(const uint8_t *buf)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(buf + eh->e_phoff);
	uint64_t pages = 0, last = UINT64_MAX;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		uint64_t first, end;

		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz || !ph[i].p_filesz)
			continue;
		first = ph[i].p_paddr / EPT_PAGE_SIZE;
		end = (ph[i].p_paddr + ph[i].p_filesz + EPT_PAGE_SIZE - 1) / EPT_PAGE_SIZE;
		/* Segments in file order (the ELF rule) share at most a page at a seam. */
		pages += end - first - (first == last);
		last = end - 1;
	}
	return pages;
}

uint64_t loader_image_end(const uint8_t *buf)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(buf + eh->e_phoff);
	uint64_t end = 0;

	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_memsz && ph[i].p_paddr + ph[i].p_memsz > end)
			end = ph[i].p_paddr + ph[i].p_memsz;
	return end;
}

int loader_check_image(const char *name, const uint8_t *buf, size_t size, const struct guest_ram *m)
{
	struct load_info li = {0};

	return loader_check(name, buf, size, m, &li);
}

int loader_read_file(const char *path, struct loader_file *f)
{
	struct stat st;
	ssize_t n = 0;
	int fd, ret = 0;

	*f = (struct loader_file){.path = path};
	/* Looked at first, and opened without blocking (nothing to a regular
	 * file's reads): a FIFO would hold open() until a writer came. */
	if (stat(path, &st) < 0)
		return err_sys(path, "open");
	if (!S_ISREG(st.st_mode))
		return err_input(path, "expected a regular file of at most %u MiB",
				 LOADER_MAX_IMAGE >> 20);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_sys(path, "open");
	if (fstat(fd, &st) < 0) {
		ret = err_sys(path, "fstat");
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > LOADER_MAX_IMAGE) {
		ret = err_input(path, "expected a regular file of at most %u MiB",
				LOADER_MAX_IMAGE >> 20);
		goto out_close;
	}
	f->buf = malloc(st.st_size ? st.st_size : 1);
	if (!f->buf) {
		ret = err_errno(ENOMEM, path, "cannot allocate %ld bytes", (long)st.st_size);
		goto out_close;
	}
	/* In pieces: a network filesystem (9p) returns a read at a time. */
	while (f->size < (size_t)st.st_size) {
		n = pread(fd, f->buf + f->size, st.st_size - f->size, f->size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		f->size += n;
	}
	if (n < 0) {
		ret = err_sys(path, "read");
		loader_file_free(f);
		goto out_close;
	}
out_close:
	close(fd);
	return ret;
}

void loader_file_free(struct loader_file *f)
{
	free(f->buf);
	f->buf = NULL;
	f->size = 0;
}

int loader_load_file(const char *path, struct guest_ram *m, struct load_info *out)
{
	struct loader_file f;
	int ret = loader_read_file(path, &f);

	if (ret)
		return ret;
	ret = loader_load_image(path, f.buf, f.size, m, out);
	loader_file_free(&f);
	return ret;
}
