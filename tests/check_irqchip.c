/* tests/check_irqchip.c: the state of a Linux machine's devices that live
 * in KVM (the PICs and IOAPIC, the PIT, kvm-clock) and of its ACPI PM and
 * reset ports: each saves as its own versioned section and restores into
 * a fresh device to the same bytes, a state no such chip holds is refused
 * by name, and the ports do what the guest asks (power off, reset). With
 * /dev/kvm, the in-kernel chips' state goes through KVM and back. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "acpi.h"
#include "acpi_pm.h"
#include "irqchip.h"
#include "kvmclock.h"
#include "pit.h"
#include "reset.h"
#include "testlib.h"

/* A PIC pair and IOAPIC as Linux leaves them in virtual-wire mode. */
static void irqchip_fixture(struct irqchip *c)
{
	irqchip_init(c);
	c->pic[0] = (struct kvm_pic_state){.irr = 0x10,
					   .imr = 0xec,
					   .irq_base = 0x30,
					   .init_state = 0,
					   .elcr = 0x00,
					   .elcr_mask = 0xf8,
					   .init4 = 1};
	c->pic[1] = (struct kvm_pic_state){
	    .imr = 0xff, .irq_base = 0x38, .elcr = 0x02, .elcr_mask = 0xde, .init4 = 1};
	c->ioapic.base_address = IRQCHIP_IOAPIC_BASE;
	c->ioapic.id = 0;
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		c->ioapic.redirtbl[i].bits = 1ULL << 16 | (0x20 + i); /* masked, vector */
}

static size_t save(int (*fn)(const void *, void *, size_t, size_t *), const void *dev, uint8_t *buf,
		   size_t len)
{
	size_t used = 0;

	ck_assert_int_eq(fn(dev, buf, len, &used), 0);
	return used;
}

static int irqchip_save_v(const void *d, void *b, size_t l, size_t *u)
{
	return irqchip_save(d, b, l, u);
}

static int pit_save_v(const void *d, void *b, size_t l, size_t *u)
{
	return pit_save(d, b, l, u);
}

static int kvmclock_save_v(const void *d, void *b, size_t l, size_t *u)
{
	return kvmclock_save(d, b, l, u);
}

static int acpi_pm_save_v(const void *d, void *b, size_t l, size_t *u)
{
	return acpi_pm_save(d, b, l, u);
}

START_TEST(irqchip_state_round_trip_is_the_same_bytes)
{
	struct irqchip a, b;
	uint8_t s1[512], s2[512];
	size_t n1, n2;
	char err[256];

	irqchip_fixture(&a);
	n1 = save(irqchip_save_v, &a, s1, sizeof(s1));
	ck_assert_uint_eq(n1, DEVSTATE_HEADER + 2 * 16 + 8 + 3 * 4 + 24 * 8);
	irqchip_init(&b);
	ck_assert_msg(irqchip_restore(&b, s1, n1, err, sizeof(err)) == 0, "%s", err);
	ck_assert(b.restored);
	n2 = save(irqchip_save_v, &b, s2, sizeof(s2));
	ck_assert_uint_eq(n2, n1);
	ck_assert_mem_eq(s1, s2, n1);
	ck_assert_mem_eq(&a.ioapic, &b.ioapic, sizeof(a.ioapic));
}
END_TEST

static void assert_irqchip_refused(void (*breaks)(struct irqchip *), const char *words)
{
	struct irqchip a, b;
	uint8_t st[512];
	size_t n;
	char err[256] = "";

	irqchip_fixture(&a);
	breaks(&a);
	n = save(irqchip_save_v, &a, st, sizeof(st));
	irqchip_init(&b);
	ck_assert_int_eq(irqchip_restore(&b, st, n, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "irqchip state: ") == err && strstr(err, words),
		      "'%s' lacks '%s'", err, words);
	ck_assert(!b.restored);
}

