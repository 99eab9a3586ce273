#!/bin/bash
# A fork's children are pinned (the default) each to a CPU of its own in
# turn, not all to the CPU of the thread that built them: with 8 children
# on a host of 2 or more CPUs, their vCPU threads (named "vcpuG.I") are
# each allowed exactly one CPU, the one vmm stat reports for the child,
# and not all the same one.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
children=8

start_vm --mem 32M --pause-at-line "^PASS workload=verify pass=2$" \
	--cmdline "workload=verify size=2M passes=100000 progress=1"
pid=$vm_pid
wait_line "$OUT" "^PASS workload=verify pass=2$"
ctl 0 fork --count $children
ctl 0 stat
cp "$TMPDIR_TEST/ctl.out" "$TMPDIR_TEST/stat.json"
: >"$TMPDIR_TEST/threads"
for task in /proc/"$pid"/task/*; do
	name=$(cat "$task/comm" 2>/dev/null) || continue
	case $name in vcpu1.*) ;; *) continue ;; esac
	echo "${name#vcpu} $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$task/status")" >>"$TMPDIR_TEST/threads"
done
ctl 0 resume
ctl 0 stop
wait_vm 3
cat "$TMPDIR_TEST/threads"
[ "$(wc -l <"$TMPDIR_TEST/threads")" -eq $children ] ||
	fail "$(wc -l <"$TMPDIR_TEST/threads") vCPU threads named vcpu1.*, expected $children"
python3 - "$TMPDIR_TEST/stat.json" "$TMPDIR_TEST/threads" "$(nproc)" <<'PY' || fail "children's CPUs"
import json, sys
stat = json.load(open(sys.argv[1]))
children = {c["id"]: c["cpu"] for c in stat["vmm"]["second_level"]["fork"]["children"]}
threads = dict(line.split() for line in open(sys.argv[2]))
for cid, allowed in threads.items():
    assert allowed.isdigit(), f"child {cid}: vCPU allowed on {allowed}, expected one CPU"
    assert children.get(cid) == int(allowed), f"child {cid}: stat says CPU {children.get(cid)}, its vCPU runs on {allowed}"
if int(sys.argv[3]) >= 2:
    assert len(set(threads.values())) >= 2, f"every child on CPU {set(threads.values())}"
PY
