/* vmm/devices/irqchip.c: the in-kernel PICs and IOAPIC, see irqchip.h. */
#include "irqchip.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "err.h"

#define IRQCHIP_PINS_MASK ((1u << KVM_IOAPIC_NUM_PINS) - 1)
/* Bits 17-55 of a redirection entry are reserved; 0-16 and 56-63 are not. */
#define IRQCHIP_ENTRY_RSVD 0x00fffffffffe0000ULL
static const uint8_t irqchip_elcr_mask[2] = {0xf8, 0xde}; /* as KVM (and a PIIX) has them */

/* As KVM_CREATE_IRQCHIP makes them: what a chip that has no VM yet saves. */
void irqchip_init(struct irqchip *c)
{
	memset(c, 0, sizeof(*c));
	c->vm_fd = -1;
	for (int i = 0; i < 2; i++)
		c->pic[i].elcr_mask = irqchip_elcr_mask[i];
	c->ioapic.base_address = IRQCHIP_IOAPIC_BASE;
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		c->ioapic.redirtbl[i].bits = 1ULL << 16; /* masked */
}

int irqchip_create(struct irqchip *c, int vm_fd)
{
	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_sys("vm", "KVM_CREATE_IRQCHIP");
	c->vm_fd = vm_fd;
	return 0;
}

