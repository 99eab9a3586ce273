#!/bin/bash
# A Linux guest of 256M under a 64M host budget with vmm's swap: vmm-verify
# fills 3/4 of the memory Linux has (MemTotal, what its kernel leaves) with
# a pattern per word and reads it all back. The data checks, pages went to
# swap and came back, and resident frames never passed the budget. (One
# pass: every page goes out while it is filled and comes back to be read,
# and each costs several exits where everything is emulated.)
. "$TESTLIB"
. "${TESTLIB%/*}/linux.sh"
need_linux_kvm
stats=$TMPDIR_TEST/stats.json
TIMEOUT=$((TIMEOUT * 3)) # every page goes through swap, under emulation in the test VM

linux_run 0 --host-mem 64M --swap "$TMPDIR_TEST/guest.swap" --swap-size 512M \
	--stats-json "$stats" -- vmm-verify 75% 1
expect "$OUT" "^PASS workload=verify pass=1$"
expect "$OUT" "^RESULT workload=verify pages=[0-9]+ passes=1 ok=1$"
expect_not "$OUT" "MISMATCH"
r="s['vmm']['second_level']"
[ "$(json_get "$stats" "$r['reclaim']['swap_outs'] > 0")" = True ] || fail "nothing was swapped out"
[ "$(json_get "$stats" "$r['reclaim']['faults']['major'] > 0")" = True ] || fail "nothing came back from swap"
[ "$(json_get "$stats" "$r['reclaim']['swap']['checksum_failures']")" = 0 ] || fail "checksum failures"
[ "$(json_get "$stats" "$r['frames']['peak_resident'] <= $r['frames']['budget']")" = True ] ||
	fail "resident frames went past the budget"
