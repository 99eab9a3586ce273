/* vmm/vm_exit.c: one exit of KVM_RUN: port I/O to the devices on the VM's
 * bus, and every other exit reason a verdict; and the exit port, through
 * which the project's guest gives its own (see vm.h).
 */
#include "vm.h"

#include <stdio.h>
#include <string.h>

#include "vmm_abi.h"

static void vm_exit_port(struct vm *vm, uint32_t value)
{
	switch (value) {
	case VMM_GUEST_SUCCESS:
		vm_stop(vm, VMM_STATUS_OK, "guest reported success");
		break;
	case VMM_GUEST_FAILURE:
		vm_stop(vm, VMM_STATUS_GUEST_FAIL, "guest reported failure");
		break;
	case VMM_GUEST_CRASH:
		vm_stop(vm, VMM_STATUS_CRASH, "guest kernel reported a crash (rip %#lx)",
			(unsigned long)vcpu_rip(&vm->vcpu));
		break;
	default:
		vm_stop(vm, VMM_STATUS_GUEST_FAIL,
			"guest wrote %#x to the exit port: expected 0, 1 or 3", value);
	}
}

/* The isa-debug-exit port: the guest's verdict. */
static bool vm_exit_io(void *dev, const struct ioport_access *a)
{
	uint32_t v = 0;

	if (!a->out || a->size > sizeof(v))
		return false;
	memcpy(&v, a->data, a->size);
	vm_exit_port(dev, v);
	return true;
}

int vm_exit_save(const struct vm *vm, void *buf, size_t len, size_t *used)
{
	(void)vm;
	return devstate_save_empty(VM_EXIT_STATE_VERSION, buf, len, used);
}

int vm_exit_restore(struct vm *vm, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)vm;
	return devstate_restore_empty("exit", VM_EXIT_STATE_VERSION, buf, len, err, errlen);
}

DEVSTATE_OPS(vm_exit_state_ops, "exit", struct vm, vm_exit_save, vm_exit_restore);

int vm_exit_register(struct vm *vm)
{
	int ret = ioport_register(&vm->io, VMM_PORT_EXIT, 4, "exit", vm_exit_io, vm);

	return ret ? ret : devstate_register(&vm->states, &vm_exit_state_ops, vm);
}

static void vm_handle_io(struct vm *vm, struct kvm_run *run)
{
	struct ioport_access a = {
	    .port = run->io.port,
	    .out = run->io.direction == KVM_EXIT_IO_OUT,
	    .size = run->io.size,
	    .count = run->io.count,
	    .data = (uint8_t *)run + run->io.data_offset,
	};

	vm->stats.io_exits++;
	if (ioport_dispatch(&vm->io, &a))
		return;
	if (vm->machine->open_bus) {
		/* What a PC's ISA bus does where no device answers. */
		if (!a.out)
			memset(a.data, 0xff, (size_t)a.size * a.count);
		vm->stats.open_bus_io++;
		return;
	}
	vm_stop(vm, VMM_STATUS_CRASH, "unhandled port %s: port %#x, %u bytes, rip %#lx",
		a.out ? "write" : "read", a.port, a.size, (unsigned long)vcpu_rip(&vm->vcpu));
}

void vm_handle_exit(struct vm *vm, struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vm_handle_io(vm, run);
		break;
	case KVM_EXIT_MMIO:
		vm->stats.mmio_exits++;
		if (vm->mem.vmem)
			vmem_count_invalid(vm->mem.vmem);
		vm_stop(vm, VMM_STATUS_CRASH,
			"guest %s outside RAM at GPA %#llx (%u bytes), rip %#lx",
			run->mmio.is_write ? "write" : "read", run->mmio.phys_addr, run->mmio.len,
			(unsigned long)vcpu_rip(&vm->vcpu));
		break;
	case KVM_EXIT_SHUTDOWN:
		vm_stop(vm, VMM_STATUS_CRASH, "guest triple fault (shutdown), rip %#lx",
			(unsigned long)vcpu_rip(&vm->vcpu));
		break;
	case KVM_EXIT_HLT:
		vm_stop(vm, VMM_STATUS_CRASH,
			"guest halted without writing the exit port, rip %#lx",
			(unsigned long)vcpu_rip(&vm->vcpu));
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_stop(vm, VMM_STATUS_CRASH,
			"KVM internal error %u (emulation failure?), rip %#lx",
			run->internal.suberror, (unsigned long)vcpu_rip(&vm->vcpu));
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vm_stop(vm, VMM_STATUS_INTERNAL, "KVM could not enter the guest: reason %#llx",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		vm_stop(vm, VMM_STATUS_CRASH, "unexpected KVM exit %u, rip %#lx", run->exit_reason,
			(unsigned long)vcpu_rip(&vm->vcpu));
	}
}
