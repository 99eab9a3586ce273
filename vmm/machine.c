/* vmm/machine.c: the kinds of machine, see machine.h. */
#include "machine.h"

#include <errno.h>
#include <string.h>

#include "err.h"
#include "hcall.h"
#include "vm.h"

#define MACHINE_LINUX_SERIAL_IRQ 4

/* A hypercall that cannot be answered: the guest cannot go on. */
static void machine_hcall_stop(void *arg, const char *reason)
{
	vm_stop(arg, VMM_STATUS_CRASH, "%s", reason);
}

static int machine_vmm_devices(struct vm *vm)
{
	hcall_init(&vm->hcall, &vm->mem, &vm->con, machine_hcall_stop, vm);
	return hcall_register(&vm->hcall, &vm->io, &vm->states);
}

static void machine_irq4(void *arg, bool level)
{
	irqchip_set_line(arg, MACHINE_LINUX_SERIAL_IRQ, level);
}

static void machine_power_off(void *arg)
{
	vm_stop(arg, VMM_STATUS_OK, "guest powered off (ACPI S5)");
}

/* vmm restarts nothing: a reset ends the run, as a triple fault does. */
static void machine_reset(void *arg, const char *how)
{
	vm_stop(arg, VMM_STATUS_CRASH, "guest reset %s", how);
}

static int machine_linux_devices(struct vm *vm)
{
	int ret;

	irqchip_init(&vm->pc.irqchip);
	pit_init(&vm->pc.pit);
	kvmclock_init(&vm->pc.clock);
	acpi_pm_init(&vm->pc.acpi_pm, machine_power_off, vm);
	reset_init(&vm->pc.reset, machine_reset, vm);
	serial_set_irq(&vm->uart, machine_irq4, &vm->pc.irqchip);
	ret = irqchip_register(&vm->pc.irqchip, &vm->states);
	if (!ret)
		ret = pit_register(&vm->pc.pit, &vm->states);
	if (!ret)
		ret = kvmclock_register(&vm->pc.clock, &vm->states);
	if (!ret)
		ret = acpi_pm_register(&vm->pc.acpi_pm, &vm->io, &vm->states);
	return ret ? ret : reset_register(&vm->pc.reset, &vm->io, &vm->states);
}

static const struct machine_kind machine_kinds[] = {
    {
	.id = MACHINE_VMM,
	.name = "vmm",
	.counters_page = true,
	.default_cmdline = MACHINE_VMM_CMDLINE,
	.add_devices = machine_vmm_devices,
    },
    {
	.id = MACHINE_LINUX,
	.name = "linux",
	.irqchip = true,
	.open_bus = true,
	.normalise_cpuid = true,
	.console_input = true,
	.default_cmdline = MACHINE_LINUX_CMDLINE,
	.add_devices = machine_linux_devices,
    },
};

#define MACHINE_NR (sizeof(machine_kinds) / sizeof(machine_kinds[0]))

const struct machine_kind *machine_from_saved(unsigned id)
{
	return id < MACHINE_NR ? &machine_kinds[id] : NULL;
}

const struct machine_kind *machine_get(enum machine_id id)
{
	return machine_from_saved((unsigned)id);
}

int machine_parse(const char *s, enum machine_id *out)
{
	if (!strcmp(s, "auto")) {
		*out = MACHINE_AUTO;
		return 0;
	}
	for (unsigned i = 0; i < MACHINE_NR; i++)
		if (!strcmp(s, machine_kinds[i].name)) {
			*out = machine_kinds[i].id;
			return 0;
		}
	return err_input("--machine", "'%s': expected auto, vmm or linux", s);
}

int machine_create_kvm(struct vm *vm)
{
	int ret;

	if (!vm->machine->irqchip)
		return 0;
	ret = irqchip_create(&vm->pc.irqchip, vm->fd);
	if (!ret)
		ret = pit_create(&vm->pc.pit, vm->fd);
	if (!ret)
		kvmclock_attach(&vm->pc.clock, vm->fd);
	return ret;
}
