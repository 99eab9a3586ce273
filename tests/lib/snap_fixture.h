/* tests/lib/snap_fixture.h: valid snapshots of a small VM, made by the
 * snapshot writer with the machine's sections as snapshot.h lays them
 * out, for restore's tests to break one thing at a time. */
#ifndef TESTS_SNAP_FIXTURE_H
#define TESTS_SNAP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_FIXTURE_MEM (8ULL << 20)

/* The pages written: data at SNAP_FIXTURE_GPA_A and _B (each byte
 * snap_fixture_byte(gpa, k)), zeros at SNAP_FIXTURE_GPA_ZERO. */
#define SNAP_FIXTURE_GPA_A    0x1000ULL
#define SNAP_FIXTURE_GPA_ZERO 0x2000ULL
#define SNAP_FIXTURE_GPA_B    0x100000ULL

struct snap_fixture {
	uint64_t mem_bytes;    /* the file's guest size; 0: SNAP_FIXTURE_MEM */
	uint64_t vm_mem_bytes; /* what section "vm" says; 0: mem_bytes */
	uint32_t vm_version;   /* of section "vm"; 0: SNAPSHOT_VM_VERSION */
	const char *omit;      /* a section to leave out, or NULL */
	uint64_t tsc_hz;
	uint32_t machine;      /* of section "vm" (version 2 on): machine.h's id */
	uint32_t hash_version; /* a "memory-hash" section of this version (its bytes
				* framed as the current one); 0: none */
};

static inline uint8_t snap_fixture_byte(uint64_t gpa, unsigned k)
{
	return (uint8_t)(gpa >> 12) ^ (uint8_t)k ^ 0x5a;
}

/* Write the snapshot dir: 0, or -errno with err saying why. */
int snap_fixture_write(const char *dir, const struct snap_fixture *f, char *err, size_t errlen);

#endif
