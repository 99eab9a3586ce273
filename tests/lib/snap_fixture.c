/* tests/lib/snap_fixture.c: see snap_fixture.h. */
#include "snap_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devstate.h"
#include "snapfile.h"
#include "snapshot.h"
#include "vcpu_state.h"
#include "vm.h"

static int snap_fixture_vm(struct snap_writer *w, const struct snap_fixture *f, uint64_t mem,
			   char *err, size_t errlen)
{
	uint32_t version = f->vm_version ? f->vm_version : SNAPSHOT_VM_VERSION;
	struct devstate_writer dw;
	uint8_t buf[64];
	size_t used;

	devstate_begin(&dw, buf, sizeof(buf), version);
	devstate_put_u64(&dw, f->vm_mem_bytes ? f->vm_mem_bytes : mem);
	devstate_put_u64(&dw, f->tsc_hz);
	if (version >= 2)
		devstate_put_u32(&dw, f->machine);
	devstate_end(&dw, &used);
	return snap_writer_device(w, SNAPSHOT_DEV_VM, version, buf, used, err, errlen);
}

/* A vCPU at rest: the parts every state has, all zero but RFLAGS, no MSRs. */
static int snap_fixture_vcpu(struct snap_writer *w, char *err, size_t errlen)
{
	static struct vcpu_state st;
	static uint8_t buf[sizeof(struct vcpu_state) + 1024];
	size_t used;

	memset(&st, 0, sizeof(st));
	st.parts = VCPU_STATE_REGS | VCPU_STATE_SREGS | VCPU_STATE_FPU | VCPU_STATE_MSRS;
	st.regs.rflags = 2;
	if (vcpu_state_to_bytes(&st, buf, sizeof(buf), &used))
		return snprintf(err, errlen, "vcpu_state_to_bytes: %zu bytes", used), -ENOSPC;
	return snap_writer_device(w, SNAPSHOT_DEV_VCPU, VCPU_STATE_VERSION, buf, used, err, errlen);
}

/* The devices of a VM as vm_create_begin makes them. */
static int snap_fixture_devices(struct snap_writer *w, char *err, size_t errlen)
{
	static struct vm vm;
	struct vm_config cfg = {.console_fd = STDERR_FILENO};
	uint8_t buf[4096];
	size_t used;
	int ret = vm_create_begin(&vm, &cfg);

	if (!ret && devstate_save_all(&vm.states, buf, sizeof(buf), &used))
		ret = -ENOSPC;
	vm_destroy(&vm);
	if (ret)
		return snprintf(err, errlen, "cannot save the devices"), -EINVAL;
	return snap_writer_device(w, SNAPSHOT_DEV_DEVICES, SNAPSHOT_DEVICES_VERSION, buf, used, err,
				  errlen);
}

static int snap_fixture_pages(struct snap_writer *w, char *err, size_t errlen)
{
	static const uint64_t gpas[] = {SNAP_FIXTURE_GPA_A, SNAP_FIXTURE_GPA_ZERO,
					SNAP_FIXTURE_GPA_B};
	uint8_t page[SNAP_PAGE];
	int ret = 0;

	for (unsigned i = 0; !ret && i < sizeof(gpas) / sizeof(gpas[0]); i++) {
		for (unsigned k = 0; k < SNAP_PAGE; k++)
			page[k] =
			    gpas[i] == SNAP_FIXTURE_GPA_ZERO ? 0 : snap_fixture_byte(gpas[i], k);
		ret = snap_writer_page(w, gpas[i], page, err, errlen);
	}
	return ret;
}

/* A "memory-hash" section of the given version, its bytes framed as the
 * current version's (its hash is no one's: a version test). */
static int snap_fixture_hash(struct snap_writer *w, uint32_t version, uint64_t mem, char *err,
			     size_t errlen)
{
	struct devstate_writer dw;
	uint8_t buf[64];
	size_t used;

	devstate_begin(&dw, buf, sizeof(buf), SNAPSHOT_MEMORY_HASH_VERSION);
	devstate_put_u64(&dw, 0);
	devstate_put_u64(&dw, mem);
	devstate_end(&dw, &used);
	return snap_writer_device(w, SNAPSHOT_DEV_MEMORY_HASH, version, buf, used, err, errlen);
}

static bool snap_fixture_has(const struct snap_fixture *f, const char *name)
{
	return !f->omit || strcmp(f->omit, name);
}

int snap_fixture_write(const char *dir, const struct snap_fixture *f, char *err, size_t errlen)
{
	uint64_t mem = f->mem_bytes ? f->mem_bytes : SNAP_FIXTURE_MEM;
	struct snap_writer *w;
	int ret = snap_writer_open(&w, dir, mem, err, errlen);

	if (ret)
		return ret;
	if (snap_fixture_has(f, SNAPSHOT_DEV_VM))
		ret = snap_fixture_vm(w, f, mem, err, errlen);
	if (!ret && snap_fixture_has(f, SNAPSHOT_DEV_VCPU))
		ret = snap_fixture_vcpu(w, err, errlen);
	if (!ret && snap_fixture_has(f, SNAPSHOT_DEV_DEVICES))
		ret = snap_fixture_devices(w, err, errlen);
	if (!ret && f->hash_version)
		ret = snap_fixture_hash(w, f->hash_version, mem, err, errlen);
	if (!ret)
		ret = snap_fixture_pages(w, err, errlen);
	if (ret) {
		snap_writer_abort(w);
		return ret;
	}
	return snap_writer_commit(w, err, errlen);
}
