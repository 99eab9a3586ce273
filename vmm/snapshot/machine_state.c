/* vmm/snapshot/machine_state.c: a VM's machine as one value, see
 * machine_state.h. */
#include "machine_state.h"

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

const char *machine_state_where(char *buf, size_t len, const char *path, uint64_t off,
				const char *name, size_t byte)
{
	if (path)
		snprintf(buf, len, "%s: offset %llu (section \"%s\", byte %zu)", path,
			 (unsigned long long)(off + byte), name, byte);
	else
		snprintf(buf, len, "section \"%s\", byte %zu", name, byte);
	return buf;
}

static int snapshot_capture_devices(struct vm *vm, struct machine_state *m, char *err,
				    size_t errlen)
{
	size_t n = 0;
	int ret = devstate_save_all(&vm->states, NULL, 0, &n);

	if (ret && ret != -ENOSPC)
		return err_into(err, errlen, ret, "saving the devices: %s", strerror(-ret));
	m->devices_owned = malloc(n ? n : 1);
	if (!m->devices_owned)
		return err_into(err, errlen, -ENOMEM, "saving the devices: out of memory");
	m->devices = m->devices_owned;
	ret = devstate_save_all(&vm->states, m->devices_owned, n, &m->devices_len);
	return ret ? err_into(err, errlen, ret, "saving the devices: %s", strerror(-ret)) : 0;
}

int machine_state_save(struct vm *vm, struct machine_state *m, char *err, size_t errlen)
{
	int ret;

	*m = (struct machine_state){
	    .mem_bytes = vm->mem.size, .tsc_hz = vm->tsc_hz, .machine = vm->machine->id};
	m->vcpu = malloc(sizeof(*m->vcpu));
	if (!m->vcpu)
		return err_into(err, errlen, -ENOMEM, "saving vCPU 0: out of memory");
	ret = vcpu_state_save(&vm->vcpu, &vm->kvm, m->vcpu);
	if (ret)
		return err_into(err, errlen, ret, "saving vCPU 0: %s", strerror(-ret));
	return snapshot_capture_devices(vm, m, err, errlen);
}

void machine_state_free(struct machine_state *m)
{
	free(m->vcpu);
	m->vcpu = NULL;
	free(m->devices_owned);
	m->devices_owned = NULL;
	m->devices = NULL;
}

int machine_state_restore_devices(struct vm *vm, const struct machine_state *m, char *err,
				  size_t errlen)
{
	char why[256], where[300];
	size_t at;

	if (devstate_restore_all(&vm->states, m->devices, m->devices_len, &at, why, sizeof(why)))
		return err_into(err, errlen, -EINVAL, "%s: %s",
				machine_state_where(where, sizeof(where), m->path, m->devices_off,
						    SNAPSHOT_DEV_DEVICES, at),
				why);
	return 0;
}

/* The guest was told its TSC frequency at boot: keep it where KVM can
 * scale (KVM_CAP_TSC_CONTROL), else say that the guest's clock will be off. */
static void machine_state_restore_tsc(struct vm *vm, uint64_t tsc_hz)
{
	uint64_t here = vcpu_tsc_hz(&vm->vcpu, &vm->kvm);

	vm->tsc_hz = tsc_hz;
	if (!tsc_hz || !here || here / 1000 == tsc_hz / 1000)
		return;
	if (ioctl(vm->vcpu.fd, KVM_SET_TSC_KHZ, (unsigned long)(tsc_hz / 1000)) < 0)
		fprintf(stderr,
			"vmm: restore: the snapshot's TSC runs at %llu kHz, this host's at %llu "
			"kHz and KVM cannot scale it: the guest's clock will be off\n",
			(unsigned long long)tsc_hz / 1000, (unsigned long long)here / 1000);
}

int machine_state_restore_vcpu(struct vm *vm, const struct machine_state *m, char *err,
			       size_t errlen)
{
	char why[256];
	bool quiet;
	int ret;

	machine_state_restore_tsc(vm, m->tsc_hz);
	quiet = err_set_quiet(true);
	ret = vcpu_state_restore(&vm->vcpu, &vm->kvm, m->vcpu);
	err_set_quiet(quiet);
	if (ret && m->path)
		return err_into(err, errlen, ret,
				"%s: offset %llu (section \"%s\"): %s: expected a vCPU state this "
				"host's KVM takes (one saved on the same kind of host)",
				m->path, (unsigned long long)m->vcpu_off, SNAPSHOT_DEV_VCPU,
				last_error());
	if (ret)
		return err_into(err, errlen, ret, "section \"%s\": %s", SNAPSHOT_DEV_VCPU,
				last_error());
	ret = devstate_commit_all(&vm->states, why, sizeof(why));
	return ret ? err_into(err, errlen, ret, "section \"%s\": %s", SNAPSHOT_DEV_DEVICES, why)
		   : 0;
}
