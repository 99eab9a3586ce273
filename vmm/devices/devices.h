/* vmm/devices/: the VM's devices, and the bus they sit on.
 *
 *   ioport.h   the port I/O bus: each device claims its port ranges when
 *              the VM is built; the run loop hands every port exit to it
 *   serial.h   a 16550-style UART at VMM_PORT_SERIAL (one exit per byte)
 *   console.h  where guest output meets and leaves as whole lines: the
 *              UART's bytes and the line console's lines; RESULT lines
 *              are kept for the report
 *   hcall.h    the hypercall port: the line console, page DISCARD and COPY,
 *              every GPA checked against guest RAM
 *   forkid.h   the fork identity port at VMM_PORT_FORKID: which generation
 *              of a fork the VM is, and which child of it
 *   devstate.h a device's state as versioned bytes for a snapshot: each
 *              device saves and restores itself, beside its code (and one
 *              whose state lives in KVM commits it once the VM exists)
 *   conin.h    the console's input: stdin into the UART, a terminal in
 *              raw mode (a Linux machine's)
 * A Linux machine's own (machine.h):
 *   irqchip.h  the in-kernel PICs and IOAPIC (KVM_CREATE_IRQCHIP), and the
 *              ISA lines devices raise (KVM_IRQ_LINE)
 *   pit.h      the in-kernel 8254 (KVM_CREATE_PIT2)
 *   kvmclock.h the VM's kvm-clock, carried through snapshots
 *   acpi_pm.h  the ACPI PM1 registers: power off (S5)
 *   reset.h    the keyboard controller's and the reset register's resets
 *
 * The exit port (isa-debug-exit) is the VM's own, in vm.c. A new device is
 * a file here that registers its ports and its state from
 * vm_register_devices(), or from its machine's add_devices (machine.c).
 */
#ifndef VMM_DEVICES_H
#define VMM_DEVICES_H

#include "acpi_pm.h"
#include "conin.h"
#include "console.h"
#include "devstate.h"
#include "forkid.h"
#include "hcall.h"
#include "ioport.h"
#include "irqchip.h"
#include "kvmclock.h"
#include "pit.h"
#include "reset.h"
#include "serial.h"

#endif
