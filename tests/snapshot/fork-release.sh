#!/bin/bash
# Fork children that stop give back what they hold (issue 16, 12): a
# parent started paused (--paused: before its first instruction) forks
# 16 children, which run the whole workload and exit; once stat says they
# have stopped, the vmm has as many fds and threads as before the fork,
# and its resident frames are the parent's again. stat still reports each
# child's exit. Then the parent resumes and runs the same workload.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
children=16

count() { ls "/proc/$vm_pid/$1" | wc -l; }
resident() {
	ctl 0 stat
	json_get "$TMPDIR_TEST/ctl.out" 's["vmm"]["second_level"]["frames"]["resident"]'
}

start_vm --paused --mem 64M --wss-period 0 --cmdline "workload=verify size=8M passes=4"
ctl 0 stat
grep -q '"state": "paused"' "$TMPDIR_TEST/ctl.out" || fail "--paused: the VM does not say it is paused"
fds=$(count fd)
threads=$(count task)
frames=$(resident)
ctl 0 fork --count $children
for _ in $(seq 1200); do
	ctl 0 stat
	n=$(grep -c '"state": "stopped"' "$TMPDIR_TEST/ctl.out")
	[ "$n" -eq $children ] && break
	sleep 0.1
done
[ "$n" -eq $children ] || fail "$n of $children children stopped within 120 s"
cp "$TMPDIR_TEST/ctl.out" "$TMPDIR_TEST/stat.json"
# The children's exits are still there, with their frames given back.
[ "$(json_get "$TMPDIR_TEST/stat.json" "sum(c['status'] == 0 and c['reason'] == 'guest reported success' and \
	c['private_frames'] == 0 for c in s['vmm']['second_level']['fork']['children'])")" -eq $children ] ||
	fail "stat does not report $children children that exited 0 with no frames left"
# A child's thread ends just after it is released: give it a moment.
for _ in $(seq 100); do [ "$(count task)" -le "$threads" ] && break; sleep 0.1; done
echo "before the fork: $fds fds, $threads threads, $frames frames resident;" \
	"after its $children children stopped: $(count fd) fds, $(count task) threads, $(resident) frames"
[ "$(count fd)" -le $((fds + 1)) ] || fail "fds: $fds before the fork, $(count fd) after the children stopped"
[ "$(count task)" -le "$threads" ] || fail "threads: $threads before the fork, $(count task) after"
# The image keeps the parent's frames; each child wrote 2048 of its own.
[ "$(resident)" -le $((frames + 256)) ] ||
	fail "resident frames: $frames before the fork, $(resident) after the children stopped"
ctl 0 resume
wait_vm 0
expect "$OUT" "^RESULT workload=verify .*ok=1"
[ "$(grep -c '^\[1\.[0-9]*\] RESULT workload=verify .*ok=1' "$OUT")" -eq $children ] ||
	fail "not every child verified its memory"
for i in $(seq $children); do
	expect "$ERR" "^vmm: fork child \[1\.$i\] exit 0: guest reported success$"
done
