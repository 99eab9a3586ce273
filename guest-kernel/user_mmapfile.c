/* guest-kernel/user_mmapfile.c: files of the boot archive, mapped.
 *
 * The archive (vmm run --initrd, QEMU -initrd) holds a file "manifest",
 * one line per file: its FNV-1a 64 checksum in hex, its size in decimal
 * and its name (tests/lib/mkarchive.py writes both). Each pass maps every
 * listed file read-only, private and then shared, and checks its size,
 * its checksum and that the rest of its last page reads zero; the second
 * mapping comes from the page cache. Then, for the first file of a page
 * or more, a child writes into a private writable mapping it inherited
 * and into one of its own: its parent's mapping and a fresh one must
 * still hold the file. A shared writable mapping of a file is refused
 * (EACCES), and a read past the last page of a file kills (SIGBUS).
 */
#include "user.h"

#define U_FNV_OFFSET 0xcbf29ce484222325ULL
#define U_FNV_PRIME  0x100000001b3ULL
static uint64_t u_fnv(uint64_t addr, uint64_t size)
{
	const volatile uint8_t *p = (const uint8_t *)(uintptr_t)addr;
	uint64_t h = U_FNV_OFFSET, i;

	for (i = 0; i < size; i++)
		h = (h ^ p[i]) * U_FNV_PRIME;
	return h;
}

static bool u_mmapfile_fail(const char *what, const struct u_file *f, uint64_t got)
{
	struct u_line l;

	l.len = 0;
	u_line_str(&l, "MMAPFILE ");
	u_line_str(&l, what);
	u_line_str(&l, " file=");
	u_line_str(&l, f->name);
	u_line_str(&l, " got=");
	u_line_hex(&l, got);
	u_line_send(&l);
	return false;
}

static uint64_t u_pages(uint64_t size)
{
	return (size + U_PAGE - 1) / U_PAGE;
}

/* Map f (flags MAP_PRIVATE or MAP_SHARED) and check it; its address or 0. */
static uint64_t u_mmapfile_map(const struct u_file *f, uint64_t prot, uint64_t flags)
{
	uint64_t size = 0, base, i;
	int64_t fd = u_open(f->name, f->len, &size);

	if (fd < 0)
		return u_mmapfile_fail("open", f, (uint64_t)-fd), 0;
	if (size != f->size)
		return u_mmapfile_fail("size", f, size), 0;
	base = u_mmap(0, u_pages(size) * U_PAGE, prot, flags, fd, 0);
	if (u_failed(base))
		return u_mmapfile_fail("mmap", f, base), 0;
	if (u_fnv(base, size) != f->sum)
		return u_mmapfile_fail("checksum", f, u_fnv(base, size)), 0;
	for (i = size; i < u_pages(size) * U_PAGE; i++)
		if (*(volatile uint8_t *)(uintptr_t)(base + i))
			return u_mmapfile_fail("past-end-not-zero", f, i), 0;
	return base;
}

/* A private writable mapping written by a child is unchanged for its parent. */
static bool u_mmapfile_private(const struct u_file *f, uint64_t seed)
{
	uint64_t base = u_mmapfile_map(f, PROT_READ | PROT_WRITE, MAP_PRIVATE), other, len;
	int64_t pid;
	int status;
	bool ok;

	if (!base)
		return false;
	len = u_pages(f->size) * U_PAGE;
	pid = u_fork();
	if (pid == 0) {
		other = u_mmapfile_map(f, PROT_READ | PROT_WRITE, MAP_PRIVATE);
		if (!other)
			u_exit(1);
		u_page_fill(base, u_pattern(base, 0, seed));
		u_page_fill(other, u_pattern(other, 0, seed));
		u_exit(u_page_check(base, u_pattern(base, 0, seed), "mmapfile-child") &&
			       u_page_check(other, u_pattern(other, 0, seed), "mmapfile-child")
			   ? 0
			   : 1);
	}
	ok = pid > 0 && u_wait(pid, &status) == pid && status == 0;
	if (!ok)
		return u_mmapfile_fail("private-child", f, (uint64_t)status);
	if (u_fnv(base, f->size) != f->sum)
		return u_mmapfile_fail("private-changed", f, u_fnv(base, f->size));
	other = u_mmapfile_map(f, PROT_READ, MAP_SHARED); /* the page cache is the file still */
	u_munmap(base, len);
	if (!other)
		return false;
	u_munmap(other, len);
	return true;
}

/* The refusals: a shared writable mapping, and a read past the end. */
static bool u_mmapfile_refusals(const struct u_file *f)
{
	uint64_t size = 0, base, len;
	int64_t fd = u_open(f->name, f->len, &size), pid;
	int status;

	if (fd < 0)
		return false;
	len = u_pages(size) * U_PAGE;
	base = u_mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base != (uint64_t)-UAPI_EACCES)
		return u_mmapfile_fail("shared-writable-not-refused", f, base);
	base = u_mmap(0, len + U_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (u_failed(base))
		return u_mmapfile_fail("mmap", f, base);
	if (u_mprotect(base, len, PROT_READ | PROT_WRITE) != -UAPI_EACCES)
		return u_mmapfile_fail("mprotect-writable-not-refused", f, 0);
	pid = u_fork();
	if (pid == 0) {
		(void)*(volatile uint8_t *)(uintptr_t)(base + len);
		u_exit(0);
	}
	if (u_wait(pid, &status) != pid || status != USER_STATUS_SEGV)
		return u_mmapfile_fail("read-past-end-not-killed", f, (uint64_t)status);
	u_munmap(base, len + U_PAGE);
	return true;
}

struct u_outcome u_mmapfile(const struct user_args *a)
{
	static const char manifest[] = "manifest";
	struct u_file m = {"manifest", sizeof(manifest) - 1, 0, 0}, f, big = {"", 0, 0, 0};
	struct u_outcome o = {0, true};
	uint64_t base, pass, files = 0;
	const char *p, *end;

	if (u_open(manifest, m.len, &m.size) < 0 || !m.size)
		return (struct u_outcome){0, u_mmapfile_fail("no-manifest", &m, 0)};
	base = u_mmap(0, u_pages(m.size) * U_PAGE, PROT_READ, MAP_PRIVATE,
		      u_open(manifest, m.len, &m.size), 0);
	if (u_failed(base))
		return (struct u_outcome){0, u_mmapfile_fail("mmap", &m, base)};
	end = (const char *)(uintptr_t)(base + m.size);
	for (pass = 0; pass < a->passes && o.ok; pass++) {
		for (p = (const char *)(uintptr_t)base; p < end && o.ok;) {
			if (!u_manifest_next(&p, end, &f))
				return (struct u_outcome){
				    o.pages,
				    u_mmapfile_fail("manifest-line", &m,
						    (uint64_t)(p - (const char *)(uintptr_t)base))};
			o.ok = (f.size == 0 || u_mmapfile_map(&f, PROT_READ, MAP_PRIVATE)) &&
			       (f.size == 0 || u_mmapfile_map(&f, PROT_READ, MAP_SHARED));
			o.pages += u_pages(f.size);
			files++;
			if (!big.len && f.size >= U_PAGE)
				big = f;
		}
		u_pass_line(a, "mmapfile", pass + 1);
	}
	if (!big.len)
		return (struct u_outcome){o.pages, u_mmapfile_fail("no-file-of-a-page", &m, files)};
	o.ok = o.ok && u_mmapfile_private(&big, a->seed) && u_mmapfile_refusals(&big);
	return o;
}
