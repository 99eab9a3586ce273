#!/bin/bash
# Fork a guest whose memory is partly in swap, with the children's
# consoles in --console-dir: the swapped pages stay the fork image's slots,
# each VM that touches one reads its own copy back, the children swap
# through the parent's file, and every VM verifies. Generations: a
# snapshot before the fork, the fork, a snapshot of the forked VM after
# it; the second restores with its memory hash checked. The parent pauses
# at its first pass (--pause-at-line), so that every request finds it
# running whatever the host's speed, and goes on once they are done.
# Three VMs swapping on one emulated vCPU are slow: a longer bound.
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
snap0=$TMPDIR_TEST/snap0
snap=$TMPDIR_TEST/snap1
mkdir "$TMPDIR_TEST/cons"
passes=7
[ -z "${VMM_TESTVM:-}" ] || passes=4 # emulated there: fewer passes after the fork

start_vm --mem 64M --host-mem 16M --swap "$TMPDIR_TEST/a.swap" --swap-size 192M \
	--console-dir "$TMPDIR_TEST/cons" --pause-at-line "^PASS workload=verify pass=1$" \
	--cmdline "workload=verify size=40M wset=16M passes=$passes progress=1"
wait_line "$OUT" "^PASS workload=verify pass=1$"
wait_stat swapped_pages 4000
ctl 0 snapshot --out "$snap0"
ctl 0 fork --count 2
ctl 0 snapshot --out "$snap" --hash-memory
ctl 0 resume
wait_vm 0
expect_not "$OUT" "MISMATCH"
expect "$OUT" "^RESULT workload=verify .* ok=1"
for i in 1 2; do
	log=$TMPDIR_TEST/cons/vm-1.$i.log
	expect "$log" "^FORK generation=1 index=$i$"
	expect "$log" "^RESULT workload=verify .* ok=1"
	expect_not "$log" "MISMATCH"
	expect "$ERR" "^vmm: fork child \[1\.$i\] exit 0: guest reported success$"
done
expect_not "$OUT" "^\[1\."
run_vmm 0 restore "$snap" --check-hash --host-mem 16M --swap "$TMPDIR_TEST/b.swap" \
	--swap-size 128M --timeout "$TIMEOUT"
expect "$OUT" "RESULT workload=verify .* ok=1"
