#!/bin/bash
# The VMM's own second level: one page per fault with fault-around 1.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json

# The guest touches N pages, the VMM zero-fills N pages plus the guest's own
# page tables and kernel stack (under 1% here). The kernel image, start info
# and device tree are filled by the VMM itself and counted apart
# (vmm_filled_pages).
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --fault-around 1 \
	--cmdline "workload=touch size=16M" --stats-json "$json"
n=$(json_get "$json" 's["guest"]["results"][0]["pages"]')
zf=$(json_get "$json" 's["vmm"]["second_level"]["faults"]["zero_fill"]["pages"]')
ev=$(json_get "$json" 's["vmm"]["second_level"]["faults"]["zero_fill"]["events"]')
filled=$(json_get "$json" 's["vmm"]["second_level"]["vmm_filled_pages"]')
[ "$n" -eq 4096 ] || fail "guest touched $n pages, expected 4096"
[ "$zf" -ge "$n" ] && [ $((zf * 100)) -le $((n * 101)) ] ||
	fail "zero-filled $zf pages for $n touched: expected within 1%"
[ "$ev" -eq "$zf" ] || fail "fault-around 1: $ev faults mapped $zf pages"
[ "$filled" -gt 0 ] || fail "the kernel image and boot data were not counted as VMM-filled"
echo "ok: $n pages touched, $zf zero-filled, $filled filled by the VMM"
