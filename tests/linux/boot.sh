#!/bin/bash
# Debian's kernel boots under vmm's own memory manager to the test
# initramfs' /init, which runs what the command line names: its output is
# on stdout and its status is the run's (0, or 1 through the exit port).
# poweroff -f powers the machine off through ACPI (exit 0), reboot with
# reboot=t triple-faults it (exit 3), stdin reaches the guest's shell,
# and vmm stop ends it (exit 3).
. "$TESTLIB"
. "${TESTLIB%/*}/linux.sh"
need_linux_kvm
stats=$TMPDIR_TEST/stats.json

linux_run 0 --stats-json "$stats" -- 'sh -c "echo hello-from-linux; uname -sr; vmm-forkid"'
expect "$OUT" "^hello-from-linux$"
expect "$OUT" "^Linux 6\."
expect "$OUT" "^FORK generation=0 index=0$"
expect "$OUT" "^init: exit 0$"
[ "$(json_get "$stats" "s['vmm']['second_level']['faults']['zero_fill']['pages'] > 1000")" = True ] ||
	fail "the second level served too few zero-fill faults for a Linux boot"

linux_run 1 -- false
expect "$OUT" "^init: exit 1$"
expect "$ERR" "guest reported failure"

linux_run 0 --stats-json "$stats" -- poweroff -f
[ "$(json_get "$stats" "s['reason']")" = "guest powered off (ACPI S5)" ] ||
	fail "reason: $(json_get "$stats" "s['reason']")"

LINUX_KARGS="reboot=t " linux_run 3 -- reboot -f
expect "$ERR" "guest triple fault"

# Not a terminal: stdin goes to the guest as it comes.
LAST_CMD="printf ... | $VMM run (a shell on the console)"
printf 'echo typed-in-$((6 * 7))\nexit 5\n' |
	timeout -k 10 $((TIMEOUT + 60)) "$VMM" run --kernel "$LINUX_KERNEL" --initrd "$LINUX_INITRAMFS" \
		--mem 256M --timeout "$TIMEOUT" --cmdline "console=ttyS0 quiet" >"$OUT" 2>"$ERR"
status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1"
expect "$OUT" "^typed-in-42"
expect "$OUT" "^init: exit 5$"

# vmm stop ends a Linux guest that would run forever (exit 3), as any VM.
sock=$TMPDIR_TEST/vm0.sock
start_linux_vm -- vmm-counter 0
wait_line "$OUT" "^count=3 "
ctl 0 stop
wait_vm 3
expect "$ERR" "stopped by request"
