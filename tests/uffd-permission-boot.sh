#!/bin/bash
# Booting as an unprivileged user: where /dev/userfaultfd lets the user in
# (Linux 6.1+), the default memory manager works through it, and the
# statistics say which way userfaultfd was opened. It needs /dev/kvm open
# to that user, and changes the mode of /dev/userfaultfd, which is done
# only inside the test VM (restored when the test ends).
. "$TESTLIB"
need_kvm
[ "$(id -u)" -eq 0 ] || skip "needs root, to run steps as the unprivileged user nobody"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
as_nobody() { "${nobody[@]}" "$@"; }
as_nobody test -r /dev/kvm -a -w /dev/kvm ||
	skip "/dev/kvm is not open to an unprivileged user here ($(stat -c %a /dev/kvm)): booting as nobody runs in the test VM"
[ -n "${VMM_TESTVM:-}" ] || skip "opening /dev/userfaultfd to nobody is done only inside the test VM"
[ -c /dev/userfaultfd ] || fail "no /dev/userfaultfd (Linux 6.1 and later have it)"
as_nobody test -x "$VMM" -a -r "$KERNEL" || skip "the build tree is not readable by an unprivileged user"
shared=$TMPDIR_TEST/nobody
mkdir -m 1777 "$shared"
chmod 755 "$TMPDIR_TEST"
mode=$(stat -c %a /dev/userfaultfd)
trap 'chmod "$mode" /dev/userfaultfd; rm -rf "$TMPDIR_TEST"' EXIT
chmod 666 /dev/userfaultfd
run_cmd 0 "${nobody[@]}" "$VMM" run --kernel "$KERNEL" --timeout "$TIMEOUT" \
	--cmdline "workload=verify size=2M" --stats-json "$shared/stats.json"
expect "$OUT" "^RESULT workload=verify .*ok=1"
[ "$(json_get "$shared/stats.json" 's["vmm"]["second_level"]["userfaultfd"]["opened_via"]')" = /dev/userfaultfd ] ||
	fail "stats do not say userfaultfd was opened through /dev/userfaultfd"
