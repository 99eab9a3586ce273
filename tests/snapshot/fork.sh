#!/bin/bash
# Fork a guest running verify into 4 children. Each child and the parent
# go on from the fork point; from then on each writes a pattern of its own
# fork identity and checks every page each pass, so a VM that saw another's
# write fails (MISMATCH, ok=0). The children's lines carry their id, the
# vmm exits with the parent's status after one line per child, and the
# children share the parent's frames. Then what fork refuses. The parent
# pauses at pass 10 (--pause-at-line) until the requests are done, so that
# they find it running on any host, however fast its guest.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock

start_vm --mem 64M --pause-at-line "^PASS workload=verify pass=10$" \
	--cmdline "workload=verify size=8M passes=200 progress=10"
wait_line "$OUT" "^PASS workload=verify pass=10$"
ctl 0 fork --count 4
expect "$TMPDIR_TEST/ctl.out" '"count": 4'
expect "$TMPDIR_TEST/ctl.out" '"1\.4"'
expect "$TMPDIR_TEST/ctl.out" '"shared_pages": [1-9]'
ctl 0 stat
expect "$TMPDIR_TEST/ctl.out" '"id": "1\.4"'
expect "$TMPDIR_TEST/ctl.out" '"shared_frames": [1-9]'
# One fork per VM, and a count fork can take.
ctl 1 fork --count 1
expect "$TMPDIR_TEST/ctl.err" "forked already"
ctl 2 fork --count 0
expect "$TMPDIR_TEST/ctl.err" "--count"
ctl 2 fork --count 65
ctl 2 stat --count 2
expect "$TMPDIR_TEST/ctl.err" "applies to fork only"
ctl 0 resume
wait_vm 0
expect_not "$OUT" "MISMATCH"
expect "$OUT" "^RESULT workload=verify .* ok=1"
for i in 1 2 3 4; do
	expect "$OUT" "^\[1\.$i\] FORK generation=1 index=$i$"
	expect "$OUT" "^\[1\.$i\] RESULT workload=verify .* ok=1"
	expect "$ERR" "^vmm: fork child \[1\.$i\] exit 0: guest reported success$"
done
expect_not "$OUT" "^FORK"

# Out of budget in a fork without swap (no reclaimer at all): the VM that
# finds no frame for its copy stops with the budget's message and hint, as
# any VM does (issue 16, 13). Parent and child each copy the 12 MiB the
# parent wrote before the fork: 36 MiB, over the 2 x 16 MiB they bring.
start_vm --mem 64M --host-mem 16M --wss-period 0 \
	--cmdline "workload=verify size=12M passes=1000000 progress=1"
wait_line "$OUT" "^PASS workload=verify pass=1$"
ctl 0 fork --count 1
wait_line "$ERR" "budget exhausted|cannot copy"
# The other VM may run on, or may have found no frame either (and the vmm
# exited): stop it if it is there.
"$VMM" stop --control "$sock" >/dev/null 2>&1 || true
wait_vm 3
expect "$ERR" "^vmm: (\[1\.1\] )?host memory budget exhausted: no frame for GPA 0x[0-9a-f]+ .*raise --host-mem"
expect_not "$ERR" "cannot copy GPA"
