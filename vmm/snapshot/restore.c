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
#include "wsfile.h"

#define RESTORE_CHUNK 512   /* blocks per read: 2 MiB */
#define RESTORE_AHEAD 16384 /* blocks the kernel is asked to read ahead: 64 MiB */

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

/* Install n pages (their GPAs, and for a lazy restore their entries)
 * from buf in bulk: one vmem_load_run per run of neighbouring GPAs. */
static int restore_install(struct guest_ram *mem, const struct snap_reader *r, const uint64_t *gpa,
			   const uint64_t *index, unsigned n, const uint8_t *buf,
			   enum vmem_load_kind kind, char *err, size_t errlen)
{
	unsigned k = 0, run;
	int ret;

	while (k < n) {
		for (run = 1; k + run < n && run < VMEM_MAX_WINDOW &&
			      gpa[k + run] == gpa[k] + (uint64_t)run * SNAP_PAGE;
		     run++)
			;
		ret = vmem_load_run(mem->vmem, gpa[k], run, buf + (size_t)k * SNAP_PAGE,
				    index ? index + k : NULL, kind, true);
		if (ret < 0)
			return err_into(err, errlen, ret,
					"%s: pages at GPA %#llx to %#llx: cannot load them: %s",
					snap_reader_path(r), (unsigned long long)gpa[k],
					(unsigned long long)(gpa[k + run - 1] + SNAP_PAGE),
					strerror(-ret));
		k += run;
	}
	return 0;
}

/* Without the vmm memory manager: one page at a time. */
static int restore_eager_slow(struct guest_ram *mem, const struct snap_reader *r, uint8_t *page,
			      char *err, size_t errlen)
{
	enum snap_kind kind;
	uint64_t gpa;
	int ret = 0;

	for (uint64_t i = 0; !ret && i < snap_reader_nr_pages(r); i++) {
		ret = snap_reader_page_at(r, i, &gpa, &kind);
		if (ret || kind != SNAP_KIND_DATA)
			continue;
		ret = snap_reader_read_page(r, i, page, err, errlen);
		if (!ret && (ret = guest_ram_write(mem, gpa, page, SNAP_PAGE)))
			err_into(err, errlen, ret, "%s: page at GPA %#llx: cannot write it: %s",
				 snap_reader_path(r), (unsigned long long)gpa, strerror(-ret));
	}
	return ret;
}

/* The file in order, RESTORE_CHUNK blocks a read, each block checked and
 * installed with its neighbours in GPA, mapped. */
static int restore_eager_bulk(struct guest_ram *mem, const struct snap_reader *r, uint8_t *buf,
			      char *err, size_t errlen)
{
	uint64_t ents[RESTORE_CHUNK], gpa[RESTORE_CHUNK], nr = snap_reader_nr_data(r);
	int ret = 0;

	for (uint64_t first = 0; !ret && first < nr; first += RESTORE_CHUNK) {
		unsigned n = nr - first < RESTORE_CHUNK ? nr - first : RESTORE_CHUNK;

		snap_reader_advise(r, first + RESTORE_CHUNK, RESTORE_AHEAD);
		ret = snap_reader_read_blocks(r, first, n, buf, ents, err, errlen);
		for (unsigned k = 0; !ret && k < n; k++)
			ret = snap_reader_page_at(r, ents[k], &gpa[k], NULL);
		if (!ret)
			ret = restore_install(mem, r, gpa, NULL, n, buf, VMEM_LOAD_EAGER, err,
					      errlen);
	}
	return ret;
}

int snapshot_load_eager(struct guest_ram *mem, const struct snap_reader *r, char *err,
			size_t errlen)
{
	uint8_t *buf = aligned_alloc(SNAP_PAGE, (size_t)RESTORE_CHUNK * SNAP_PAGE);
	int ret;

	if (!buf)
		return err_into(err, errlen, -ENOMEM, "out of memory");
	ret = mem->vmem ? restore_eager_bulk(mem, r, buf, err, errlen)
			: restore_eager_slow(mem, r, buf, err, errlen);
	free(buf);
	return ret;
}

