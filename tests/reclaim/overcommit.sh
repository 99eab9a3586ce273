#!/bin/bash
# Overcommit: guests given four times the host budget run to the end with
# their data verified, in the VMM's own swap; the budget holds throughout.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json
swap=$TMPDIR_TEST/guest.swap

# run_overcommitted BUDGET CMDLINE: 128M of guest RAM over BUDGET.
run_overcommitted() {
	rm -f "$swap"
	run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem 128M --host-mem "$1" \
		--swap "$swap" --swap-size 256M --stats-json "$json" --cmdline "$2"
	expect "$OUT" "RESULT .*ok=1"
	local r="s['vmm']['second_level']"
	[ "$(json_get "$json" "$r['reclaim']['swap']['checksum_failures']")" = 0 ] || fail "checksum failures"
	[ "$(json_get "$json" "$r['frames']['peak_resident'] <= $r['frames']['budget']")" = True ] ||
		fail "resident frames went past the budget"
}

swapped() { # the last run swapped pages out and read them back
	local r="s['vmm']['second_level']['reclaim']"
	[ "$(json_get "$json" "$r['swap_outs'] > 0")" = True ] || fail "nothing was swapped out"
	[ "$(json_get "$json" "$r['faults']['major'] > 0")" = True ] || fail "no major fault"
}

run_overcommitted 32M "workload=verify size=96M passes=2"
swapped
# verify's second pass reads first: pages it evicts unchanged go clean.
[ "$(json_get "$json" "s['vmm']['second_level']['reclaim']['clean_drops'] > 0")" = True ] ||
	fail "a second pass over unchanged pages should drop some clean"
# phases releases each quarter after use: at 4:1 a phase (24M) fits in
# 32M; at 16M it does not, and the phase's own pages go to swap.
run_overcommitted 32M "workload=phases size=96M passes=3"
run_overcommitted 16M "workload=phases size=96M passes=3"
swapped
run_overcommitted 32M "workload=hotset size=96M passes=2 hot=20"
swapped
