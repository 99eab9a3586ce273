#!/bin/bash
# Working-set prefetch (docs/snapshot.md): a lazy restore with --record-ws
# writes the pages its guest touched beside the snapshot; the next lazy
# restore of it loads exactly those first, in bulk, and counts them; the
# guest then verifies a whole pass. The file is an input like any other: a
# damaged one, one cut short or one from another snapshot is refused
# (exit 2) with a message naming the file and the offset.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
snap=$TMPDIR_TEST/snap0
ws=$snap/working-set
stats=$TMPDIR_TEST/stats.json

start_vm --mem 64M --cmdline "workload=verify size=32M passes=1000000 progress=1"
wait_stat resident 8000
ctl 0 snapshot --out "$snap"
ctl 0 snapshot --out "$TMPDIR_TEST/other"
ctl 0 stop
wait_vm 3

# An eager restore maps every page before the guest runs: nothing to record.
run_vmm 2 restore "$snap" --eager --record-ws 100
expect "$ERR" "--record-ws: a lazy restore's option"

start_vmm restore "$snap" --record-ws 300 --stats-json "$stats"
wait_line "$ERR" "working set recorded: [0-9]+ pages"
ctl 0 stop
wait_vm 3
[ -f "$ws" ] && [ ! -e "$ws.tmp" ] || fail "no $ws, or $ws.tmp left"
recorded=$(sed -n 's/.*working set recorded: \([0-9]*\) pages.*/\1/p' "$ERR")
[ "$recorded" -gt 100 ] || fail "recorded $recorded pages"

# The next restore loads the set first, then the guest checks every page.
run_to_line 2 "^PASS workload=verify pass=" restore "$snap" --stats-json "$stats"
expect_not "$OUT" "MISMATCH"
[ "$(json_get "$stats" "s['vmm']['second_level']['snapshot']['restore_loaded']['working_set']")" \
	-eq "$recorded" ] || fail "working set: $(cat "$stats")"
run_to_line 1 "^PASS workload=verify pass=" restore "$snap" --no-prefetch-ws --no-background \
	--stats-json "$stats"
[ "$(json_get "$stats" "s['vmm']['second_level']['snapshot']['restore_loaded']['working_set'] + \
	s['vmm']['second_level']['snapshot']['restore_loaded']['background']")" -eq 0 ] ||
	fail "--no-prefetch-ws --no-background still loaded in bulk"

# Bad files: each refused before the guest runs, naming file and offset.
cp "$ws" "$TMPDIR_TEST/ws.good"
printf 'X' | dd of="$ws" bs=1 seek=40 conv=notrunc status=none
run_vmm 2 restore "$snap" --timeout "$TIMEOUT"
expect "$ERR" "snap0/working-set: offset [0-9]+: expected XXH3-64 .*: the file is damaged"
head -c 20 "$TMPDIR_TEST/ws.good" >"$ws"
run_vmm 2 restore "$snap" --timeout "$TIMEOUT"
expect "$ERR" "snap0/working-set: offset 20: the file ends after 20 bytes"
cp "$TMPDIR_TEST/ws.good" "$TMPDIR_TEST/other/working-set"
run_vmm 2 restore "$TMPDIR_TEST/other" --timeout "$TIMEOUT"
expect "$ERR" "other/working-set: offset 16: recorded for the snapshot .*: from another snapshot"
cp "$TMPDIR_TEST/ws.good" "$ws"
printf 'Y' | dd of="$ws" bs=1 seek=0 conv=notrunc status=none
run_vmm 2 restore "$snap" --timeout "$TIMEOUT"
expect "$ERR" "snap0/working-set: offset 0: expected magic"
# --no-prefetch-ws leaves even a bad one alone.
run_to_line 1 "^PASS workload=verify pass=" restore "$snap" --no-prefetch-ws
