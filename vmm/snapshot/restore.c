/* vmm/snapshot/restore.c: a VM from a snapshot, see restore.h. */
#include "restore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "devstate.h"
#include "err.h"
#include "snapshot.h"
#include "vcpu_state.h"
#include "vm.h"

/* Section name of r, of the given version (0: any); *off: where its bytes are. */
static int restore_section(const struct snap_reader *r, const char *name, uint32_t version,
			   const void **buf, size_t *len, uint64_t *off, char *err, size_t errlen)
{
	uint32_t found;

	if (snap_reader_device(r, name, &found, buf, len) ||
	    snap_reader_device_offset(r, name, off))
		return err_into(err, errlen, -EINVAL,
				"%s: no section \"%s\": not a snapshot of a vmm VM",
				snap_reader_path(r), name);
	if (version && found != version)
		return err_into(
		    err, errlen, -EINVAL,
		    "%s: offset %llu (section \"%s\"'s header): version %u, expected %u",
		    snap_reader_path(r), (unsigned long long)(*off - 16), name, found, version);
	return 0;
}

/* "vm": devstate framing, u64 mem_bytes, u64 tsc_hz; version 2 then u32
 * machine. */
static int restore_read_vm(const struct snap_reader *r, struct machine_state *m, char *err,
			   size_t errlen)
{
	struct devstate_reader dr;
	uint32_t version, machine = MACHINE_VMM;
	char why[256], at[300];
	const void *buf;
	uint64_t off;
	size_t len;
	int ret = restore_section(r, SNAPSHOT_DEV_VM, 0, &buf, &len, &off, err, errlen);

	if (ret)
		return ret;
	snap_reader_device(r, SNAPSHOT_DEV_VM, &version, &buf, &len);
	if (version != 1 && version != SNAPSHOT_VM_VERSION)
		return err_into(
		    err, errlen, -EINVAL,
		    "%s: offset %llu (section \"vm\"'s header): version %u, expected 1 or %u",
		    snap_reader_path(r), (unsigned long long)(off - 16), version,
		    SNAPSHOT_VM_VERSION);
	devstate_open(&dr, SNAPSHOT_DEV_VM, version, buf, len, why, sizeof(why));
	m->mem_bytes = devstate_get_u64(&dr, "mem_bytes");
	m->tsc_hz = devstate_get_u64(&dr, "tsc_hz");
	if (version >= 2)
		machine = devstate_get_u32(&dr, "machine");
	if (!dr.ret && !machine_from_saved(machine))
		devstate_fail(&dr, "machine %u: expected 0 (vmm) or 1 (linux)", machine);
	if (devstate_close(&dr))
		return err_into(err, errlen, -EINVAL, "%s: %s",
				machine_state_where(at, sizeof(at), snap_reader_path(r), off,
						    SNAPSHOT_DEV_VM, dr.pos),
				why);
	m->machine = (enum machine_id)machine;
	if (m->mem_bytes != snap_reader_mem_bytes(r))
		return err_into(err, errlen, -EINVAL,
				"%s: section \"vm\": mem_bytes %llu, but the file holds %llu "
				"bytes of guest memory",
				snap_reader_path(r), (unsigned long long)m->mem_bytes,
				(unsigned long long)snap_reader_mem_bytes(r));
	return 0;
}

static int restore_read_vcpu(const struct snap_reader *r, struct machine_state *m, char *err,
			     size_t errlen)
{
	char why[256];
	const void *buf;
	size_t len;
	int ret = restore_section(r, SNAPSHOT_DEV_VCPU, VCPU_STATE_VERSION, &buf, &len,
				  &m->vcpu_off, err, errlen);

	if (ret)
		return ret;
	m->vcpu = malloc(sizeof(*m->vcpu));
	if (!m->vcpu)
		return err_into(err, errlen, -ENOMEM, "%s: out of memory", snap_reader_path(r));
	if (vcpu_state_from_bytes(m->vcpu, buf, len, why, sizeof(why)))
		return err_into(err, errlen, -EINVAL, "%s: offset %llu (section \"%s\"): %s",
				snap_reader_path(r), (unsigned long long)m->vcpu_off,
				SNAPSHOT_DEV_VCPU, why);
	return 0;
}

int snapshot_read_machine(const struct snap_reader *r, struct machine_state *m, char *err,
			  size_t errlen)
{
	int ret;

	*m = (struct machine_state){.path = snap_reader_path(r)};
	ret = restore_read_vm(r, m, err, errlen);
	if (!ret)
		ret = restore_read_vcpu(r, m, err, errlen);
	if (!ret)
		ret = restore_section(r, SNAPSHOT_DEV_DEVICES, SNAPSHOT_DEVICES_VERSION,
				      &m->devices, &m->devices_len, &m->devices_off, err, errlen);
	return ret;
}

uint64_t snapshot_data_pages(const struct snap_reader *r)
{
	uint64_t n = 0, gpa;
	enum snap_kind kind;

	for (uint64_t i = 0; i < snap_reader_nr_pages(r); i++)
		if (!snap_reader_page_at(r, i, &gpa, &kind) && kind == SNAP_KIND_DATA)
			n++;
	return n;
}

