#!/bin/bash
# Memory per fork child: a 256 MiB guest that has written 200 MiB forks
# into 16 children, and each VM then writes the same 4 MiB over and over.
# The vmm's proportional set size (smaps_rollup's Pss) may grow by at most
# 16 x 5 MiB: the children share every page they only read. The parent
# is paused before the fork (it stays paused), so that the growth is the
# children's. The vmm's own count agrees: each child holds about
# 4 MiB of frames of its own and maps the rest from the fork image.
# Working-set sampling is off: its scans unmap pages the guest does not
# touch again, which would lower Pss whatever fork costs.
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
children=16
[ -z "${VMM_TESTVM:-}" ] || children=6 # emulated there: the same bound per child

pss_kb() {
	sed -n 's/^Pss: *\([0-9]*\) kB/\1/p' "/proc/$1/smaps_rollup"
}

# Pss of the frame store's mappings alone: guest memory, without the
# malloc arenas and thread stacks, whose growth varies from run to run
# (one run saw 9 MiB, another 28 MiB, for the same 16 children).
store_pss_kb() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { store = /memfd:frame-store/ }
	     store && /^Pss:/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps"
}

start_vm --mem 256M --wss-period 0 --cmdline "workload=verify size=200M wset=4M passes=100000 progress=1"
pid=$vm_pid
wait_line "$OUT" "^PASS workload=verify pass=2$"
ctl 0 pause
before=$(pss_kb "$pid")
store_before=$(store_pss_kb "$pid")
ctl 0 fork --count $children
for i in $(seq $children); do
	for _ in $(seq 1200); do
		[ "$(grep -c "^\[1\.$i\] PASS" "$OUT")" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(grep -c "^\[1\.$i\] PASS" "$OUT")" -ge 2 ] || fail "child 1.$i: not two passes in 120 s"
done
after=$(pss_kb "$pid")
store_after=$(store_pss_kb "$pid")
ctl 0 stat
cp "$TMPDIR_TEST/ctl.out" "$TMPDIR_TEST/stat.json"
ctl 0 resume
ctl 0 stop # and the children
wait_vm 3
own=$(sed -n 's/^ *"private_frames": \([0-9]*\).*/\1/p' "$TMPDIR_TEST/stat.json" | awk '{s += $1} END {print s * 4}')
echo "Pss before the fork ${before} kB, after ${after} kB: +$((after - before)) kB for $children children;" \
	"frames of their own (the parent's too): ${own} kB"
echo "of which the frame store's mappings: +$((store_after - store_before)) kB"
[ $((store_after - store_before)) -le $((children * 5 * 1024)) ] ||
	fail "the frame store's Pss grew by $((store_after - store_before)) kB, more than $children x 5 MiB"
# Each child: about 1024 frames of its own (4 MiB), the rest shared.
sed -n 's/^ *"private_frames": \([0-9]*\).*/\1/p' "$TMPDIR_TEST/stat.json" | tail -n $children >"$TMPDIR_TEST/private"
[ "$(wc -l <"$TMPDIR_TEST/private")" -eq $children ] || fail "stat: not $children children's private_frames"
while read -r n; do
	[ "$n" -ge 1024 ] && [ "$n" -le 1280 ] || fail "a child holds $n frames of its own, expected 1024 to 1280"
done <"$TMPDIR_TEST/private"
expect "$TMPDIR_TEST/stat.json" '"shared_frames": [1-9][0-9]{4}'
