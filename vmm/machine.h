/* vmm/machine.h: what kind of machine a VM is, chosen once (from the
 * kernel image, or --machine) and kept in its snapshots, so that nothing
 * else asks which guest it runs.
 *
 *   vmm    the project's own guest kernel (docs/guest-kernel.md): the
 *          16550 polled, the hypercall port (line console, page services),
 *          the exit and fork identity ports, no interrupt controller,
 *          CPUID as KVM gives it; a port no device claims stops the VM (a
 *          bug in the guest kernel, reported with its RIP)
 *   linux  a stock Linux kernel (docs/linux-guest.md): the in-kernel PICs,
 *          IOAPIC, LAPIC and PIT, kvm-clock carried through snapshots, the
 *          16550 on ISA IRQ 4 with the vmm process's stdin as its input,
 *          ACPI power off and reset, the keyboard controller's reset, the
 *          exit and fork identity ports, CPUID normalised; a port no
 *          device claims reads as all ones and ignores writes, as a PC's
 *          ISA bus does (Linux probes for devices that way)
 *
 * The kernel image says which: a bzImage boots a Linux machine, an ELF
 * with a PVH note the vmm machine; --machine may name it, and a machine
 * the image does not boot is refused (an ELF vmlinux through PVH on a
 * Linux machine would need Linux's PVH conventions: not wired).
 */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <stdbool.h>

#define MACHINE_VMM_CMDLINE   "workload=touch size=512K"
#define MACHINE_LINUX_CMDLINE "console=ttyS0"

enum machine_id {
	MACHINE_AUTO = -1, /* from the kernel image */
	MACHINE_VMM = 0,   /* values as snapshots keep them */
	MACHINE_LINUX = 1,
};

struct vm;

struct machine_kind {
	enum machine_id id;
	const char *name;
	bool irqchip;	      /* in-kernel PICs, IOAPIC, LAPIC, PIT; kvm-clock state */
	bool open_bus;	      /* unclaimed ports float instead of stopping the VM */
	bool normalise_cpuid; /* vcpu_set_cpuid's normalise */
	bool console_input;   /* stdin feeds the UART */
	bool counters_page;   /* the guest publishes its first-level counters
			       * at BOOT_COUNTERS_GPA (the project's kernel) */
	const char *default_cmdline;
	/* Its own devices, registered after the common ones (serial,
	 * console, exit port) and before the fork identity port. */
	int (*add_devices)(struct vm *vm);
};

/* The machine of id (not MACHINE_AUTO). */
const struct machine_kind *machine_get(enum machine_id id);
/* "auto", "vmm" or "linux": 0, or -EINVAL naming the option. */
int machine_parse(const char *s, enum machine_id *out);
/* A saved id: the machine, or NULL if there is none such. */
const struct machine_kind *machine_from_saved(unsigned id);
/* What the machine has in KVM beside the VM (the irqchip and PIT), made
 * after KVM_CREATE_VM and before the vCPUs: 0 or -errno. */
int machine_create_kvm(struct vm *vm);

#endif
