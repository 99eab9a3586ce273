#!/bin/bash
# Swap-file damage injected while the guest runs: the VM stops with exit 3
# naming the GPA, the slot and the file; the guest never sees the damage
# (it would report a failed verification, exit 1).
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
json=$TMPDIR_TEST/stat.json
swap=$TMPDIR_TEST/guest.swap

start_vm --mem 64M --host-mem 16M --swap "$swap" --swap-size 128M \
	--cmdline "workload=verify size=48M passes=1000000"
# Wait for pages to be in swap, then overwrite the whole file.
for _ in $(seq 1200); do
	ctl 0 stat
	[ "$(json_get "$TMPDIR_TEST/ctl.out" \
		"s['vmm']['second_level']['reclaim']['swapped_pages'] > 1000")" = True ] && break
	sleep 0.1
done
head -c 128M /dev/urandom | dd of="$swap" bs=1M conv=notrunc status=none
wait_vm 3
expect "$ERR" "GPA 0x[0-9a-f]+: swap-in failed: swap file .*guest.swap: slot [0-9]+ \(offset [0-9]+\): checksum mismatch"
expect_not "$OUT" "ok=1"
