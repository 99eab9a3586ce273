#!/bin/bash
# A snapshot of a guest that keeps writing, then VMs from it: lazily and
# eagerly restored, each verifies a whole pass of the guest's memory, and
# its memory before it runs hashes to what memory was at the snapshot's
# pause (--hash-memory, --check-hash). A second request while one is
# written is refused; a restored VM can be snapshot again (a second
# generation). The guest verifies without end (every request finds it
# running, on any host): the VMs are stopped once they have shown what
# is asked of them.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
snap=$TMPDIR_TEST/snap0
stats=$TMPDIR_TEST/stats.json

start_vm --mem 64M --cmdline "workload=verify size=32M passes=1000000 progress=1"
wait_stat resident 8000 # the guest holds its heap: the snapshot has it to save
ctl 0 snapshot --out "$snap" --hash-memory
cp "$TMPDIR_TEST/ctl.out" "$TMPDIR_TEST/summary.json"
expect "$TMPDIR_TEST/ctl.err" "^vmm snapshot: [0-9]+ of [0-9]+ pages \([0-9]+%\), .* MiB/s, ETA"
[ -f "$snap/snapshot" ] && [ ! -e "$snap.tmp" ] || fail "no $snap/snapshot, or $snap.tmp left"
# Never over another snapshot, and never into a directory that cannot be made.
ctl 1 snapshot --out "$snap"
expect "$TMPDIR_TEST/ctl.err" "snap0: already exists: a snapshot is never written over another"
ctl 1 snapshot --out "$TMPDIR_TEST/no/such/dir"
expect "$TMPDIR_TEST/ctl.err" "no/such/dir"

# One at a time: of two requests at once, the one that comes while the
# other is written is refused, saying so (both succeed only if the first
# was on disk before the second came: then again).
refused=
for try in 1 2 3; do
	"$VMM" snapshot --control "$sock" --out "$TMPDIR_TEST/a$try" >/dev/null \
		2>"$TMPDIR_TEST/a.err" &
	a=$!
	"$VMM" snapshot --control "$sock" --out "$TMPDIR_TEST/b$try" >/dev/null \
		2>"$TMPDIR_TEST/b.err" &
	b=$!
	sa=0 sb=0
	wait $a || sa=$?
	wait $b || sb=$?
	case $sa$sb in
	01) busy=$TMPDIR_TEST/b.err other=a$try ;;
	10) busy=$TMPDIR_TEST/a.err other=b$try ;;
	00) continue ;;
	*) fail "two snapshots at once exited $sa and $sb" ;;
	esac
	expect "$busy" "refused: a snapshot is being written to .*/$other: one at a time"
	[ -f "$TMPDIR_TEST/$other/snapshot" ] || fail "the snapshot that was not refused is missing"
	refused=1
	break
done
[ -n "$refused" ] || fail "three second requests all found no snapshot being written"
ctl 0 stat
cp "$TMPDIR_TEST/ctl.out" "$TMPDIR_TEST/stat.json"
ctl 0 stop
wait_vm 3
expect "$OUT" "^PASS workload=verify pass=1$"
expect_not "$OUT" "MISMATCH"
[ "$(json_get "$TMPDIR_TEST/summary.json" \
	"s['phase'] == 'done' and s['pages_done'] == s['pages_total'] > 8000 and \
	 s['bytes'] > 30 << 20 and 0 < s['freeze_ns'] < s['pause_ns']")" = True ] ||
	fail "summary: $(cat "$TMPDIR_TEST/summary.json")"
[ "$(json_get "$TMPDIR_TEST/stat.json" \
	"s['vmm']['second_level']['snapshot']['write_protect'] == 'userfaultfd-wp' and \
	 s['vmm']['second_level']['snapshot']['state'] == 'idle' and \
	 s['vmm']['second_level']['snapshot']['taken'] >= 2")" = True ] || fail "stat snapshot section"

# Both restores: memory checked against the hash, then the guest finishes.
# The second pass line after the restore ends a whole pass, which checks
# every page of the restored guest.
for mode in --lazy --eager; do
	run_to_line 2 "^PASS workload=verify pass=" restore "$snap" $mode --check-hash \
		--stats-json "$stats"
	expect_not "$OUT" "MISMATCH"
	loads=$(json_get "$stats" "s['vmm']['second_level']['faults']['snapshot_load']['pages']")
	bulk=$(json_get "$stats" "s['vmm']['second_level']['snapshot']['restore_loaded']")
	if [ $mode = --lazy ]; then
		# On first touch, or by the loader thread while the guest ran.
		[ "$(json_get "$stats" "$loads + s['vmm']['second_level']['snapshot']\
			['restore_loaded']['background']")" -gt 8000 ] ||
			fail "lazy restore: $loads pages loaded on first touch, $bulk in bulk"
	else
		[ "$loads" -eq 0 ] || fail "eager restore: $loads pages loaded on first touch"
		[ "$(json_get "$stats" "s['vmm']['second_level']['snapshot']['restore_loaded']\
			['eager'] > 8000")" = True ] || fail "eager restore: bulk loads $bulk"
	fi
done
# --check-hash on a snapshot taken without --hash-memory is refused.
run_vmm 2 restore "$TMPDIR_TEST/$other" --check-hash --timeout "$TIMEOUT"
expect "$ERR" "no \"memory-hash\" section"

# A second generation: snapshot the restored VM while it runs.
start_vmm restore "$snap"
ctl 0 snapshot --out "$snap-gen2" --hash-memory
ctl 0 stop
wait_vm 3
expect_not "$OUT" "MISMATCH"
run_to_line 2 "^PASS workload=verify pass=" restore "$snap-gen2" --check-hash
expect_not "$OUT" "MISMATCH"
