#!/bin/bash
# Overcommit: guests given four times the host budget run to the end with
# their data verified, in the VMM's own swap; the budget holds throughout.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json
swap=$TMPDIR_TEST/guest.swap

# Half the sizes in the test VM, where everything is emulated: the same
# ratios, the same assertions.
mem=128 heap=96
[ -z "${VMM_TESTVM:-}" ] || mem=64 heap=48

# run_overcommitted DIVISOR CMDLINE: $mem MiB of guest RAM over a budget
# of mem / DIVISOR.
run_overcommitted() {
	rm -f "$swap"
	run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem ${mem}M \
		--host-mem $((mem / $1))M --swap "$swap" --swap-size $((mem * 2))M \
		--stats-json "$json" --cmdline "$2"
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

run_overcommitted 4 "workload=verify size=${heap}M passes=2"
swapped
# verify's second pass reads first: pages it evicts unchanged go clean.
[ "$(json_get "$json" "s['vmm']['second_level']['reclaim']['clean_drops'] > 0")" = True ] ||
	fail "a second pass over unchanged pages should drop some clean"
# phases releases each quarter after use: at 4:1 a phase (a quarter of
# the heap) fits in the budget; at 8:1 it does not, and the phase's own
# pages go to swap.
run_overcommitted 4 "workload=phases size=${heap}M passes=3"
run_overcommitted 8 "workload=phases size=${heap}M passes=3"
swapped
run_overcommitted 4 "workload=hotset size=${heap}M passes=2 hot=20"
swapped
