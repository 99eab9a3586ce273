#!/bin/bash
# --pause-at-line REGEX: the VM pauses at each console line that matches,
# before the guest runs on, whatever the host's speed; vmm resume lets it
# go on. Tests use it to act on a guest at a known point instead of racing
# it.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock

run_vmm 2 run --kernel "$KERNEL" --pause-at-line "pass=2"
expect "$ERR" "--pause-at-line: needs --control PATH"
run_vmm 2 run --kernel "$KERNEL" --control "$sock" --pause-at-line "pass=(2"
expect "$ERR" "--pause-at-line: 'pass=\(2': not a valid extended regex"

# Lines 2 and 4 match: the VM pauses at each.
start_vm --mem 64M --pause-at-line "^PASS workload=verify pass=[24]$" \
	--cmdline "workload=verify size=4M passes=4 progress=1"
wait_line "$OUT" "^PASS workload=verify pass=2$"
# Paused at that line: however long we look, the guest prints nothing more.
for _ in 1 2 3; do
	ctl 0 stat
	expect "$TMPDIR_TEST/ctl.out" '"state": "paused"'
done
expect_not "$OUT" "pass=3"
ctl 1 pause
expect "$TMPDIR_TEST/ctl.err" "paused already"
ctl 0 resume
wait_line "$OUT" "^PASS workload=verify pass=4$"
ctl 0 stat
expect "$TMPDIR_TEST/ctl.out" '"state": "paused"'
expect "$TMPDIR_TEST/ctl.out" '"pauses": 2'
ctl 0 resume
wait_vm 0
expect "$OUT" "^PASS workload=verify pass=4$"
expect "$OUT" "^RESULT workload=verify .* ok=1"
