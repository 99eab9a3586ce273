#!/bin/bash
# The VMM's own second level: default fault-around: far fewer faults than pages, none lost.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json

run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --cmdline "workload=touch size=16M" \
	--stats-json "$json"
ev=$(json_get "$json" 's["vmm"]["second_level"]["faults"]["zero_fill"]["events"]')
zf=$(json_get "$json" 's["vmm"]["second_level"]["faults"]["zero_fill"]["pages"]')
[ $((ev * 8)) -lt "$zf" ] || fail "fault-around: $ev faults for $zf pages"
[ "$(json_get "$json" 's["vmm"]["second_level"]["metadata_bytes"]["percent_of_guest"] <= 1.0')" = True ] ||
	fail "metadata above 1% of guest memory: $(json_get "$json" 's["vmm"]["second_level"]["metadata_bytes"]')"
echo "ok: $ev faults mapped $zf pages"