/* Entries [i, i + n) of r: read, checked and installed in bulk, mapped. */
static int restore_prefetch_run(struct guest_ram *mem, const struct snap_reader *r, uint64_t i,
				unsigned n, uint8_t *buf, char *err, size_t errlen)
{
	uint64_t gpa[RESTORE_CHUNK], index[RESTORE_CHUNK];
	int ret = snap_reader_read_pages(r, i, n, buf, err, errlen);

	for (unsigned k = 0; !ret && k < n; k++) {
		index[k] = i + k;
		ret = snap_reader_page_at(r, i + k, &gpa[k], NULL);
	}
	return ret ? ret
		   : restore_install(mem, r, gpa, index, n, buf, VMEM_LOAD_PREFETCH, err, errlen);
}

/* The working set ws[0..n) (ascending GPAs of data pages, wsfile.h), in
 * runs of neighbouring entries. */
static int restore_prefetch(struct guest_ram *mem, const struct snap_reader *r, const uint64_t *ws,
			    uint64_t n, char *err, size_t errlen)
{
	uint8_t *buf = aligned_alloc(SNAP_PAGE, (size_t)RESTORE_CHUNK * SNAP_PAGE);
	uint64_t k = 0;
	int ret = buf ? 0 : err_into(err, errlen, -ENOMEM, "out of memory");

	while (!ret && k < n) {
		int64_t i = snap_reader_find(r, ws[k]);
		unsigned run = 1;

		if (i < 0) { /* checked when the file was read */
			k++;
			continue;
		}
		while (k + run < n && run < RESTORE_CHUNK &&
		       ws[k + run] == ws[k] + (uint64_t)run * SNAP_PAGE &&
		       snap_reader_find(r, ws[k + run]) == i + run)
			run++;
		ret = restore_prefetch_run(mem, r, (uint64_t)i, run, buf, err, errlen);
		k += run;
	}
	free(buf);
	return ret;
}

/* The loader thread's record: the touched pages, written beside the
 * snapshot. A failure is said, and the VM runs on. */
static void restore_ws_record(void *arg, const uint64_t *gpa, uint64_t n)
{
	const struct snap_reader *r = arg;
	uint64_t kept = 0;
	char err[512];

	if (snap_ws_write(r, gpa, n, &kept, err, sizeof(err)))
		fprintf(stderr, "vmm: restore: --record-ws: %s\n", err);
	else
		fprintf(stderr,
			"vmm: restore: working set recorded: %llu pages of the snapshot "
			"(of %llu touched)\n",
			(unsigned long long)kept, (unsigned long long)n);
}

int snapshot_set_lazy(struct guest_ram *mem, const struct snap_reader *r,
		      const struct snapshot_load_opts *o, char *err, size_t errlen)
{
	struct vmem_loader l = {.rest = o && !o->no_background,
				.record_ms = o ? o->record_ws_ms : 0,
				.on_touched = restore_ws_record,
				.arg = (void *)r};
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
			return err_into(
			    err, errlen, ret,
			    "%s: page at GPA %#llx: cannot leave it to the snapshot: %s",
			    snap_reader_path(r), (unsigned long long)gpa, strerror(-ret));
	}
	if (o && o->ws_pages)
		ret = restore_prefetch(mem, r, o->ws, o->ws_pages, err, errlen);
	if (!ret && (ret = vmem_loader_start(mem->vmem, &l)))
		err_into(err, errlen, ret, "%s: starting the loader thread: %s",
			 snap_reader_path(r), strerror(-ret));
	return ret;
}

static int snapshot_source_load(void *arg, uint64_t index, void *page, char *msg, size_t len)
{
	return snap_reader_read_page(arg, index, page, msg, len);
}

static int snapshot_source_load_run(void *arg, uint64_t index, unsigned n, void *pages, char *msg,
				    size_t len)
{
	return snap_reader_read_pages(arg, index, n, pages, msg, len);
}

const struct vmem_source_ops snapshot_source_ops = {.load = snapshot_source_load,
						    .load_run = snapshot_source_load_run};

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
static int restore_vm_state(struct vm *vm, struct snap_reader *r, bool lazy,
			    const struct vm_config *cfg, const struct machine_state *m)
{
	char err[512];
	int ret;

	ret = lazy ? snapshot_set_lazy(&vm->mem, r, cfg->restore_load, err, sizeof(err))
		   : snapshot_load_eager(&vm->mem, r, err, sizeof(err));
	if (!ret && cfg->restore_check_hash)
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
		ret = restore_vm_state(vm, r, lazy, cfg, &m);
	machine_state_free(&m);
	return ret;
}
