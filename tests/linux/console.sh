#!/bin/bash
# With a terminal on stdin, vmm run is an interactive console: the
# terminal goes to raw mode, typed lines reach the guest's shell, which
# answers them, prompts show before their line ends; Ctrl-a x ends the VM
# (exit 3); and the terminal's settings are back as they were once vmm
# has exited, whichever way.
. "$TESTLIB"
. "${TESTLIB%/*}/linux.sh"
need_linux_kvm

# console.py STATUS INPUT... : vmm on a pty, each INPUT typed once the
# output so far matches the regex before it (pairs: REGEX INPUT); the
# output on stdout; fails unless vmm exits STATUS with the pty's settings
# back as they were.
cat >"$TMPDIR_TEST/console.py" <<'PY'
import os, pty, re, select, subprocess, sys, termios, time
want, steps, cmd = int(sys.argv[1]), sys.argv[2:-1], sys.argv[-1].split("\x1f")
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                     preexec_fn=lambda: __import__("fcntl").ioctl(0, termios.TIOCSCTTY, 0))
out, i = b"", 0
while p.poll() is None:
    r, _, _ = select.select([master], [], [], 1)
    if r:
        try:
            out += os.read(master, 4096)
        except OSError:
            break
    while i + 1 < len(steps) and re.search(steps[i].encode(), out):
        os.write(master, steps[i + 1].encode().decode("unicode_escape").encode("latin1"))
        i += 2
p.wait()
sys.stdout.write(out.decode("latin1").replace("\r", ""))
after = termios.tcgetattr(slave)
if p.returncode != want:
    sys.exit("vmm exited %d, expected %d" % (p.returncode, want))
if after != before:
    sys.exit("the terminal's settings were not restored")
if i + 1 < len(steps):
    sys.exit("never saw /%s/" % steps[i])
PY
vmm_cmd=$(printf '%s\x1f' "$VMM" run --kernel "$LINUX_KERNEL" --initrd "$LINUX_INITRAMFS" --mem 256M \
	--timeout "$TIMEOUT" --cmdline "console=ttyS0 quiet")
vmm_cmd=${vmm_cmd%$'\x1f'}

LAST_CMD="$VMM run on a pty: a shell answers typed commands"
timeout -k 10 $((TIMEOUT + 60)) python3 "$TMPDIR_TEST/console.py" 1 \
	'/ # ' 'echo pty-$((6 * 7))\r' 'pty-42' 'exit 4\r' "$vmm_cmd" >"$OUT" 2>"$ERR" ||
	fail "the interactive shell: $(cat "$ERR")"
expect "$OUT" "^pty-42"
expect "$OUT" "^init: exit 4"

LAST_CMD="$VMM run on a pty: Ctrl-a x"
timeout -k 10 $((TIMEOUT + 60)) python3 "$TMPDIR_TEST/console.py" 3 \
	'/ # ' '\x01x' "$vmm_cmd" >"$OUT" 2>"$ERR" || fail "Ctrl-a x: $(cat "$ERR")"
expect "$OUT" "stopped from the console \(Ctrl-a x\)"
