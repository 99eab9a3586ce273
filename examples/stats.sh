#!/bin/sh
# Read the statistics of a run: --stats-json writes the guest's RESULT, the
# VMM's counters and KVM's own binary statistics (exits, emulated
# instructions, page faults) as one JSON object.
set -e
VMM=${VMM:-vmm}
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$VMM" run --cmdline "workload=random size=2M" --stats-json "$json"
python3 - "$json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
r = s["guest"]["results"][0]
k = s["kvm"]["vcpu0"]
print(f"guest: {r['workload']} touched {r['pages']} pages with {r['faults']} first-level faults")
print(f"vmm:   {s['vmm']['io_exits']} I/O exits, {s['vmm']['hcalls']['line']} console lines")
print(f"kvm:   {k.get('exits', 0)} exits, {k.get('insn_emulation', 0)} emulated instructions")
PY
