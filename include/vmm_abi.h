/* include/vmm_abi.h: the contract between the VMM and the guest kernel.
 *
 * Both sides include this file and nothing else of each other. It holds
 * I/O port numbers, the hypercall block layout, device-tree names and the
 * values the guest writes to the exit port. Everything here is ABI: change
 * it on both sides at once.
 */
#ifndef VMM_ABI_H
#define VMM_ABI_H

#include <stdint.h>

/* --- I/O ports ------------------------------------------------------- */

/* 16550-style UART (THR/LSR only matter); one exit per byte. */
#define VMM_PORT_SERIAL 0x3f8
/* isa-debug-exit style: a 32-bit OUT of v ends the guest with result v. */
#define VMM_PORT_EXIT 0xf4
/* Hypercall doorbell: a 32-bit OUT of the GPA (below 4 GiB, 8-byte aligned)
 * of a struct vmm_hcall. The VMM fills in .ret before the OUT returns. */
#define VMM_PORT_HCALL 0x510
/* Fork identity: a 32-bit IN reads (generation << 16) | index, both u16.
 * The VM that was booted is generation 0, index 0; the N children forked
 * from a VM of generation g are generation g + 1, indices 1 to N. A
 * restored VM reads what its snapshot's VM read. An 8-bit IN at
 * VMM_PORT_FORKID + k (k = 0..3) reads byte k of the same value: what
 * Linux's /dev/port makes of a 4-byte read from user space. Nothing else
 * is served: an OUT or another size stops the VM as an unhandled port. */
#define VMM_PORT_FORKID 0x514

/* Values written to VMM_PORT_EXIT; the VMM's exit status follows them. */
#define VMM_GUEST_SUCCESS 0
#define VMM_GUEST_FAILURE 1 /* a workload failed or was killed */
#define VMM_GUEST_CRASH	  3 /* the guest kernel hit an unhandled exception */

/* --- Hypercalls -------------------------------------------------------- */

struct vmm_hcall {
	uint32_t nr;	/* VMM_HC_* */
	uint32_t count; /* number of entries at arg0 (DISCARD, COPY) */
	uint64_t arg0;
	uint64_t arg1;
	int64_t ret; /* written by the VMM: 0 or -errno */
};

/* Print one line: arg0 = GPA of the text, arg1 = length (<= VMM_LINE_MAX),
 * without the trailing newline, which the VMM adds. */
#define VMM_HC_LINE 1
/* Drop pages: arg0 = GPA of uint64_t[count], each a page-aligned GPA. The
 * next read of each page returns zeros. */
#define VMM_HC_DISCARD 2
/* Copy pages: arg0 = GPA of struct vmm_page_pair[count]. */
#define VMM_HC_COPY 3

#define VMM_LINE_MAX	 4096
#define VMM_HC_MAX_PAGES 512 /* entries per DISCARD or COPY call */

struct vmm_page_pair {
	uint64_t dst; /* page-aligned GPA */
	uint64_t src; /* page-aligned GPA */
};

/* --- Device tree -------------------------------------------------------
 * The VMM passes a flattened device tree as PVH module 0. Besides the
 * standard /memory@ADDR (reg: <addr size> pairs, #address-cells = 2,
 * #size-cells = 2), /chosen/bootargs and /cpus, it has:
 *
 *   /cpus           "tsc-frequency"  u64, Hz (absent if unknown)
 *   /vmm            compatible = "vmm,devices"
 *                   "serial-port"  u32   VMM_PORT_SERIAL
 *                   "exit-port"    u32   VMM_PORT_EXIT
 *                   "hcall-port"   u32   VMM_PORT_HCALL (absent: no hypercalls)
 *                   "forkid-port"  u32   VMM_PORT_FORKID (absent: no such port,
 *                                        the guest is generation 0, index 0)
 *                   "features"     string list of VMM_FEAT_*
 *                   "guest-counters" u64 GPA of the guest-counters page
 *                                  (absent: the VMM reads no counters)
 */
#define VMM_DT_NODE	      "/vmm"
#define VMM_DT_COMPATIBLE     "vmm,devices"
#define VMM_DT_SERIAL_PORT    "serial-port"
#define VMM_DT_EXIT_PORT      "exit-port"
#define VMM_DT_HCALL_PORT     "hcall-port"
#define VMM_DT_FORKID_PORT    "forkid-port"
#define VMM_DT_FEATURES	      "features"
#define VMM_DT_TSC_FREQ	      "tsc-frequency"
#define VMM_DT_GUEST_COUNTERS "guest-counters"

#define VMM_FEAT_LINE_CONSOLE "line-console" /* VMM_HC_LINE */
#define VMM_FEAT_PAGE_DISCARD "page-discard" /* VMM_HC_DISCARD */
#define VMM_FEAT_PAGE_COPY    "page-copy"    /* VMM_HC_COPY */

/* --- Guest counters ----------------------------------------------------
 * The page the device tree names holds one struct vmm_guest_counters,
 * written by the guest kernel (its first-level counters) and read by the
 * VMM with no exit on the guest's side. The guest writes it as a seqlock:
 * seq odd, the fields, check, seq even again. check is
 *     c = 0; for each 64-bit word w from magic up to resident_pages:
 *         c = ((c << 7) | (c >> 57)) ^ w
 * and seq, being among the words, must read the same before and after.
 * The VMM trusts nothing there: it takes a copy, and a copy with the
 * wrong magic, version or size, an odd or moving seq, a wrong check or
 * impossible values is counted as bad and not shown.
 */
#define VMM_GC_MAGIC   0x31544e43544b47ULL /* "GKTCNT1", little-endian */
#define VMM_GC_VERSION 1

struct vmm_guest_counters {
	uint64_t magic;	  /* VMM_GC_MAGIC */
	uint32_t version; /* VMM_GC_VERSION */
	uint32_t size;	  /* sizeof(struct vmm_guest_counters) */
	uint64_t seq;	  /* odd while the guest writes */
	/* First-level page faults by class (docs/guest-kernel.md). */
	uint64_t fault_anon, fault_cow, fault_file, fault_stack, fault_protection, fault_invalid;
	uint64_t cow_copies, cow_reuses; /* how COW faults ended */
	uint64_t cache_hits, cache_misses;
	uint64_t procs_live, procs_created, oom_kills;
	uint64_t tlb_cr3_loads, tlb_flush_page, tlb_flush_pcid, tlb_flush_all;
	uint64_t total_pages;	 /* frames the guest's allocator manages */
	uint64_t resident_pages; /* of which in use (processes, page cache, kernel) */
	uint64_t check;
};

/* --- Guest physical layout ------------------------------------------------
 * [0, VMM_RESERVED_END) belongs to the VMM (start info, memory map, command
 * line, device tree); the kernel image loads at or above it. RAM above
 * VMM_LOW_RAM_END continues at 4 GiB (the gap holds KVM's own pages). */
#define VMM_RESERVED_END  0x100000ULL
#define VMM_LOW_RAM_END	  0xc0000000ULL
#define VMM_HIGH_RAM_BASE 0x100000000ULL

#endif
