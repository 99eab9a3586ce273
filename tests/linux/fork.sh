#!/bin/bash
# A running Linux guest (vmm-counter) is forked into 4 children in its
# vmm process: each child learns it is one from the fork identity port
# (read from Linux user space through /dev/port) and goes on counting from
# the fork point, as the parent does; all of them exit 0.
. "$TESTLIB"
. "${TESTLIB%/*}/linux.sh"
need_linux_kvm
sock=$TMPDIR_TEST/vm0.sock

start_linux_vm -- vmm-counter 40
wait_line "$OUT" "^count=10 "
ctl 0 fork --count 4
expect "$TMPDIR_TEST/ctl.out" '"count": 4'
wait_vm 0
expect "$OUT" "^count=40 "
expect "$OUT" "^init: exit 0$"
expect_not "$OUT" "^FORK"
for i in 1 2 3 4; do
	expect "$OUT" "^\[1\.$i\] FORK generation=1 index=$i$"
	expect "$OUT" "^\[1\.$i\] count=40 "
	expect "$OUT" "^\[1\.$i\] init: exit 0$"
	expect "$ERR" "^vmm: fork child \[1\.$i\] exit 0: guest reported success$"
	first=$(sed -n "s/^\[1\.$i\] count=\([0-9]*\) .*/\1/p" "$OUT" | head -n1)
	[ "${first:-0}" -gt 10 ] || fail "child 1.$i counted from ${first:-nothing}, not on from the fork point"
done
