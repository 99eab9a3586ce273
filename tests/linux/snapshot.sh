#!/bin/bash
# A running Linux guest (vmm-counter, a line every 100 ms of guest time)
# is snapshot, then restored lazily and eagerly: each restored VM goes on
# counting from the snapshot point, its first line within a second of
# guest time of the line before it in the original, and its clocks,
# monotonic and wall, never going back. The guest's clock runs while its
# vCPU waits for the VMM to serve a fault (a lazy restore's every first
# touch of a page, slow where everything is emulated): that wait, which
# the restored VM's statistics sum, is allowed on top of the second.
. "$TESTLIB"
. "${TESTLIB%/*}/linux.sh"
need_linux_kvm
sock=$TMPDIR_TEST/vm0.sock
snap=$TMPDIR_TEST/snap0

start_linux_vm -- vmm-counter 60
wait_line "$OUT" "^count=15 "
ctl 0 snapshot --out "$snap"
wait_vm 0
expect "$OUT" "^count=60 "
counts "$OUT" >"$TMPDIR_TEST/original"

# check_goes_on FILE STATS: the counts in FILE continue the original's.
check_goes_on() {
	counts "$1" >"$TMPDIR_TEST/restored"
	python3 - "$TMPDIR_TEST/original" "$TMPDIR_TEST/restored" "$2" <<'PY' || fail "$(cat "$TMPDIR_TEST/why")"
import json, sys
orig = {int(n): (int(m), int(r)) for n, m, r in (l.split() for l in open(sys.argv[1]))}
rest = [tuple(map(int, l.split())) for l in open(sys.argv[2])]
faults = json.load(open(sys.argv[3]))["vmm"]["second_level"]["faults"]
waited = sum(c["total_ns"] for c in faults.values()) // 1000000
why = open(sys.argv[1].rsplit("/", 1)[0] + "/why", "w")
def bad(msg):
    why.write(msg)
    sys.exit(1)
if not rest:
    bad("the restored VM printed no count")
first = rest[0][0]
if first < 2 or first - 1 not in orig:
    bad("the restored VM began at count=%d" % first)
if [n for n, _, _ in rest] != list(range(first, 61)):
    bad("the restored counts are not %d..60 in order" % first)
m0, r0 = orig[first - 1]
gap = rest[0][1] - m0
if not 0 < gap <= 1000 + waited:
    bad("count=%d came %d ms of guest time after count=%d (the VM waited %d ms on faults)"
        % (first, gap, first - 1, waited))
for (_, m1, r1), (_, m2, r2) in zip(rest, rest[1:]):
    if m2 <= m1 or r2 < r1:
        bad("a restored clock went back: %d->%d mono, %d->%d wall" % (m1, m2, r1, r2))
if rest[0][2] < r0:
    bad("the wall clock went back across the restore: %d -> %d" % (r0, rest[0][2]))
PY
}

for mode in --lazy --eager; do
	run_vmm 0 restore "$snap" $mode --timeout "$TIMEOUT" --stats-json "$TMPDIR_TEST/stats.json"
	expect "$OUT" "^count=60 "
	expect "$OUT" "^init: exit 0$"
	check_goes_on "$OUT" "$TMPDIR_TEST/stats.json"
done
