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