int irqchip_set_line(struct irqchip *c, unsigned irq, bool level)
{
	struct kvm_irq_level l = {.irq = irq, .level = level};

	if (c->vm_fd < 0)
		return 0; /* no VM yet (a restore before KVM): the device's commit drives it */
	return ioctl(c->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

/* chip's state from KVM, or the structure's own without a VM. */
static int irqchip_get(const struct irqchip *c, uint32_t chip, struct kvm_irqchip *out)
{
	memset(out, 0, sizeof(*out));
	out->chip_id = chip;
	if (c->vm_fd >= 0 && !c->restored)
		return ioctl(c->vm_fd, KVM_GET_IRQCHIP, out) < 0 ? -errno : 0;
	if (chip == KVM_IRQCHIP_IOAPIC)
		out->chip.ioapic = c->ioapic;
	else
		out->chip.pic = c->pic[chip];
	return 0;
}

static void irqchip_put_pic(struct devstate_writer *w, const struct kvm_pic_state *p)
{
	const uint8_t f[] = {p->last_irr,
			     p->irr,
			     p->imr,
			     p->isr,
			     p->priority_add,
			     p->irq_base,
			     p->read_reg_select,
			     p->poll,
			     p->special_mask,
			     p->init_state,
			     p->auto_eoi,
			     p->rotate_on_auto_eoi,
			     p->special_fully_nested_mode,
			     p->init4,
			     p->elcr,
			     p->elcr_mask};

	devstate_put_bytes(w, f, sizeof(f));
}

static void irqchip_put_ioapic(struct devstate_writer *w, const struct kvm_ioapic_state *a)
{
	devstate_put_u64(w, a->base_address);
	devstate_put_u32(w, a->ioregsel);
	devstate_put_u32(w, a->id);
	devstate_put_u32(w, a->irr);
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		devstate_put_u64(w, a->redirtbl[i].bits);
}

int irqchip_save(const struct irqchip *c, void *buf, size_t len, size_t *used)
{
	struct kvm_irqchip chip[KVM_NR_IRQCHIPS];
	struct devstate_writer w;
	int ret = 0;

	for (uint32_t i = 0; !ret && i < KVM_NR_IRQCHIPS; i++)
		ret = irqchip_get(c, i, &chip[i]);
	if (ret)
		return ret;
	devstate_begin(&w, buf, len, IRQCHIP_STATE_VERSION);
	irqchip_put_pic(&w, &chip[KVM_IRQCHIP_PIC_MASTER].chip.pic);
	irqchip_put_pic(&w, &chip[KVM_IRQCHIP_PIC_SLAVE].chip.pic);
	irqchip_put_ioapic(&w, &chip[KVM_IRQCHIP_IOAPIC].chip.ioapic);
	return devstate_end(&w, used);
}

static void irqchip_check_flag(struct devstate_reader *r, const char *pic, const char *field,
			       uint8_t v)
{
	if (v > 1)
		devstate_fail(r, "%s %s %u: expected 0 or 1", pic, field, v);
}

static void irqchip_get_pic(struct devstate_reader *r, int i, struct kvm_pic_state *p)
{
	const char *name = i ? "PIC slave" : "PIC master";
	const uint8_t *f = devstate_get_bytes(r, 16, name);

	if (!f)
		return;
	*p = (struct kvm_pic_state){f[0], f[1], f[2],  f[3],  f[4],  f[5],  f[6],  f[7],
				    f[8], f[9], f[10], f[11], f[12], f[13], f[14], f[15]};
	irqchip_check_flag(r, name, "read_reg_select", p->read_reg_select);
	irqchip_check_flag(r, name, "poll", p->poll);
	irqchip_check_flag(r, name, "special_mask", p->special_mask);
	irqchip_check_flag(r, name, "auto_eoi", p->auto_eoi);
	irqchip_check_flag(r, name, "rotate_on_auto_eoi", p->rotate_on_auto_eoi);
	irqchip_check_flag(r, name, "special_fully_nested_mode", p->special_fully_nested_mode);
	irqchip_check_flag(r, name, "init4", p->init4);
	if (p->init_state > 3 || p->priority_add > 7 || p->irq_base & 7)
		devstate_fail(r,
			      "%s init_state %u, priority_add %u, irq_base %#x: expected at most "
			      "3, at most 7, a multiple of 8",
			      name, p->init_state, p->priority_add, p->irq_base);
	if (p->elcr_mask != irqchip_elcr_mask[i] || p->elcr & ~p->elcr_mask)
		devstate_fail(r,
			      "%s elcr %#x, elcr_mask %#x: expected the mask %#x and no elcr "
			      "bit outside it",
			      name, p->elcr, p->elcr_mask, irqchip_elcr_mask[i]);
}

static void irqchip_get_ioapic(struct devstate_reader *r, struct kvm_ioapic_state *a)
{
	memset(a, 0, sizeof(*a));
	a->base_address = devstate_get_u64(r, "IOAPIC base_address");
	a->ioregsel = devstate_get_u32(r, "IOAPIC ioregsel");
	a->id = devstate_get_u32(r, "IOAPIC id");
	a->irr = devstate_get_u32(r, "IOAPIC irr");
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++) {
		a->redirtbl[i].bits = devstate_get_u64(r, "IOAPIC redirection entry");
		if (a->redirtbl[i].bits & IRQCHIP_ENTRY_RSVD)
			devstate_fail(r, "IOAPIC pin %d: entry %#llx: reserved bits (17-55) set", i,
				      (unsigned long long)a->redirtbl[i].bits);
	}
	if (a->base_address != IRQCHIP_IOAPIC_BASE || a->ioregsel > 0xff || a->id > 15 ||
	    a->irr & ~IRQCHIP_PINS_MASK)
		devstate_fail(r,
			      "IOAPIC at %#llx, ioregsel %#x, id %u, irr %#x: expected %#llx, a "
			      "byte, at most 15, pins 0-%d",
			      (unsigned long long)a->base_address, a->ioregsel, a->id, a->irr,
			      IRQCHIP_IOAPIC_BASE, KVM_IOAPIC_NUM_PINS - 1);
}

int irqchip_restore(struct irqchip *c, const void *buf, size_t len, char *err, size_t errlen)
{
	struct devstate_reader r;
	struct irqchip n = *c;

	devstate_open(&r, "irqchip", IRQCHIP_STATE_VERSION, buf, len, err, errlen);
	irqchip_get_pic(&r, 0, &n.pic[0]);
	irqchip_get_pic(&r, 1, &n.pic[1]);
	irqchip_get_ioapic(&r, &n.ioapic);
	if (devstate_close(&r))
		return r.ret;
	n.restored = true;
	*c = n;
	return 0;
}

int irqchip_commit(struct irqchip *c, char *err, size_t errlen)
{
	struct kvm_irqchip chip;

	if (!c->restored)
		return 0;
	for (uint32_t i = 0; i < KVM_NR_IRQCHIPS; i++) {
		irqchip_get(c, i, &chip);
		if (ioctl(c->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return err_into(err, errlen, -errno,
					"irqchip: KVM_SET_IRQCHIP (chip %u): %s", i,
					strerror(errno));
	}
	c->restored = false;
	return 0;
}

DEVSTATE_OPS_COMMIT(irqchip_state_ops, "irqchip", struct irqchip, irqchip_save, irqchip_restore,
		    irqchip_commit);

int irqchip_register(struct irqchip *c, struct devstate_table *states)
{
	return devstate_register(states, &irqchip_state_ops, c);
}