int snapshot_load_eager(struct guest_ram *mem, const struct snap_reader *r, char *err,
			size_t errlen)
{
	uint8_t *page = malloc(SNAP_PAGE);
	enum snap_kind kind;
	uint64_t gpa;
	int ret = 0;

	if (!page)
		return err_into(err, errlen, -ENOMEM, "out of memory");
	for (uint64_t i = 0; !ret && i < snap_reader_nr_pages(r); i++) {
		ret = snap_reader_page_at(r, i, &gpa, &kind);
		if (ret || kind != SNAP_KIND_DATA)
			continue;
		ret = snap_reader_read_page(r, i, page, err, errlen);
		if (!ret && (ret = guest_ram_write(mem, gpa, page, SNAP_PAGE)))
			err_into(err, errlen, ret, "%s: page at GPA %#llx: cannot write it: %s",
				 snap_reader_path(r), (unsigned long long)gpa, strerror(-ret));
	}
	free(page);
	return ret;
}

int snapshot_set_lazy(struct guest_ram *mem, const struct snap_reader *r, char *err, size_t errlen)
{
	enum snap_kind kind;
	uint64_t gpa;
	int ret = 0;

	if (!mem->vmem)
		return err_into(err, errlen, -EINVAL,
				"a lazy restore needs the vmm memory manager");
	for (uint64_t i = 0; !ret && i < snap_reader_nr_pages(r); i++) {
		ret = snap_reader_page_at(r, i, &gpa, &kind);
		if (!ret && kind == SNAP_KIND_DATA)
			ret = vmem_set_source_page(mem->vmem, gpa, i);
		if (ret)
			err_into(err, errlen, ret,
				 "%s: page at GPA %#llx: cannot leave it to the snapshot: %s",
				 snap_reader_path(r), (unsigned long long)gpa, strerror(-ret));
	}
	return ret;
}

static int snapshot_source_load(void *arg, uint64_t index, void *page, char *msg, size_t len)
{
	return snap_reader_read_page(arg, index, page, msg, len);
}

const struct vmem_source_ops snapshot_source_ops = {.load = snapshot_source_load};

/* What a snapshot can get wrong but its pages' data, before KVM. */
static int restore_check_vm(struct vm *vm, const struct vm_config *cfg, struct snap_reader *r,
			    bool lazy, const struct machine_state *m)
{
	uint64_t need = snapshot_data_pages(r) * EPT_PAGE_SIZE;
	char err[512];

	if (machine_state_restore_devices(vm, m, err, sizeof(err)))
		return err_input("restore", "%s", err), VMM_STATUS_USAGE;
	/* Without swap, an eager restore must fit the budget: it makes every
	 * data page resident before the guest runs. */
	if (!lazy && !cfg->swap_path && cfg->host_mem_bytes && cfg->host_mem_bytes < need)
		return err_input("--host-mem",
				 "%lluK: an eager restore of %s makes %lluK resident (use --lazy "
				 "or --swap)",
				 (unsigned long long)cfg->host_mem_bytes >> 10, snap_reader_path(r),
				 (unsigned long long)need >> 10),
		       VMM_STATUS_USAGE;
	return 0;
}

/* Guest memory from r, eagerly or lazily, then the vCPU's state. An enum
 * vmm_status. */
static int restore_vm_state(struct vm *vm, struct snap_reader *r, bool lazy, bool check_hash,
			    const struct machine_state *m)
{
	char err[512];
	int ret;

	ret = lazy ? snapshot_set_lazy(&vm->mem, r, err, sizeof(err))
		   : snapshot_load_eager(&vm->mem, r, err, sizeof(err));
	if (!ret && check_hash)
		ret = snapshot_check_memory_hash(&vm->mem, r, err, sizeof(err));
	if (ret) {
		err_errno(-ret, "restore", "%s", err);
		return ret == -EBADMSG || ret == -EIO || ret == -ENOENT || ret == -EINVAL
			   ? VMM_STATUS_USAGE
			   : VMM_STATUS_INTERNAL;
	}
	/* Faults are served from here on: setting the vCPU's paravirtual MSRs
	 * (kvm-clock, steal time) makes KVM map the guest pages they name,
	 * and a lazily restored one is a fault. */
	if (guest_ram_start(&vm->mem))
		return VMM_STATUS_INTERNAL;
	ret = machine_state_restore_vcpu(vm, m, err, sizeof(err));
	if (ret) {
		err_errno(-ret, "restore", "%s", err);
		return ret == -EINVAL ? VMM_STATUS_USAGE : VMM_STATUS_INTERNAL;
	}
	return 0;
}

int snapshot_restore_vm(struct vm *vm, const struct vm_config *cfg, struct snap_reader *r,
			bool lazy)
{
	struct machine_state m = {0};
	struct vm_config c = *cfg;
	char err[512];
	int ret = 0, begun;

	/* The machine first: it says which devices the VM has. */
	if (snapshot_read_machine(r, &m, err, sizeof(err))) {
		err_input("restore", "%s", err);
		ret = VMM_STATUS_USAGE;
	}
	c.machine = ret ? MACHINE_AUTO : m.machine;
	begun = vm_create_begin(vm, &c); /* whatever happened: the caller reports on it */
	if (!ret)
		ret = begun;
	if (!ret)
		ret = restore_check_vm(vm, cfg, r, lazy, &m);
	if (!ret)
		ret = vm_create_machine(vm, cfg, lazy ? &snapshot_source_ops : NULL, r);
	if (!ret)
		ret = restore_vm_state(vm, r, lazy, cfg->restore_check_hash, &m);
	machine_state_free(&m);
	return ret;
}
