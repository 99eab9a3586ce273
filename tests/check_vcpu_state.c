/* tests/check_vcpu_state.c: a vCPU saved through KVM and restored into a
 * vCPU of another VM is the same vCPU: every part reads back as saved, and
 * the guest goes on from where it was, not from where it started.
 *
 * The guest is four bytes of flat 32-bit code (vcpu_reset_pvh's mode):
 * `inc %eax; out %eax,(%dx); jmp .-4`, so each exit shows its count. Needs
 * /dev/kvm: skips without it (exit 77), fails without it where
 * VMM_REQUIRE_KVM is set (the test VM). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "forkid.h"
#include "machine_state.h"
#include "restore.h"
#include "snapfile.h"
#include "snapshot.h"
#include "testlib.h"
#include "vcpu_state.h"
#include "vm.h"

#define MEM_SIZE 0x10000UL
#define CODE_GPA 0x1000UL
#define PORT	 0x80
#define TSS_GPA	 0xfffbd000UL /* as vm.c: outside RAM, for Intel's real-mode TSS */

static const uint8_t guest_code[] = {0x40, 0xef, 0xeb, 0xfc};

/* MSRs a 64-bit guest kernel writes, with values it could write; the
 * SYSENTER ones 32-bit, as AMD's are (KVM on SVM keeps only those bits). */
static const struct kvm_msr_entry guest_msrs[] = {
    {.index = 0x174, .data = 0x10},		       /* SYSENTER_CS */
    {.index = 0x175, .data = 0xc9004000},	       /* SYSENTER_ESP */
    {.index = 0x176, .data = 0x81a00000},	       /* SYSENTER_EIP */
    {.index = 0x277, .data = 0x0007010600070106},      /* PAT */
    {.index = 0xc0000081, .data = 0x0023001000000000}, /* STAR */
    {.index = 0xc0000082, .data = 0xffffffff81800000}, /* LSTAR */
    {.index = 0xc0000083, .data = 0xffffffff81800100}, /* CSTAR */
    {.index = 0xc0000084, .data = 0x47700},	       /* SFMASK */
    {.index = 0xc0000102, .data = 0xffff888007a00000}, /* KERNEL_GS_BASE */
};

#define NR_GUEST_MSRS (sizeof(guest_msrs) / sizeof(guest_msrs[0]))

struct test_vm {
	struct kvm kvm;
	int fd;
	struct vcpu vcpu;
	uint8_t *mem;
};

static void test_vm_create(struct test_vm *t, bool irqchip)
{
	struct kvm_userspace_memory_region r = {.memory_size = MEM_SIZE};

	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(kvm_open(&t->kvm, "/dev/kvm"), 0);
	t->fd = ioctl(t->kvm.fd, KVM_CREATE_VM, 0);
	ck_assert_int_ge(t->fd, 0);
	if (t->kvm.has_tss_addr)
		ck_assert_int_eq(ioctl(t->fd, KVM_SET_TSS_ADDR, TSS_GPA), 0);
	if (irqchip) /* a LAPIC in the kernel, so that it has state */
		ck_assert_int_eq(ioctl(t->fd, KVM_CREATE_IRQCHIP, 0), 0);
	t->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(t->mem, MAP_FAILED);
	memcpy(t->mem + CODE_GPA, guest_code, sizeof(guest_code));
	r.userspace_addr = (uintptr_t)t->mem;
	ck_assert_int_eq(ioctl(t->fd, KVM_SET_USER_MEMORY_REGION, &r), 0);
	ck_assert_int_eq(vcpu_create(&t->vcpu, &t->kvm, t->fd, 0), 0);
	ck_assert_int_eq(vcpu_set_cpuid(&t->vcpu, &t->kvm, false), 0);
}

static void test_vm_destroy(struct test_vm *t)
{
	vcpu_destroy(&t->vcpu);
	munmap(t->mem, MEM_SIZE);
	close(t->fd);
	kvm_close(&t->kvm);
}

/* The guest at its start, with the MSRs and a LAPIC register of a kernel. */
static void test_vm_boot(struct test_vm *t)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(guest_msrs));
	struct kvm_regs regs;
	struct kvm_lapic_state lapic;

	ck_assert_int_eq(vcpu_reset_pvh(&t->vcpu, CODE_GPA, 0), 0);
	ck_assert_int_eq(ioctl(t->vcpu.fd, KVM_GET_REGS, &regs), 0);
	regs.rdx = PORT;
	regs.rbx = 0xb0b;
	ck_assert_int_eq(ioctl(t->vcpu.fd, KVM_SET_REGS, &regs), 0);
	m->nmsrs = NR_GUEST_MSRS;
	memcpy(m->entries, guest_msrs, sizeof(guest_msrs));
	ck_assert_int_eq(ioctl(t->vcpu.fd, KVM_SET_MSRS, m), (int)NR_GUEST_MSRS);
	free(m);
	ck_assert_int_eq(ioctl(t->vcpu.fd, KVM_GET_LAPIC, &lapic), 0);
	lapic.regs[0x80] = 0x20; /* TPR */
	ck_assert_int_eq(ioctl(t->vcpu.fd, KVM_SET_LAPIC, &lapic), 0);
}

