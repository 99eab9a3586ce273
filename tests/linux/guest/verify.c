/* vmm-verify SIZE [PASSES [SEED]]: the guest kernel's verify workload as
 * a Linux program. SIZE bytes (K/M/G suffix, or N% of MemTotal) of
 * anonymous memory, PASSES (default 2) rounds of writing every 8-byte word
 * with a pattern of (address, pass, seed) and reading all of it back; the
 * first pass also checks that fresh memory reads zero. A page that keeps
 * old data, comes back from swap wrong, or was never written shows up:
 *   MISMATCH addr=A pass=P expected=E found=F   (then exit 1)
 * and each pass that checks says "PASS workload=verify pass=P", the end
 *   RESULT workload=verify pages=N passes=P ok=1
 * as the guest kernel's workloads print it. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmmguest.h"

static uint64_t verify_pattern(uint64_t addr, uint64_t pass, uint64_t seed)
{
	uint64_t x = addr ^ (pass + 1) * 0x9e3779b97f4a7c15ULL ^ seed;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ x >> 29;
}

static uint64_t verify_memtotal(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long kb = 0;

	if (f) {
		if (fscanf(f, "MemTotal: %llu kB", &kb) != 1)
			kb = 0;
		fclose(f);
	}
	return kb << 10;
}

static uint64_t verify_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	switch (*end) {
	case '%':
		return verify_memtotal() / 100 * v;
	case 'G':
		v <<= 10; /* fall through */
	case 'M':
		v <<= 10; /* fall through */
	case 'K':
		v <<= 10;
	}
	return v;
}

static int verify_mismatch(const uint64_t *p, uint64_t pass, uint64_t want)
{
	printf("MISMATCH addr=%p pass=%llu expected=%#llx found=%#llx\n", (void *)p,
	       (unsigned long long)pass, (unsigned long long)want, (unsigned long long)*p);
	printf("RESULT workload=verify ok=0\n");
	return 1;
}

int vmm_verify(int argc, char **argv)
{
	uint64_t size = argc > 1 ? verify_size(argv[1]) & ~4095ULL : 64 << 20;
	uint64_t passes = argc > 2 ? strtoull(argv[2], NULL, 10) : 2;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1;
	uint64_t *mem, words = size / 8;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!size || mem == MAP_FAILED) {
		printf("vmm-verify: cannot map %llu bytes\n", (unsigned long long)size);
		return 2;
	}
	printf("verify: %llu MiB, %llu passes\n", (unsigned long long)size >> 20,
	       (unsigned long long)passes);
	fflush(stdout);
	for (uint64_t pass = 0; pass < passes; pass++) {
		for (uint64_t i = 0; i < words; i++) {
			if (!pass && mem[i])
				return verify_mismatch(&mem[i], pass, 0);
			mem[i] = verify_pattern((uintptr_t)&mem[i], pass, seed);
		}
		for (uint64_t i = 0; i < words; i++)
			if (mem[i] != verify_pattern((uintptr_t)&mem[i], pass, seed))
				return verify_mismatch(
				    &mem[i], pass, verify_pattern((uintptr_t)&mem[i], pass, seed));
		printf("PASS workload=verify pass=%llu\n", (unsigned long long)pass + 1);
		fflush(stdout);
	}
	printf("RESULT workload=verify pages=%llu passes=%llu ok=1\n",
	       (unsigned long long)size / 4096, (unsigned long long)passes);
	return 0;
}
