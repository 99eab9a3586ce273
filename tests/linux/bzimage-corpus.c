/* tests/linux/bzimage-corpus.c: write the bad bzImage corpus (and one
 * valid image) into DIR, for tests/linux/bad-bzimage.sh and the fuzz
 * target's seeds: DIR/valid.bzImage, DIR/NAME.bzImage for each broken one
 * (tests/lib/bzimage_fixture.h), and DIR/NAME.words, what vmm's refusal
 * must say.
 * Usage: bzimage-corpus DIR
 */
#include <stdio.h>

#include "bzimage_fixture.h"

static int corpus_write(const char *dir, const char *name, const char *ext, const void *p, size_t n)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return 1;
	}
	ok = fwrite(p, 1, n, f) == n;
	if (fclose(f) || !ok) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bzimage_fixture f = bzimage_fixture_valid();
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: bzimage-corpus DIR\n");
		return 2;
	}
	ret = corpus_write(argv[1], "valid", "bzImage", f.bytes, f.size);
	for (size_t i = 0; !ret && i < bzimage_fixture_nr_cases; i++) {
		const struct bzimage_fixture_case *c = &bzimage_fixture_cases[i];

		f = bzimage_fixture_valid();
		c->breaks(&f);
		ret = corpus_write(argv[1], c->name, "bzImage", f.bytes, f.size);
		if (!ret) {
			char line[256];
			int n = snprintf(line, sizeof(line), "%s\n", c->words);

			ret = corpus_write(argv[1], c->name, "words", line, (size_t)n);
		}
	}
	return ret;
}
