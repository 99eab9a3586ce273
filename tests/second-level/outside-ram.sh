#!/bin/bash
# The VMM's own second level: an access outside guest RAM is a crash naming the GPA.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json

run_vmm 3 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem 64M --cmdline "workload=oob" \
	--stats-json "$json"
expect "$ERR" "outside RAM at GPA 0x4000000"
[ "$(json_get "$json" 's["vmm"]["second_level"]["invalid_accesses"]')" -eq 1 ] || fail "invalid access not counted"
[ "$(json_get "$json" 's["vmm"]["second_level"]["faults"]["invalid"]["events"]')" -eq 1 ] ||
	fail "invalid access not counted in its fault class"
