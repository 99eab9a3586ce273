#!/bin/bash
# A user whom userfaultfd is not permitted to: the unit tests that need it
# skip saying why, and vmm names the setting that is missing instead of
# failing without a hint. Where /dev/userfaultfd lets the user in (Linux
# 6.1+), the default memory manager works through it.
. "$TESTLIB"
[ "$(id -u)" -eq 0 ] || skip "needs root, to run steps as the unprivileged user nobody"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
[ "$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null)" = 0 ] ||
	skip "vm.unprivileged_userfaultfd is not 0 here: every user may use userfaultfd"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
as_nobody() { "${nobody[@]}" "$@"; }
as_nobody test -x "$CHECK_VMEM" -a -r "$KERNEL" ||
	skip "the build tree is not readable by an unprivileged user"
shared=$TMPDIR_TEST/nobody
mkdir -m 1777 "$shared"
chmod 755 "$TMPDIR_TEST"

if ! as_nobody test -r /dev/userfaultfd -a -w /dev/userfaultfd; then
	run_cmd 77 "${nobody[@]}" "$CHECK_VMEM"
	expect "$OUT" "^SKIP: userfaultfd is not permitted here"
fi

need_kvm
as_nobody test -r /dev/kvm -a -w /dev/kvm || skip "/dev/kvm is not open to an unprivileged user here"
if ! as_nobody test -r /dev/userfaultfd -a -w /dev/userfaultfd; then
	run_cmd 4 "${nobody[@]}" "$VMM" run --kernel "$KERNEL" --timeout "$TIMEOUT"
	expect "$ERR" "userfaultfd is not permitted"
	expect "$ERR" "vm.unprivileged_userfaultfd=1"
	expect "$ERR" "--memory-manager=kernel"
fi

# The fallback itself, where changing the device is harmless: the test VM.
[ -n "${VMM_TESTVM:-}" ] || skip "opening /dev/userfaultfd to nobody is done only inside the test VM"
chmod 666 /dev/userfaultfd
run_cmd 0 "${nobody[@]}" "$VMM" run --kernel "$KERNEL" --timeout "$TIMEOUT" \
	--cmdline "workload=verify size=2M" --stats-json "$shared/stats.json"
expect "$OUT" "^RESULT workload=verify .*ok=1"
[ "$(json_get "$shared/stats.json" 's["vmm"]["second_level"]["userfaultfd"]["opened_via"]')" = /dev/userfaultfd ] ||
	fail "stats do not say userfaultfd was opened through /dev/userfaultfd"