/* One guest exit: the count it wrote to the port. */
static uint32_t test_vm_next_count(struct test_vm *t)
{
	struct kvm_run *r = t->vcpu.run;
	uint32_t v;

	while (ioctl(t->vcpu.fd, KVM_RUN, 0) < 0)
		ck_assert_msg(errno == EINTR, "KVM_RUN: %s", strerror(errno));
	ck_assert_msg(r->exit_reason == KVM_EXIT_IO && r->io.port == PORT && r->io.size == 4 &&
			  r->io.direction == KVM_EXIT_IO_OUT,
		      "exit %u (port %#x): expected an OUT of 4 bytes to %#x", r->exit_reason,
		      r->io.port, PORT);
	memcpy(&v, (uint8_t *)r + r->io.data_offset, sizeof(v));
	return v;
}

static void test_vm_run_to(struct test_vm *t, uint32_t count)
{
	for (uint32_t i = 1; i <= count; i++)
		ck_assert_uint_eq(test_vm_next_count(t), i);
}

static struct test_vm a, b;
static struct vcpu_state *saved, *loaded, *again;

static void setup(void)
{
	saved = calloc(1, sizeof(*saved));
	loaded = calloc(1, sizeof(*loaded));
	again = calloc(1, sizeof(*again));
	test_vm_create(&a, true);
	test_vm_boot(&a);
	test_vm_run_to(&a, 100);
	ck_assert_int_eq(vcpu_settle(&a.vcpu), 0);
	ck_assert_int_eq(vcpu_state_save(&a.vcpu, &a.kvm, saved), 0);
}

static void teardown(void)
{
	test_vm_destroy(&a);
	free(saved);
	free(loaded);
	free(again);
}

