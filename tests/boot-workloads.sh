#!/bin/bash
# Boots the guest kernel once per workload; each must report ok=1 and the
# VMM must exit 0. Also the default demo (vmm run with no arguments) and the
# JSON statistics report.
. "$TESTLIB"
need_kvm

for w in touch random hotset phases verify churn; do
	run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --cmdline "workload=$w size=1M seed=7 passes=2"
	expect "$OUT" "^RESULT workload=$w pages=[1-9][0-9]* faults=[1-9][0-9]* cycles=[0-9]+.* ok=1"
	expect_not "$OUT" "ok=0"
done

# progress=N: verify says PASS after every N-th pass, and only then.
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --cmdline "workload=verify size=1M passes=4 progress=2"
expect "$OUT" "^PASS workload=verify pass=2$"
expect "$OUT" "^PASS workload=verify pass=4$"
expect_not "$OUT" "^PASS workload=verify pass=[13]$"

# The default demo: no arguments at all, the built-in kernel.
run_vmm 0
expect "$OUT" "^RESULT workload=touch .*ok=1"

# Statistics: valid JSON carrying the guest's result and KVM's counters.
json=$TMPDIR_TEST/stats.json
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem 32M --stats-json "$json"
python3 - "$json" <<'PY' || fail "stats JSON is wrong: $(cat "$json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["status"] == 0, s["status"]
r = s["guest"]["results"][0]
assert r["workload"] == "touch" and r["ok"] == 1 and r["pages"] > 0, r
assert s["vmm"]["guest_mem_bytes"] == 32 << 20
assert s["vmm"]["io_exits"] > 0
assert "exits" in s["kvm"]["vcpu0"], s["kvm"]
PY
echo "ok: stats JSON"
