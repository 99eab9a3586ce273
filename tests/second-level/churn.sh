#!/bin/bash
# The VMM's own second level: freed pages go back to the VMM and come back zero.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json

# churn writes a secret into every page, releases them all (DISCARD),
# touches them again and checks every byte reads zero.
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" \
	--cmdline "workload=churn size=1M passes=2" --stats-json "$json"
expect "$OUT" "^RESULT workload=churn .*ok=1"
[ "$(json_get "$json" 's["vmm"]["second_level"]["discarded_pages"]')" -ge 256 ] ||
	fail "churn released no pages through the VMM: $(json_get "$json" 's["vmm"]["second_level"]')"
[ "$(json_get "$json" 's["vmm"]["second_level"]["frames"]["holes_punched"]')" -gt 0 ] ||
	fail "released frames were not given back to the host"
