#!/bin/bash
# A user whom userfaultfd is not permitted to: the unit tests that need it
# skip saying why, and vmm names the setting that is missing instead of
# failing without a hint. vmm asks for userfaultfd before it opens
# /dev/kvm, so this needs no KVM: it runs on every host (as root, which
# runs its steps as the unprivileged user nobody). Booting as nobody is
# uffd-permission-boot.sh.
. "$TESTLIB"
[ "$(id -u)" -eq 0 ] || skip "needs root, to run steps as the unprivileged user nobody"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
[ "$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null)" = 0 ] ||
	skip "vm.unprivileged_userfaultfd is not 0 here: every user may use userfaultfd"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
as_nobody() { "${nobody[@]}" "$@"; }
as_nobody test -x "$CHECK_VMEM" -a -r "$KERNEL" ||
	skip "the build tree is not readable by an unprivileged user"
as_nobody test -r /dev/userfaultfd -a -w /dev/userfaultfd &&
	skip "/dev/userfaultfd is open to every user here: userfaultfd is permitted to nobody"

run_cmd 77 "${nobody[@]}" "$CHECK_VMEM"
expect "$OUT" "^SKIP: userfaultfd is not permitted here"

run_cmd 4 "${nobody[@]}" "$VMM" run --kernel "$KERNEL" --timeout "$TIMEOUT"
expect "$ERR" "userfaultfd is not permitted"
expect "$ERR" "vm.unprivileged_userfaultfd=1"
expect "$ERR" "--memory-manager=kernel"
expect_not "$ERR" "/dev/kvm"

# The host kernel's memory manager needs no userfaultfd: then /dev/kvm
# decides, and either boots or says what is missing.
if as_nobody test -r /dev/kvm -a -w /dev/kvm; then
	run_cmd 0 "${nobody[@]}" "$VMM" run --kernel "$KERNEL" --memory-manager=kernel \
		--timeout "$TIMEOUT"
	expect "$OUT" "^RESULT workload=touch .*ok=1"
else
	run_cmd 4 "${nobody[@]}" "$VMM" run --kernel "$KERNEL" --memory-manager=kernel \
		--timeout "$TIMEOUT"
	expect "$ERR" "/dev/kvm: permission denied: run as root or join the kvm group"
fi
