/* vmm/devices/irqchip.h: the in-kernel interrupt controllers of a Linux
 * machine: two 8259 PICs and an IOAPIC (KVM_CREATE_IRQCHIP), which also
 * gives each vCPU an in-kernel LAPIC (its state is the vCPU's,
 * vcpu_state.h), and the lines devices raise (KVM_IRQ_LINE).
 *
 * KVM's default routing sends ISA IRQ n to PIC pin n and IOAPIC pin n. With
 * one vCPU and no MP table or MADT, Linux runs the PICs in virtual-wire
 * mode (LINT0 ExtINT) and leaves the IOAPIC masked; the IOAPIC is kept
 * and saved all the same, for the SMP machine that will route through it.
 *
 * The controllers live in KVM: irqchip_create() makes them, before any
 * vCPU. A snapshot reads them (KVM_GET_IRQCHIP); a restore parses and
 * checks the bytes with no VM (devstate.h), and irqchip_commit() puts them
 * into KVM once the VM exists (KVM_SET_IRQCHIP).
 *
 * State (devstate.h) "irqchip", version IRQCHIP_STATE_VERSION:
 *   for the PIC master, then the slave, the 16 u8 of struct kvm_pic_state
 *     in its order: last_irr, irr, imr, isr, priority_add, irq_base,
 *     read_reg_select, poll, special_mask, init_state, auto_eoi,
 *     rotate_on_auto_eoi, special_fully_nested_mode, init4, elcr, elcr_mask
 *   the IOAPIC: u64 base_address, u32 ioregsel, u32 id, u32 irr, then
 *     KVM_IOAPIC_NUM_PINS u64 redirection entries
 * Restore refuses what no 8259 or IOAPIC holds: a flag other than 0 or 1,
 * init_state past 3, priority_add past 7, an irq_base that is not a
 * multiple of 8, ELCR bits outside the chip's mask (0xf8, 0xde), an IOAPIC
 * elsewhere than 0xfec00000, an id past 15, IRR bits past pin 23, reserved
 * bits of an entry set.
 */
#ifndef VMM_IRQCHIP_H
#define VMM_IRQCHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "devstate.h"

#define IRQCHIP_STATE_VERSION 1
#define IRQCHIP_IOAPIC_BASE   0xfec00000ULL

struct irqchip {
	int vm_fd;     /* -1 until irqchip_create */
	bool restored; /* the fields hold a restored state for irqchip_commit */
	struct kvm_pic_state pic[2];
	struct kvm_ioapic_state ioapic;
};

void irqchip_init(struct irqchip *c);
/* KVM_CREATE_IRQCHIP on the VM, before its vCPUs: 0 or -errno. */
int irqchip_create(struct irqchip *c, int vm_fd);
/* Drive ISA line irq to level (KVM_IRQ_LINE): 0 or -errno. */
int irqchip_set_line(struct irqchip *c, unsigned irq, bool level);
/* Its row in the VM's states (it has no ports: KVM serves them). */
int irqchip_register(struct irqchip *c, struct devstate_table *states);

int irqchip_save(const struct irqchip *c, void *buf, size_t len, size_t *used);
int irqchip_restore(struct irqchip *c, const void *buf, size_t len, char *err, size_t errlen);
/* A restored state into KVM (KVM_SET_IRQCHIP); nothing if none. */
int irqchip_commit(struct irqchip *c, char *err, size_t errlen);

#endif
