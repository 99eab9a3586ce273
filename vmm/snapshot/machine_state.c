/* vmm/snapshot/machine_state.c: a VM's machine as one value, see
 * machine_state.h. */
#include "machine_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devstate.h"
#include "err.h"
#include "vcpu_state.h"
#include "vm.h"

const char *snapshot_where(char *buf, size_t len, const char *path, uint64_t off, const char *name,
			   size_t byte)
{
	if (path)
		snprintf(buf, len, "%s: offset %llu (section \"%s\", byte %zu)", path,
			 (unsigned long long)(off + byte), name, byte);
	else
		snprintf(buf, len, "section \"%s\", byte %zu", name, byte);
	return buf;
}

static int snapshot_capture_devices(struct vm *vm, struct snapshot_machine *m, char *err,
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

int snapshot_capture_machine(struct vm *vm, struct snapshot_machine *m, char *err, size_t errlen)
{
	int ret;

	*m = (struct snapshot_machine){
	    .mem_bytes = vm->mem.size, .tsc_hz = vm->tsc_hz, .machine = vm->machine->id};
	m->vcpu = malloc(sizeof(*m->vcpu));
	if (!m->vcpu)
		return err_into(err, errlen, -ENOMEM, "saving vCPU 0: out of memory");
	ret = vcpu_state_save(&vm->vcpu, &vm->kvm, m->vcpu);
	if (ret)
		return err_into(err, errlen, ret, "saving vCPU 0: %s", strerror(-ret));
	return snapshot_capture_devices(vm, m, err, errlen);
}

void snapshot_machine_free(struct snapshot_machine *m)
{
	free(m->vcpu);
	m->vcpu = NULL;
	free(m->devices_owned);
	m->devices_owned = NULL;
	m->devices = NULL;
}
