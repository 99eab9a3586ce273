#!/bin/bash
# A snapshot of a guest whose memory is mostly in swap: pages the writer
# finds in swap are read from there (and checked), and pages the guest
# brings back meanwhile are saved from what was read. The restored memory
# hashes to memory at the pause, and the restored guest, itself
# overcommitted, verifies a whole pass. The guest verifies without end, so
# that the snapshot finds it running on any host; it is stopped after.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
snap=$TMPDIR_TEST/snap0

start_vm --mem 64M --host-mem 16M --swap "$TMPDIR_TEST/a.swap" --swap-size 128M \
	--cmdline "workload=verify size=40M passes=1000000 progress=1"
wait_stat swapped_pages 4000
ctl 0 snapshot --out "$snap" --hash-memory
ctl 0 stop
wait_vm 3
expect_not "$OUT" "MISMATCH"
run_to_line 2 "^PASS workload=verify pass=" restore "$snap" --check-hash --host-mem 16M \
	--swap "$TMPDIR_TEST/b.swap" --swap-size 128M
expect_not "$OUT" "MISMATCH"
