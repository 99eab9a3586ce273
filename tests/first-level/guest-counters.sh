#!/bin/bash
# The guest's first-level counters beside the VMM's second level: the
# guest kernel publishes them in the page the device tree names
# (guest-counters, vmm_abi.h), and vmm stat, --stats-interval and
# --stats-json show them under guest.first_level, read and checked by
# the VMM with no exit on the guest's side. (A page that fails the
# checks is counted as bad and not shown: check_guest_counters and
# fuzz_guest_counters.)
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
json=$TMPDIR_TEST/stats.json

start_vm --mem 64M --stats-json "$json" --stats-interval 1 \
	--pause-at-line "^FORKTREE node=1 round=2$" \
	--cmdline "workload=forktree size=256K depth=2 fanout=2 passes=2 progress=1"
wait_line "$OUT" "^FORKTREE node=1 round=2$"
ctl 0 stat
python3 - "$TMPDIR_TEST/ctl.out" <<'PY' || fail "vmm stat: no valid first_level: $(cat "$TMPDIR_TEST/ctl.out")"
import json, sys
g = json.load(open(sys.argv[1]))["guest"]["first_level"]
assert g["state"] == "valid" and g["bad_reads"] == 0, g
# mid-run: round 1 done, round 2 under way
assert g["faults"]["cow"] > 0 and g["processes"]["live"] > 1, g
PY
wait_line "$ERR" "^vmm-stats .* guest_faults=[0-9]+/[0-9]+/[1-9][0-9]*/[0-9]+ cow_copies=[1-9]"
ctl 0 resume
wait_vm 0
expect "$OUT" "^RESULT workload=forktree .*ok=1"
python3 - "$json" "$OUT" <<'PY' || fail "stats JSON: $(cat "$json")"
import json, re, sys
s = json.load(open(sys.argv[1]))
g = s["guest"]["first_level"]
assert g["state"] == "valid" and g["bad_reads"] == 0 and g["page_gpa"] == 0x3000, g
assert g["faults"]["cow"] == g["cow_copies"] + g["cow_reuses"] > 0, g
assert g["processes"] == {"live": 1, "created": 13, "oom_kills": 0}, g
# The same numbers as the guest's own COUNTERS line at its end.
line = [l for l in open(sys.argv[2]) if l.startswith("COUNTERS fault_anon=")][0]
kv = dict(x.split("=") for x in line.split()[1:])
assert int(kv["fault_cow"]) == g["faults"]["cow"] and int(kv["cow_copies"]) == g["cow_copies"], (kv, g)
# One report, both levels.
assert "second_level" in s["vmm"] and s["vmm"]["second_level"]["faults"]["zero_fill"]["events"] > 0
PY
echo "ok: guest.first_level beside vmm.second_level"
