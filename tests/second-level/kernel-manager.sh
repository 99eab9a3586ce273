#!/bin/bash
# The VMM's own second level: the kernel's own fault path, for comparison: same guest, same result.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json

run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --memory-manager=kernel \
	--cmdline "workload=random size=4M" --stats-json "$json"
expect "$OUT" "^RESULT workload=random .*ok=1"
[ "$(json_get "$json" 's["vmm"]["memory_manager"]')" = kernel ] || fail "manager not reported as kernel"
