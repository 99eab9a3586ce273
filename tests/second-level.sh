#!/bin/bash
# The VMM's own second level: every page the guest touches is a fault the
# VMM serves and counts, under a host memory budget.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json

sl() { # sl EXPR: evaluate a Python expression over the stats JSON (s)
	python3 -c "import json,sys; s=json.load(open('$json')); print($1)"
}

# One page per fault: the guest touches N pages, the VMM zero-fills N pages
# plus the guest's own page tables and kernel stack (under 1% here). The
# kernel image, start info and device tree are filled by the VMM itself and
# counted apart (vmm_filled_pages).
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --fault-around 1 \
	--cmdline "workload=touch size=16M" --stats-json "$json"
n=$(sl 's["guest"]["results"][0]["pages"]')
zf=$(sl 's["vmm"]["second_level"]["faults"]["zero_fill"]["pages"]')
ev=$(sl 's["vmm"]["second_level"]["faults"]["zero_fill"]["events"]')
filled=$(sl 's["vmm"]["second_level"]["vmm_filled_pages"]')
[ "$n" -eq 4096 ] || fail "guest touched $n pages, expected 4096"
[ "$zf" -ge "$n" ] && [ $((zf * 100)) -le $((n * 101)) ] ||
	fail "zero-filled $zf pages for $n touched: expected within 1%"
[ "$ev" -eq "$zf" ] || fail "fault-around 1: $ev faults mapped $zf pages"
[ "$filled" -gt 0 ] || fail "the kernel image and boot data were not counted as VMM-filled"
echo "ok: $n pages touched, $zf zero-filled, $filled filled by the VMM"

# Default fault-around: far fewer faults than pages, and no page lost.
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --cmdline "workload=touch size=16M" \
	--stats-json "$json"
ev=$(sl 's["vmm"]["second_level"]["faults"]["zero_fill"]["events"]')
zf=$(sl 's["vmm"]["second_level"]["faults"]["zero_fill"]["pages"]')
[ $((ev * 8)) -lt "$zf" ] || fail "fault-around: $ev faults for $zf pages"
[ "$(sl 's["vmm"]["second_level"]["metadata_bytes"]["percent_of_guest"] <= 1.0')" = True ] ||
	fail "metadata above 1% of guest memory: $(sl 's["vmm"]["second_level"]["metadata_bytes"]')"
echo "ok: $ev faults mapped $zf pages"

# Freed pages go back to the VMM and come back zero: churn writes a secret
# into every page, releases them all (DISCARD), touches them again and
# checks every byte reads zero.
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" \
	--cmdline "workload=churn size=1M passes=2" --stats-json "$json"
expect "$OUT" "^RESULT workload=churn .*ok=1"
[ "$(sl 's["vmm"]["second_level"]["discarded_pages"]')" -ge 256 ] ||
	fail "churn released no pages through the VMM: $(sl 's["vmm"]["second_level"]')"
[ "$(sl 's["vmm"]["second_level"]["frames"]["holes_punched"]')" -gt 0 ] ||
	fail "released frames were not given back to the host"

# A sparse guest (one page in 64, the guest's own fault-around off) gets at
# most twice as many frames as it touches, its page tables included.
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem 128M \
	--cmdline "workload=touch size=64M stride=64 fault_around=1 fault_around_max=1" \
	--stats-json "$json"
n=$(sl 's["guest"]["results"][0]["pages"]')
res=$(sl 's["vmm"]["second_level"]["frames"]["resident"]')
[ "$n" -eq 256 ] || fail "stride=64 touched $n pages, expected 256"
[ "$res" -le $((2 * n + 64)) ] || fail "sparse guest: $res frames for $n pages touched"
echo "ok: sparse guest, $res frames for $n pages touched"

# An access outside guest RAM is a crash naming the GPA: exit 3.
run_vmm 3 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem 64M --cmdline "workload=oob" \
	--stats-json "$json"
expect "$ERR" "outside RAM at GPA 0x4000000"
[ "$(sl 's["vmm"]["second_level"]["invalid_accesses"]')" -eq 1 ] || fail "invalid access not counted"
[ "$(sl 's["vmm"]["second_level"]["faults"]["invalid"]["events"]')" -eq 1 ] ||
	fail "invalid access not counted in its fault class"

# A budget smaller than the guest's working set stops it: exit 3, saying so.
run_vmm 3 run --kernel "$KERNEL" --timeout "$TIMEOUT" --host-mem 4M \
	--cmdline "workload=touch size=16M"
expect "$ERR" "host memory budget exhausted"
expect_not "$ERR" "Bus error|SIGBUS"

# The kernel's own fault path, for comparison: same guest, same result.
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --memory-manager=kernel \
	--cmdline "workload=random size=4M" --stats-json "$json"
expect "$OUT" "^RESULT workload=random .*ok=1"
[ "$(sl 's["vmm"]["memory_manager"]')" = kernel ] || fail "manager not reported as kernel"

run_vmm 2 run --kernel "$KERNEL" --memory-manager=magic
expect "$ERR" "--memory-manager"
run_vmm 2 run --kernel "$KERNEL" --fault-around 3
expect "$ERR" "power of two"