/* saved, through bytes, into loaded. */
static void through_bytes(void)
{
	size_t len, len2;
	uint8_t *buf, *buf2;
	char err[256];

	ck_assert_int_eq(vcpu_state_to_bytes(saved, NULL, 0, &len), -ENOSPC);
	buf = malloc(len);
	buf2 = malloc(len);
	ck_assert_int_eq(vcpu_state_to_bytes(saved, buf, len, &len), 0);
	ck_assert_msg(vcpu_state_from_bytes(loaded, buf, len, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(vcpu_state_to_bytes(loaded, buf2, len, &len2), 0);
	ck_assert_mem_eq(buf2, buf, len);
	free(buf);
	free(buf2);
}

START_TEST(vcpu_state_has_every_part_and_the_guests_msrs)
{
	uint64_t v;

	printf("vcpu_state: KVM has SREGS2 %d, XSAVE2 %d (area %u bytes), XCRS %d, events %d, "
	       "MP state %d, debugregs %d; %u MSRs saved; parts %#x\n",
	       a.kvm.has_sregs2, a.kvm.has_xsave2, a.kvm.xsave_size, a.kvm.has_xcrs,
	       a.kvm.has_vcpu_events, a.kvm.has_mp_state, a.kvm.has_debugregs, saved->nr_msrs,
	       saved->parts);
	fflush(stdout); /* Check's child may not return through exit() */
	ck_assert(saved->parts & VCPU_STATE_LAPIC);
	ck_assert_uint_eq(saved->regs.rax, 100);
	ck_assert_uint_eq(saved->regs.rip, CODE_GPA + 2); /* past the OUT: settled */
	for (size_t i = 0; i < NR_GUEST_MSRS; i++) {
		ck_assert_msg(vcpu_state_msr(saved, guest_msrs[i].index, &v) == 0,
			      "MSR %#x not saved", guest_msrs[i].index);
		ck_assert_msg(v == guest_msrs[i].data, "MSR %#x: set %#llx, saved %#llx",
			      guest_msrs[i].index, (unsigned long long)guest_msrs[i].data,
			      (unsigned long long)v);
	}
	ck_assert_int_eq(vcpu_state_msr(saved, 0x10, &v), 0);  /* TSC */
	ck_assert_int_eq(vcpu_state_msr(saved, 0x1a0, &v), 0); /* MISC_ENABLE */
	ck_assert_uint_eq(saved->lapic.regs[0x80], 0x20);
}
END_TEST

/* Every MSR as saved, but the clocks: the TSC has ticked on since, and
 * Hyper-V's vCPU run time (0x40000010) and reference time (0x40000020) are
 * the new vCPU's and VM's, which KVM keeps whatever is written (a guest
 * sees them only with Hyper-V's CPUID, which vcpu_set_cpuid does not give). */
static bool is_clock(uint32_t msr)
{
	return msr == 0x10 || msr == 0x40000010 || msr == 0x40000020;
}

static void assert_same_msrs(const struct vcpu_state *x, const struct vcpu_state *y)
{
	char diff[1024] = "";
	size_t n = 0;

	ck_assert_uint_eq(y->nr_msrs, x->nr_msrs);
	for (uint32_t i = 0; i < x->nr_msrs; i++) {
		ck_assert_uint_eq(y->msrs[i].index, x->msrs[i].index);
		if (x->msrs[i].index == 0x10)
			ck_assert_uint_ge(y->msrs[i].data, x->msrs[i].data);
		else if (!is_clock(x->msrs[i].index) && y->msrs[i].data != x->msrs[i].data &&
			 n < sizeof(diff))
			n += snprintf(diff + n, sizeof(diff) - n, " %#x: %#llx -> %#llx;",
				      x->msrs[i].index, (unsigned long long)x->msrs[i].data,
				      (unsigned long long)y->msrs[i].data);
	}
	ck_assert_msg(!diff[0], "MSRs saved -> restored:%s", diff);
}

#define assert_same_part(x, y, field) ck_assert_mem_eq(&(y)->field, &(x)->field, sizeof((x)->field))

START_TEST(vcpu_state_restored_reads_back_as_saved)
{
	through_bytes();
	test_vm_create(&b, true);
	ck_assert_msg(vcpu_state_restore(&b.vcpu, &b.kvm, loaded) == 0, "%s", last_error());
	ck_assert_int_eq(vcpu_state_save(&b.vcpu, &b.kvm, again), 0);
	ck_assert_uint_eq(again->parts, saved->parts);
	assert_same_part(saved, again, regs);
	assert_same_part(saved, again, sregs);
	assert_same_part(saved, again, sregs2);
	assert_same_part(saved, again, fpu);
	assert_same_part(saved, again, xcrs);
	assert_same_part(saved, again, events);
	assert_same_part(saved, again, mp_state);
	assert_same_part(saved, again, debugregs);
	ck_assert_uint_eq(again->xsave_len, saved->xsave_len);
	ck_assert_mem_eq(again->xsave, saved->xsave, saved->xsave_len);
	ck_assert_mem_eq(again->lapic.regs, saved->lapic.regs, sizeof(saved->lapic.regs));
	assert_same_msrs(saved, again);
	test_vm_destroy(&b);
}
END_TEST

START_TEST(vcpu_state_restored_guest_continues_the_count)
{
	through_bytes();
	test_vm_create(&b, true);
	ck_assert_int_eq(vcpu_state_restore(&b.vcpu, &b.kvm, loaded), 0);
	ck_assert_uint_eq(test_vm_next_count(&b), 101);
	ck_assert_uint_eq(test_vm_next_count(&a), 101); /* the original goes on too */
	for (uint32_t i = 102; i <= 200; i++)
		ck_assert_uint_eq(test_vm_next_count(&b), i);
	test_vm_destroy(&b);
}
END_TEST

START_TEST(vcpu_state_with_a_lapic_is_refused_by_a_vm_without_irqchip)
{
	test_vm_create(&b, false);
	ck_assert_int_eq(vcpu_state_restore(&b.vcpu, &b.kvm, saved), -EINVAL);
	ck_assert_msg(strstr(last_error(), "no in-kernel irqchip"), "message: %s", last_error());
	test_vm_destroy(&b);
}
END_TEST

/* The same refusal through a restore names the snapshot file, the
 * offset of the vCPU's section and what was expected. */
START_TEST(vcpu_state_refused_in_a_restore_names_the_file_and_offset)
{
	static struct vm vm;
	struct machine_state m = {.vcpu = saved, .path = "snap0/snapshot", .vcpu_off = 12345};
	char err[512];

	test_vm_create(&b, false);
	vm.kvm = b.kvm;
	vm.vcpu = b.vcpu;
	ck_assert_int_eq(machine_state_restore_vcpu(&vm, &m, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "snap0/snapshot: offset 12345 (section \"vcpu0\"): ") &&
			  strstr(err, "no in-kernel irqchip") && strstr(err, "expected"),
		      "message: %s", err);
	test_vm_destroy(&b);
}
END_TEST

/* A VM of vm_create_begin's devices around test VM t's vCPU. */
static void machine_vm(struct vm *vm, struct test_vm *t)
{
	ck_assert_int_eq(vm_create_begin(vm, &(struct vm_config){.console_fd = -1}), 0);
	vm->kvm = t->kvm;
	vm->vcpu = t->vcpu;
	vm->mem.size = MEM_SIZE;
}

/* What machine_vm lent it goes back to t (test_vm_destroy frees it). */
static void machine_vm_destroy(struct vm *vm)
{
	vm->kvm = (struct kvm){.fd = -1};
	vm->vcpu = (struct vcpu){.fd = -1, .stats_fd = -1};
	vm->mem.size = 0;
	vm_destroy(vm);
}

static void assert_same_machine(const struct machine_state *x, const struct machine_state *y)
{
	ck_assert_uint_eq(y->mem_bytes, x->mem_bytes);
	ck_assert_uint_eq(y->tsc_hz, x->tsc_hz);
	ck_assert_int_eq(y->machine, x->machine);
	ck_assert_uint_eq(y->devices_len, x->devices_len);
	ck_assert_mem_eq(y->devices, x->devices, x->devices_len);
	ck_assert_uint_eq(y->vcpu->parts, x->vcpu->parts);
	assert_same_part(x->vcpu, y->vcpu, regs);
	assert_same_part(x->vcpu, y->vcpu, sregs);
	assert_same_part(x->vcpu, y->vcpu, lapic);
	assert_same_msrs(x->vcpu, y->vcpu);
}

/* One machine value serves a fork (kept in memory) and a snapshot (its
 * sections in the file): saved from one VM, written and read back, then
 * restored into another VM and saved again, it is the same machine. */
START_TEST(machine_state_round_trips_through_a_file_into_another_vm)
{
	static struct vm va, vb;
	struct machine_state m = {0}, f = {0}, back = {0};
	char dir[] = "/tmp/check_machine.XXXXXX", snap[64], file[80], err[512];
	struct snap_writer *w;
	struct snap_reader *r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(snap, sizeof(snap), "%s/snap", dir);
	machine_vm(&va, &a);
	forkid_set(&va.forkid, 1, 2);
	ck_assert_msg(machine_state_save(&va, &m, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(snap_writer_open(&w, snap, MEM_SIZE, err, sizeof(err)), 0);
	ck_assert_msg(snapshot_write_machine(w, &m, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(snap_writer_commit(w, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(snap_reader_open(&r, snap, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(snapshot_read_machine(r, &f, err, sizeof(err)) == 0, "%s", err);
	assert_same_machine(&m, &f);
	test_vm_create(&b, true);
	machine_vm(&vb, &b);
	ck_assert_msg(machine_state_restore_devices(&vb, &f, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(machine_state_restore_vcpu(&vb, &f, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(forkid_value(&vb.forkid), 0x00010002);
	ck_assert_msg(machine_state_save(&vb, &back, err, sizeof(err)) == 0, "%s", err);
	assert_same_machine(&m, &back);
	machine_state_free(&m);
	machine_state_free(&f);
	machine_state_free(&back);
	snap_reader_close(r);
	machine_vm_destroy(&va);
	machine_vm_destroy(&vb);
	test_vm_destroy(&b);
	snprintf(file, sizeof(file), "%s/snapshot", snap);
	ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(rmdir(snap), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *vcpu_state_suite(void)
{
	Suite *s = suite_create("vcpu_state");
	TCase *tc = tcase_create("through KVM");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, vcpu_state_has_every_part_and_the_guests_msrs);
	tcase_add_test(tc, vcpu_state_restored_reads_back_as_saved);
	tcase_add_test(tc, vcpu_state_restored_guest_continues_the_count);
	tcase_add_test(tc, vcpu_state_with_a_lapic_is_refused_by_a_vm_without_irqchip);
	tcase_add_test(tc, vcpu_state_refused_in_a_restore_names_the_file_and_offset);
	tcase_add_test(tc, machine_state_round_trips_through_a_file_into_another_vm);
	tcase_set_timeout(tc, 120); /* TCG under the test VM: slow exits */
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *require = getenv("VMM_REQUIRE_KVM");
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0 && require && *require) {
		printf("FAIL: /dev/kvm cannot be opened (%s), and VMM_REQUIRE_KVM is set\n",
		       strerror(errno));
		return EXIT_FAILURE;
	}
	if (fd < 0) {
		printf("SKIP: /dev/kvm cannot be opened here (%s); this test runs in the test VM "
		       "(scripts/testvm.sh)\n",
		       strerror(errno));
		return TESTLIB_SKIP;
	}
	close(fd);
	return testlib_run(vcpu_state_suite());
}