static void pic_flag(struct irqchip *c)
{
	c->pic[0].auto_eoi = 2;
}

static void pic_base(struct irqchip *c)
{
	c->pic[1].irq_base = 0x31;
}

static void pic_elcr(struct irqchip *c)
{
	c->pic[0].elcr = 0x01; /* IRQ 0 can never be level-triggered */
}

static void ioapic_base(struct irqchip *c)
{
	c->ioapic.base_address = 0xfee00000;
}

static void ioapic_entry(struct irqchip *c)
{
	c->ioapic.redirtbl[5].bits |= 1ULL << 40;
}

START_TEST(irqchip_refuses_what_no_pic_or_ioapic_holds)
{
	assert_irqchip_refused(pic_flag, "PIC master auto_eoi 2: expected 0 or 1");
	assert_irqchip_refused(pic_base, "irq_base 0x31");
	assert_irqchip_refused(pic_elcr, "PIC master elcr 0x1");
	assert_irqchip_refused(ioapic_base, "IOAPIC at 0xfee00000");
	assert_irqchip_refused(ioapic_entry, "IOAPIC pin 5");
}
END_TEST

static void pit_fixture(struct pit *p)
{
	pit_init(p);
	for (int i = 0; i < 3; i++)
		p->state.channels[i] = (struct kvm_pit_channel_state){
		    .count = 0x10000, .rw_mode = 3, .mode = i == 1 ? 0xff : 2, .gate = i != 2};
	p->state.channels[0].count = 11932; /* 100 Hz */
}

START_TEST(pit_state_round_trip_is_the_same_bytes)
{
	struct pit a, b;
	uint8_t s1[256], s2[256];
	size_t n1, n2;
	char err[256];

	pit_fixture(&a);
	n1 = save(pit_save_v, &a, s1, sizeof(s1));
	ck_assert_uint_eq(n1, DEVSTATE_HEADER + 3 * (4 + 4 + 10) + 4);
	pit_init(&b);
	ck_assert_msg(pit_restore(&b, s1, n1, err, sizeof(err)) == 0, "%s", err);
	n2 = save(pit_save_v, &b, s2, sizeof(s2));
	ck_assert_mem_eq(s1, s2, n1);
	ck_assert_uint_eq(n2, n1);
	ck_assert_uint_eq(b.state.channels[0].count, 11932);
	ck_assert_uint_eq(b.state.channels[1].mode, 0xff); /* never programmed: KVM's */
}
END_TEST

