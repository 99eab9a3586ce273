#!/bin/bash
# Both levels of copy-on-write at once: a VM running forktree, its
# processes sharing pages copy-on-write in the guest, is forked by the
# VMM (vmm fork) in the middle of a round, while the tree of processes is
# alive. Each VM's processes go on from there and check every page; from
# their next round on, each VM writes patterns of its own fork identity,
# so a VM that saw another's writes fails. Every VM's guest counts COW
# faults of its own (its COUNTERS line), and the VMM counts the COW
# faults of the second level (its statistics).
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
json=$TMPDIR_TEST/stats.json

start_vm --mem 64M --stats-json "$json" --pause-at-line "^FORKTREE node=1 round=2$" \
	--cmdline "workload=forktree size=512K depth=2 fanout=2 passes=4 progress=1"
wait_line "$OUT" "^FORKTREE node=1 round=2$"
ctl 0 fork --count 2
ctl 0 resume
wait_vm 0
expect_not "$OUT" "(COWCOUNT|MISMATCH|FORKTREE page|CHILD)"
for vm in "" "\[1\.1\] " "\[1\.2\] "; do
	expect "$OUT" "^${vm}RESULT workload=forktree pages=128 .*ok=1"
	expect "$OUT" "^${vm}COUNTERS .* fault_cow=[1-9][0-9]* .* cow_copies=[1-9][0-9]* "
	expect "$OUT" "^${vm}PASS workload=forktree pass=4$"
done
for i in 1 2; do
	expect "$ERR" "^vmm: fork child \[1\.$i\] exit 0: guest reported success$"
done
cow=$(json_get "$json" 's["vmm"]["second_level"]["faults"]["cow"]["events"]')
[ "$cow" -gt 0 ] || fail "the VMM counted no copy-on-write fault after the fork"
echo "ok: second-level COW faults: $cow"
