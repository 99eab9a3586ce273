#!/bin/bash
# fork-from: three VMs from one snapshot on disk, in one vmm. The first
# is restored (every page read once, its memory hash checked), the other
# two are its fork children: they share the snapshot's pages until they
# write them, and each verifies its own writes. Then what fork-from
# refuses.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
snap=$TMPDIR_TEST/snap0

start_vm --mem 64M --pause-at-line "^PASS workload=verify pass=10$" \
	--cmdline "workload=verify size=8M passes=400 progress=10"
wait_line "$OUT" "^PASS workload=verify pass=10$"
ctl 0 snapshot --out "$snap" --hash-memory
ctl 0 resume
wait_vm 0
run_vmm 0 fork-from "$snap" --count 3 --check-hash --timeout "$TIMEOUT" \
	--stats-json "$TMPDIR_TEST/stats.json"
expect_not "$OUT" "MISMATCH"
expect "$OUT" "^RESULT workload=verify .* ok=1"
for i in 1 2; do
	expect "$OUT" "^\[1\.$i\] FORK generation=1 index=$i$"
	expect "$OUT" "^\[1\.$i\] RESULT workload=verify .* ok=1"
	expect "$ERR" "^vmm: fork child \[1\.$i\] exit 0: guest reported success$"
done
expect "$TMPDIR_TEST/stats.json" '"shared_frames": [1-9]'
expect "$TMPDIR_TEST/stats.json" '"id": "1\.2"'
run_vmm 2 fork-from "$snap"
expect "$ERR" "--count N is needed"
run_vmm 2 fork-from "$snap" --count 66
run_vmm 2 fork-from "$snap" --count 2 --lazy
expect "$ERR" "read once"

# A FIFO named like a child's console file is refused, not opened: it
# held the fork, and with vmm fork the control thread too (issue 16, 8).
cons=$TMPDIR_TEST/consoles
mkdir "$cons"
mkfifo "$cons/vm-1.1.log"
run_vmm 2 fork-from "$snap" --count 2 --console-dir "$cons"
expect "$ERR" "vm-1.1.log exists and is not a regular file"
start_vm --paused --mem 64M --console-dir "$cons" --cmdline "workload=verify size=8M passes=4"
ctl 1 fork --count 1
expect "$TMPDIR_TEST/ctl.err" "vm-1.1.log exists and is not a regular file"
ctl 0 stat # the control thread serves on
ctl 0 stop
wait_vm 3