START_TEST(pit_refuses_a_mode_or_count_no_8254_has)
{
	struct pit a, b;
	uint8_t st[256];
	size_t n;
	char err[256] = "";

	pit_fixture(&a);
	a.state.channels[2].mode = 6;
	n = save(pit_save_v, &a, st, sizeof(st));
	pit_init(&b);
	ck_assert_int_eq(pit_restore(&b, st, n, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(
	    strstr(err, "pit state: channel 2: count 0x10000, latched_count 0, mode 6"));
	pit_fixture(&a);
	a.state.flags = 4;
	n = save(pit_save_v, &a, st, sizeof(st));
	ck_assert_int_eq(pit_restore(&b, st, n, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "flags 0x4"));
	ck_assert(!b.restored);
}
END_TEST

START_TEST(kvmclock_state_round_trip_keeps_the_clock)
{
	struct kvmclock a, b;
	uint8_t s1[64], s2[64];
	size_t n1;
	char err[256];

	kvmclock_init(&a);
	a.ns = 123456789012ULL;
	n1 = save(kvmclock_save_v, &a, s1, sizeof(s1));
	ck_assert_uint_eq(n1, DEVSTATE_HEADER + 8);
	kvmclock_init(&b);
	ck_assert_msg(kvmclock_restore(&b, s1, n1, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(b.ns, a.ns);
	ck_assert_uint_eq(save(kvmclock_save_v, &b, s2, sizeof(s2)), n1);
	ck_assert_mem_eq(s1, s2, n1);
	s1[0] = 2; /* another version */
	ck_assert_int_eq(kvmclock_restore(&b, s1, n1, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "kvmclock state: version 2: expected 1"));
}
END_TEST

struct power_probe {
	int off, resets;
	const char *how;
};

static void probe_off(void *arg)
{
	((struct power_probe *)arg)->off++;
}

static void probe_reset(void *arg, const char *how)
{
	((struct power_probe *)arg)->resets++;
	((struct power_probe *)arg)->how = how;
}

static void pm_out(struct ioport_bus *bus, uint16_t port, uint32_t v, uint8_t size)
{
	ck_assert(
	    ioport_dispatch(bus, &(struct ioport_access){port, true, size, 1, (uint8_t *)&v}));
}

static uint32_t pm_in(struct ioport_bus *bus, uint16_t port, uint8_t size)
{
	uint32_t v = 0;

	ck_assert(
	    ioport_dispatch(bus, &(struct ioport_access){port, false, size, 1, (uint8_t *)&v}));
	return v;
}

START_TEST(acpi_pm_powers_off_on_s5_only_and_keeps_its_registers)
{
	struct ioport_bus bus = {0};
	struct devstate_table t = {0};
	struct power_probe p = {0};
	struct acpi_pm pm, fresh;
	uint8_t s1[64], s2[64];
	size_t n;
	char err[256];

	acpi_pm_init(&pm, probe_off, &p);
	ck_assert_int_eq(acpi_pm_register(&pm, &bus, &t), 0);
	ck_assert_uint_eq(pm_in(&bus, ACPI_PM1A_CNT_PORT, 2) & 1, 1); /* SCI_EN: ACPI mode */
	pm_out(&bus, ACPI_PM1A_EVT_PORT + 2, 0x0120, 2);	      /* enable PWRBTN, GBL */
	ck_assert_uint_eq(pm_in(&bus, ACPI_PM1A_EVT_PORT, 4), 0x0120u << 16);
	pm_out(&bus, ACPI_PM1A_CNT_PORT, 1 << 10 | 1 << 13, 2); /* S1: not here */
	ck_assert_int_eq(p.off, 0);
	n = save(acpi_pm_save_v, &pm, s1, sizeof(s1));
	acpi_pm_init(&fresh, NULL, NULL);
	ck_assert_msg(acpi_pm_restore(&fresh, s1, n, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(save(acpi_pm_save_v, &fresh, s2, sizeof(s2)), n);
	ck_assert_mem_eq(s1, s2, n);
	pm_out(&bus, ACPI_PM1A_CNT_PORT, ACPI_S5_TYP << 10, 2); /* the type alone */
	ck_assert_int_eq(p.off, 0);
	pm_out(&bus, ACPI_PM1A_CNT_PORT, ACPI_S5_TYP << 10 | 1 << 13, 2);
	ck_assert_int_eq(p.off, 1);
	s1[DEVSTATE_HEADER + 8] |= 0x20; /* control: SLP_EN (bit 13) kept */
	s1[DEVSTATE_HEADER + 9] |= 0x20;
	ck_assert_int_eq(acpi_pm_restore(&fresh, s1, n, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "acpi-pm state: control"));
}
END_TEST

START_TEST(reset_ports_reset_and_nothing_else)
{
	struct ioport_bus bus = {0};
	struct devstate_table t = {0};
	struct power_probe p = {0};
	struct reset_dev r;

	reset_init(&r, probe_reset, &p);
	ck_assert_int_eq(reset_register(&r, &bus, &t), 0);
	ck_assert_uint_eq(pm_in(&bus, RESET_KBD_PORT, 1), 0); /* buffers empty */
	pm_out(&bus, RESET_KBD_PORT, 0xd1, 1);
	pm_out(&bus, ACPI_RESET_PORT, 0x02, 1);
	ck_assert_int_eq(p.resets, 0);
	pm_out(&bus, RESET_KBD_PORT, 0xfe, 1);
	ck_assert_int_eq(p.resets, 1);
	ck_assert_ptr_nonnull(strstr(p.how, "port 0x64"));
	pm_out(&bus, ACPI_RESET_PORT, ACPI_RESET_VALUE, 1);
	ck_assert_int_eq(p.resets, 2);
	ck_assert_ptr_nonnull(strstr(p.how, "port 0xcf9"));
}
END_TEST

/* With /dev/kvm: a VM's in-kernel chips, saved through KVM, restored into
 * another VM's, read back the same. */
START_TEST(irqchip_and_pit_state_goes_through_kvm)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm1, vm2;
	struct irqchip a, b;
	struct pit pa, pb;
	uint8_t s1[512], s2[512], p1[256], p2[256];
	size_t n1, n2, m1, m2;
	char err[256];

	if (kvm < 0) {
		/* In the test VM a KVM that cannot be opened is a failure. */
		ck_assert_msg(!getenv("VMM_REQUIRE_KVM"), "/dev/kvm cannot be opened");
		printf("SKIP: /dev/kvm cannot be opened: the chips' state not put through KVM\n");
		return;
	}
	vm1 = ioctl(kvm, KVM_CREATE_VM, 0);
	vm2 = ioctl(kvm, KVM_CREATE_VM, 0);
	ck_assert(vm1 >= 0 && vm2 >= 0);
	irqchip_init(&a);
	irqchip_init(&b);
	pit_init(&pa);
	pit_init(&pb);
	ck_assert_int_eq(irqchip_create(&a, vm1), 0);
	ck_assert_int_eq(pit_create(&pa, vm1), 0);
	ck_assert_int_eq(irqchip_set_line(&a, 4, true), 0); /* something to carry */
	ck_assert_int_eq(irqchip_create(&b, vm2), 0);
	ck_assert_int_eq(pit_create(&pb, vm2), 0);
	n1 = save(irqchip_save_v, &a, s1, sizeof(s1));
	m1 = save(pit_save_v, &pa, p1, sizeof(p1));
	ck_assert_msg(irqchip_restore(&b, s1, n1, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(pit_restore(&pb, p1, m1, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(irqchip_commit(&b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(pit_commit(&pb, err, sizeof(err)) == 0, "%s", err);
	n2 = save(irqchip_save_v, &b, s2, sizeof(s2)); /* from KVM now */
	m2 = save(pit_save_v, &pb, p2, sizeof(p2));
	ck_assert_uint_eq(n2, n1);
	ck_assert_mem_eq(s1, s2, n1);
	ck_assert_uint_eq(m2, m1);
	close(vm1);
	close(vm2);
	close(kvm);
}
END_TEST

static Suite *irqchip_suite(void)
{
	Suite *s = suite_create("linux-devices");
	TCase *tc = tcase_create("state");
	TCase *kvm = tcase_create("kvm");

	tcase_add_test(tc, irqchip_state_round_trip_is_the_same_bytes);
	tcase_add_test(tc, irqchip_refuses_what_no_pic_or_ioapic_holds);
	tcase_add_test(tc, pit_state_round_trip_is_the_same_bytes);
	tcase_add_test(tc, pit_refuses_a_mode_or_count_no_8254_has);
	tcase_add_test(tc, kvmclock_state_round_trip_keeps_the_clock);
	tcase_add_test(tc, acpi_pm_powers_off_on_s5_only_and_keeps_its_registers);
	tcase_add_test(tc, reset_ports_reset_and_nothing_else);
	suite_add_tcase(s, tc);
	tcase_add_test(kvm, irqchip_and_pit_state_goes_through_kvm);
	suite_add_tcase(s, kvm);
	return s;
}

int main(void)
{
	return testlib_run(irqchip_suite());
}
