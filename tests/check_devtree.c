/* tests/check_devtree.c: the device tree reads back with libfdt as the
 * guest will read it. */
#include <check.h>
#include <stdio.h>
#include <errno.h>
#include <libfdt.h>
#include <string.h>

#include "devtree.h"
#include "guest_ram.h"
#include "testlib.h"
#include "vmm_abi.h"

static char buf[64 << 10];

static void build(uint64_t mem, const char *bootargs, uint64_t tsc_hz, bool services)
{
	struct guest_ram_region r[GUEST_RAM_MAX_REGIONS];
	struct devtree_params p = {.regions = r,
				   .nr_regions = guest_ram_layout(mem, r),
				   .bootargs = bootargs,
				   .tsc_hz = tsc_hz,
				   .hcall_services = services};

	ck_assert_int_eq(devtree_build(buf, sizeof(buf), &p), 0);
	ck_assert_int_eq(fdt_check_header(buf), 0);
}

static uint64_t read_u64(const void *p)
{
	fdt64_t v;

	memcpy(&v, p, sizeof(v));
	return fdt64_to_cpu(v);
}

START_TEST(devtree_has_bootargs)
{
	int node, len;
	const char *s;

	build(64 << 20, "workload=random size=8M", 0, true);
	node = fdt_path_offset(buf, "/chosen");
	ck_assert_int_ge(node, 0);
	s = fdt_getprop(buf, node, "bootargs", &len);
	ck_assert_str_eq(s, "workload=random size=8M");
}
END_TEST

START_TEST(devtree_memory_single_region)
{
	int node, len;
	const uint8_t *reg;

	build(64 << 20, "", 0, true);
	node = fdt_path_offset(buf, "/memory@0");
	ck_assert_int_ge(node, 0);
	ck_assert_str_eq(fdt_getprop(buf, node, "device_type", NULL), "memory");
	reg = fdt_getprop(buf, node, "reg", &len);
	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(read_u64(reg), 0);
	ck_assert_uint_eq(read_u64(reg + 8), 64 << 20);
}
END_TEST

START_TEST(devtree_memory_split_above_low_ram)
{
	int node, len;
	const uint8_t *reg;

	build(8ULL << 30, "", 0, true);
	reg = fdt_getprop(buf, fdt_path_offset(buf, "/memory@0"), "reg", &len);
	ck_assert_int_eq(len, 32);
	ck_assert_uint_eq(read_u64(reg + 8), VMM_LOW_RAM_END);
	ck_assert_uint_eq(read_u64(reg + 16), VMM_HIGH_RAM_BASE);
	ck_assert_uint_eq(read_u64(reg + 24), (8ULL << 30) - VMM_LOW_RAM_END);
	(void)node;
}
END_TEST

START_TEST(devtree_cpus_carry_tsc_frequency)
{
	int node, len;
	const void *p;

	build(64 << 20, "", 2400000000ULL, true);
	node = fdt_path_offset(buf, "/cpus");
	ck_assert_int_ge(node, 0);
	p = fdt_getprop(buf, node, VMM_DT_TSC_FREQ, &len);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(read_u64(p), 2400000000ULL);
	ck_assert_int_ge(fdt_path_offset(buf, "/cpus/cpu@0"), 0);
}
END_TEST

/* One cpu node per vCPU, numbered from 0: nothing assumes a single one. */
START_TEST(devtree_has_a_cpu_node_per_vcpu)
{
	struct guest_ram_region r[GUEST_RAM_MAX_REGIONS];
	struct devtree_params p = {.regions = r,
				   .nr_regions = guest_ram_layout(64 << 20, r),
				   .bootargs = "",
				   .nr_cpus = 3};
	const fdt32_t *reg;

	ck_assert_int_eq(devtree_build(buf, sizeof(buf), &p), 0);
	for (int i = 0; i < 3; i++) {
		char path[32];
		int node, len;

		snprintf(path, sizeof(path), "/cpus/cpu@%d", i);
		node = fdt_path_offset(buf, path);
		ck_assert_int_ge(node, 0);
		reg = fdt_getprop(buf, node, "reg", &len);
		ck_assert_int_eq(fdt32_to_cpu(*reg), i);
	}
	ck_assert_int_lt(fdt_path_offset(buf, "/cpus/cpu@3"), 0);
}
END_TEST

START_TEST(devtree_vmm_node_advertises_services)
{
	int node = -1;

	build(64 << 20, "", 0, true);
	node = fdt_path_offset(buf, VMM_DT_NODE);
	ck_assert_int_ge(node, 0);
	ck_assert_int_eq(fdt_node_check_compatible(buf, node, VMM_DT_COMPATIBLE), 0);
	ck_assert_uint_eq(fdt32_ld(fdt_getprop(buf, node, VMM_DT_SERIAL_PORT, NULL)),
			  VMM_PORT_SERIAL);
	ck_assert_uint_eq(fdt32_ld(fdt_getprop(buf, node, VMM_DT_EXIT_PORT, NULL)), VMM_PORT_EXIT);
	ck_assert_uint_eq(fdt32_ld(fdt_getprop(buf, node, VMM_DT_HCALL_PORT, NULL)),
			  VMM_PORT_HCALL);
	ck_assert_uint_eq(fdt32_ld(fdt_getprop(buf, node, VMM_DT_FORKID_PORT, NULL)),
			  VMM_PORT_FORKID);
	ck_assert_int_ge(fdt_stringlist_search(buf, node, VMM_DT_FEATURES, VMM_FEAT_LINE_CONSOLE),
			 0);
	ck_assert_int_ge(fdt_stringlist_search(buf, node, VMM_DT_FEATURES, VMM_FEAT_PAGE_DISCARD),
			 0);
	ck_assert_int_ge(fdt_stringlist_search(buf, node, VMM_DT_FEATURES, VMM_FEAT_PAGE_COPY), 0);
}
END_TEST

