/* tests/check_restore.c: a restore reads the machine's sections and
 * refuses each wrong one by name, puts every data page where it was (or
 * leaves it to the source), and names a damaged page's offset and GPA.
 * No KVM: the vCPU's state is KVM's to check. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "restore.h"
#include "snap_fixture.h"
#include "snapshot.h"
#include "testlib.h"
#include "vm.h"

static char base[96], dir[128], file[160];
static char err[1024];
static struct snap_reader *r;
static struct machine_state m;

static void setup(void)
{
	snprintf(base, sizeof(base), "%s/check_restore.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/snap0", base);
	snprintf(file, sizeof(file), "%s/snap0/snapshot", base);
	err[0] = 0;
	r = NULL;
	m = (struct machine_state){0};
}

static void teardown(void)
{
	char cmd[160];

	machine_state_free(&m);
	snap_reader_close(r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	ck_assert_int_eq(system(cmd), 0);
}

static void assert_error(const char *words)
{
	ck_assert_msg(strstr(err, words), "error \"%s\" lacks \"%s\"", err, words);
}

/* Write the fixture f and open it. */
static void open_fixture(const struct snap_fixture *f)
{
	ck_assert_msg(snap_fixture_write(dir, f, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(snap_reader_open(&r, dir, err, sizeof(err)) == 0, "%s", err);
}

static void assert_page(struct guest_ram *mem, uint64_t gpa, bool zero)
{
	static uint8_t page[SNAP_PAGE];

	ck_assert_int_eq(guest_ram_read(mem, gpa, page, sizeof(page)), 0);
	for (unsigned k = 0; k < SNAP_PAGE; k++)
		ck_assert_uint_eq(page[k], zero ? 0 : snap_fixture_byte(gpa, k));
}

START_TEST(read_machine_accepts_the_fixture)
{
	open_fixture(&(struct snap_fixture){.tsc_hz = 2500000000ULL});
	ck_assert_msg(snapshot_read_machine(r, &m, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(m.mem_bytes, SNAP_FIXTURE_MEM);
	ck_assert_uint_eq(m.tsc_hz, 2500000000ULL);
	ck_assert_ptr_nonnull(m.vcpu);
	ck_assert_uint_gt(m.devices_len, 0);
}
END_TEST

START_TEST(read_machine_names_a_missing_section)
{
	static const char *const names[] = {SNAPSHOT_DEV_VM, SNAPSHOT_DEV_VCPU,
					    SNAPSHOT_DEV_DEVICES};
	char want[64];

	for (unsigned i = 0; i < 3; i++) {
		snprintf(dir, sizeof(dir), "%s/omit%u", base, i);
		open_fixture(&(struct snap_fixture){.omit = names[i]});
		ck_assert_int_eq(snapshot_read_machine(r, &m, err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "no section \"%s\"", names[i]);
		assert_error(want);
		assert_error(snap_reader_path(r));
		machine_state_free(&m);
		snap_reader_close(r);
		r = NULL;
	}
}
END_TEST

START_TEST(read_machine_refuses_another_vm_version)
{
	open_fixture(&(struct snap_fixture){.vm_version = SNAPSHOT_VM_VERSION + 1});
	ck_assert_int_eq(snapshot_read_machine(r, &m, err, sizeof(err)), -EINVAL);
	assert_error("section \"vm\"'s header): version 3, expected 1 or 2");
	assert_error(snap_reader_path(r));
}
END_TEST

START_TEST(read_machine_refuses_a_vm_size_other_than_the_file)
{
	open_fixture(&(struct snap_fixture){.vm_mem_bytes = 2 * SNAP_FIXTURE_MEM});
	ck_assert_int_eq(snapshot_read_machine(r, &m, err, sizeof(err)), -EINVAL);
	assert_error("mem_bytes 16777216");
	assert_error("holds 8388608");
}
END_TEST

START_TEST(devices_restore_onto_a_new_vm)
{
	static struct vm vm;

	open_fixture(&(struct snap_fixture){0});
	ck_assert_int_eq(snapshot_read_machine(r, &m, err, sizeof(err)), 0);
	ck_assert_int_eq(vm_create_begin(&vm, &(struct vm_config){.console_fd = -1}), 0);
	ck_assert_msg(machine_state_restore_devices(&vm, &m, err, sizeof(err)) == 0, "%s", err);
	vm_destroy(&vm);
}
END_TEST

/* Guest RAM on the kernel's manager: the eager path is guest_ram_write
 * whatever the manager, and this one needs no userfaultfd. */
static void init_ram(struct guest_ram *mem)
{
	ck_assert_int_eq(guest_ram_init(mem,
					&(struct guest_ram_params){
					    .size = SNAP_FIXTURE_MEM,
					    .manager = GUEST_RAM_MANAGER_KERNEL,
					    .handler_cpu = -1,
					}),
			 0);
}

/* A device's bytes refused: the file, the offset and the section. */
START_TEST(devices_restore_refusal_names_the_file_and_offset)
{
	static struct vm vm;
	static uint8_t bytes[4096];
	char want[300];
	uint64_t off;

	open_fixture(&(struct snap_fixture){0});
	ck_assert_int_eq(snapshot_read_machine(r, &m, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_reader_device_offset(r, SNAPSHOT_DEV_DEVICES, &off), 0);
	ck_assert_uint_eq(m.devices_off, off);
	ck_assert_uint_le(m.devices_len, sizeof(bytes));
	memcpy(bytes, m.devices, m.devices_len);
	bytes[m.devices_len - 1] ^= 0xff; /* the last device's last byte */
	m.devices = bytes;
	ck_assert_int_eq(vm_create_begin(&vm, &(struct vm_config){.console_fd = -1}), 0);
	ck_assert_int_eq(machine_state_restore_devices(&vm, &m, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: offset ", snap_reader_path(r));
	assert_error(want);
	assert_error("(section \"devices\", byte ");
	assert_error("expected");
	vm_destroy(&vm);
}
END_TEST

START_TEST(memory_hash_of_another_version_is_refused)
{
	struct guest_ram mem;

	open_fixture(&(struct snap_fixture){.hash_version = SNAPSHOT_MEMORY_HASH_VERSION + 1});
	init_ram(&mem);
	ck_assert_int_eq(snapshot_check_memory_hash(&mem, r, err, sizeof(err)), -EINVAL);
	assert_error(snap_reader_path(r));
	assert_error("section \"memory-hash\"'s header): version 2, expected 1");
	guest_ram_destroy(&mem);
}
END_TEST

START_TEST(devices_restore_refuses_a_missing_device)
{
	static struct vm vm;

	open_fixture(&(struct snap_fixture){0});
	ck_assert_int_eq(snapshot_read_machine(r, &m, err, sizeof(err)), 0);
	m.devices_len = 0;
	ck_assert_int_eq(vm_create_begin(&vm, &(struct vm_config){.console_fd = -1}), 0);
	ck_assert_int_eq(machine_state_restore_devices(&vm, &m, err, sizeof(err)), -EINVAL);
	assert_error("section \"devices\"");
	assert_error("missing");
	vm_destroy(&vm);
}
END_TEST

START_TEST(eager_load_puts_every_page_back)
{
	struct guest_ram mem;

	open_fixture(&(struct snap_fixture){0});
	ck_assert_uint_eq(snapshot_data_pages(r), 2);
	init_ram(&mem);
	ck_assert_msg(snapshot_load_eager(&mem, r, err, sizeof(err)) == 0, "%s", err);
	assert_page(&mem, SNAP_FIXTURE_GPA_A, false);
	assert_page(&mem, SNAP_FIXTURE_GPA_ZERO, true);
	assert_page(&mem, SNAP_FIXTURE_GPA_B, false);
	assert_page(&mem, 0, true);
	guest_ram_destroy(&mem);
}
END_TEST

START_TEST(eager_load_names_a_damaged_page)
{
	struct guest_ram mem;
	int fd;

	open_fixture(&(struct snap_fixture){0});
	/* The second data block holds GPA_B's page: pages are written in GPA order. */
	fd = open(file, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "\xff", 1, 2 * SNAP_PAGE + 100), 1);
	close(fd);
	init_ram(&mem);
	ck_assert_int_eq(snapshot_load_eager(&mem, r, err, sizeof(err)), -EBADMSG);
	assert_error(file);
	assert_error("offset 8192");
	assert_error("GPA 0x100000");
	guest_ram_destroy(&mem);
}
END_TEST

START_TEST(source_load_reads_the_page_of_an_index)
{
	static uint8_t page[SNAP_PAGE];
	int64_t i;

	open_fixture(&(struct snap_fixture){0});
	i = snap_reader_find(r, SNAP_FIXTURE_GPA_B);
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(snapshot_source_ops.load(r, i, page, err, sizeof(err)), 0);
	for (unsigned k = 0; k < SNAP_PAGE; k++)
		ck_assert_uint_eq(page[k], snap_fixture_byte(SNAP_FIXTURE_GPA_B, k));
}
END_TEST

START_TEST(lazy_restore_needs_the_vmm_manager)
{
	struct guest_ram mem;

	open_fixture(&(struct snap_fixture){0});
	init_ram(&mem);
	ck_assert_int_eq(snapshot_set_lazy(&mem, r, NULL, err, sizeof(err)), -EINVAL);
	assert_error("vmm memory manager");
	guest_ram_destroy(&mem);
}
END_TEST

static Suite *restore_suite(void)
{
	Suite *s = suite_create("restore");
	TCase *t = tcase_create("restore");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, read_machine_accepts_the_fixture);
	tcase_add_test(t, read_machine_names_a_missing_section);
	tcase_add_test(t, read_machine_refuses_another_vm_version);
	tcase_add_test(t, read_machine_refuses_a_vm_size_other_than_the_file);
	tcase_add_test(t, devices_restore_onto_a_new_vm);
	tcase_add_test(t, devices_restore_refuses_a_missing_device);
	tcase_add_test(t, devices_restore_refusal_names_the_file_and_offset);
	tcase_add_test(t, memory_hash_of_another_version_is_refused);
	tcase_add_test(t, eager_load_puts_every_page_back);
	tcase_add_test(t, eager_load_names_a_damaged_page);
	tcase_add_test(t, source_load_reads_the_page_of_an_index);
	tcase_add_test(t, lazy_restore_needs_the_vmm_manager);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return testlib_run(restore_suite());
}
