#!/bin/bash
# Overcommit: guests given four times the host budget run to the end with
# their data verified, in the VMM's own swap; the budget holds throughout.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json
swap=$TMPDIR_TEST/guest.swap

# run_overcommitted CMDLINE: 128M of guest RAM over a 32M budget.
run_overcommitted() {
	rm -f "$swap"
	run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem 128M --host-mem 32M \
		--swap "$swap" --swap-size 256M --stats-json "$json" --cmdline "$1"
	expect "$OUT" "RESULT .*ok=1"
	local r="s['vmm']['second_level']"
	[ "$(json_get "$json" "$r['reclaim']['swap_outs'] > 0")" = True ] || fail "nothing was swapped out"
	[ "$(json_get "$json" "$r['reclaim']['faults']['major'] > 0")" = True ] || fail "no major fault"
	[ "$(json_get "$json" "$r['reclaim']['swap']['checksum_failures']")" = 0 ] || fail "checksum failures"
	[ "$(json_get "$json" "$r['frames']['peak_resident'] <= $r['frames']['budget']")" = True ] ||
		fail "resident frames went past the budget"
}

run_overcommitted "workload=verify size=96M passes=2"
[ "$(json_get "$json" "s['vmm']['second_level']['reclaim']['clean_drops'] > 0")" = True ] ||
	fail "a second pass over unchanged pages should drop some clean"
run_overcommitted "workload=phases size=96M passes=3"
run_overcommitted "workload=hotset size=96M passes=2 hot=20"