START_TEST(devtree_without_services_has_no_hcall_port)
{
	int node;

	build(64 << 20, "", 0, false);
	node = fdt_path_offset(buf, VMM_DT_NODE);
	ck_assert_int_ge(node, 0);
	ck_assert_ptr_null(fdt_getprop(buf, node, VMM_DT_HCALL_PORT, NULL));
	ck_assert_ptr_null(fdt_getprop(buf, node, VMM_DT_FORKID_PORT, NULL));
	ck_assert_ptr_null(fdt_getprop(buf, node, VMM_DT_FEATURES, NULL));
}
END_TEST

/* Every size too small for the tree is -ENOSPC, never another error, and
 * every size from the first that fits on works. */
START_TEST(devtree_too_small_buffer_is_enospc)
{
	static char small[4097];
	struct guest_ram_region r[GUEST_RAM_MAX_REGIONS];
	struct devtree_params p = {.regions = r,
				   .nr_regions = guest_ram_layout(64 << 20, r),
				   .bootargs = "workload=touch size=512K",
				   .tsc_hz = 1000000000,
				   .hcall_services = true};
	size_t fits = 0;

	for (size_t size = 0; size < sizeof(small); size++) {
		int ret = devtree_build(small, size, &p);

		if (fits) {
			ck_assert_msg(ret == 0, "%zu bytes: %d, but %zu bytes fit", size, ret,
				      fits);
			continue;
		}
		ck_assert_msg(ret == 0 || ret == -ENOSPC, "%zu bytes: %d, expected 0 or -ENOSPC",
			      size, ret);
		if (!ret)
			fits = size;
	}
	ck_assert_msg(fits, "the tree did not fit in %zu bytes", sizeof(small) - 1);
	ck_assert_int_eq(fdt_check_header(small), 0);
}
END_TEST

/* An initrd is named in /chosen as Linux names it, and reserved. */
START_TEST(devtree_names_and_reserves_the_initrd)
{
	struct guest_ram_region r[GUEST_RAM_MAX_REGIONS];
	struct devtree_params p = {.regions = r,
				   .nr_regions = guest_ram_layout(64 << 20, r),
				   .bootargs = "",
				   .initrd_start = 0x3f00000,
				   .initrd_end = 0x3f10123};
	uint64_t addr, size;
	int node, len;

	ck_assert_int_eq(devtree_build(buf, sizeof(buf), &p), 0);
	node = fdt_path_offset(buf, "/chosen");
	ck_assert_uint_eq(read_u64(fdt_getprop(buf, node, "linux,initrd-start", &len)), 0x3f00000);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(read_u64(fdt_getprop(buf, node, "linux,initrd-end", &len)), 0x3f10123);
	ck_assert_int_eq(fdt_num_mem_rsv(buf), 1);
	ck_assert_int_eq(fdt_get_mem_rsv(buf, 0, &addr, &size), 0);
	ck_assert_uint_eq(addr, 0x3f00000);
	ck_assert_uint_eq(size, 0x10123);
}
END_TEST

START_TEST(devtree_without_initrd_names_none)
{
	int node;

	build(64 << 20, "", 0, true);
	node = fdt_path_offset(buf, "/chosen");
	ck_assert_ptr_null(fdt_getprop(buf, node, "linux,initrd-start", NULL));
	ck_assert_int_eq(fdt_num_mem_rsv(buf), 0);
}
END_TEST

START_TEST(devtree_names_the_guest_counters_page)
{
	struct guest_ram_region r[GUEST_RAM_MAX_REGIONS];
	struct devtree_params p = {.regions = r,
				   .nr_regions = guest_ram_layout(64 << 20, r),
				   .hcall_services = true,
				   .counters_gpa = 0x3000};
	int node;

	ck_assert_int_eq(devtree_build(buf, sizeof(buf), &p), 0);
	node = fdt_path_offset(buf, VMM_DT_NODE);
	ck_assert_uint_eq(read_u64(fdt_getprop(buf, node, VMM_DT_GUEST_COUNTERS, NULL)), 0x3000);
	build(64 << 20, "", 0, true); /* none asked for: none named */
	node = fdt_path_offset(buf, VMM_DT_NODE);
	ck_assert_ptr_null(fdt_getprop(buf, node, VMM_DT_GUEST_COUNTERS, NULL));
}
END_TEST

static Suite *devtree_suite(void)
{
	Suite *s = suite_create("devtree");
	TCase *tc = tcase_create("build");

	tcase_add_test(tc, devtree_has_bootargs);
	tcase_add_test(tc, devtree_has_a_cpu_node_per_vcpu);
	tcase_add_test(tc, devtree_memory_single_region);
	tcase_add_test(tc, devtree_memory_split_above_low_ram);
	tcase_add_test(tc, devtree_cpus_carry_tsc_frequency);
	tcase_add_test(tc, devtree_vmm_node_advertises_services);
	tcase_add_test(tc, devtree_without_services_has_no_hcall_port);
	tcase_add_test(tc, devtree_too_small_buffer_is_enospc);
	tcase_add_test(tc, devtree_names_and_reserves_the_initrd);
	tcase_add_test(tc, devtree_without_initrd_names_none);
	tcase_add_test(tc, devtree_names_the_guest_counters_page);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testlib_run(devtree_suite());
}
