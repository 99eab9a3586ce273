#!/bin/bash
# A running VM you can talk to: stat, pause and resume during verify (the
# guest still verifies, and the stats show the pauses), 100 pause/resume
# cycles in a row, two clients at once, stop, and the socket's refusals.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
json=$TMPDIR_TEST/stat.json

# During verify: stat, pause, stat, resume, the refusals, malformed
# requests, two clients; then the guest finishes its verification.
start_vm --mem 64M --cmdline "workload=verify size=16M passes=500"
# Paused first, so that however slow this machine is, the guest cannot
# finish before the requests below were made.
ctl 0 pause
ctl 1 pause
grep -q "paused already" "$TMPDIR_TEST/ctl.err" || fail "a second pause was not refused as such"
ctl 0 stat
cp "$TMPDIR_TEST/ctl.out" "$json"
[ "$(json_get "$json" 's["state"]')" = paused ] || fail "stat while paused says $(json_get "$json" 's["state"]')"
ctl 0 resume
ctl 0 stat
grep -q '"state": "running"' "$TMPDIR_TEST/ctl.out" || fail "stat after resume: not running"
ctl 0 pause
# Each malformed request kind gets an error reply on one connection, and
# the VM runs on.
python3 - "$sock" >"$TMPDIR_TEST/bad.out" <<'PY' || fail "malformed requests: $(cat "$TMPDIR_TEST/bad.out")"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
bad = [b'{"cmd": ', b'[1]', b'{"id": 1}', b'{"cmd": 7}', b'{"cmd": "reboot"}',
       b'{"cmd": "stat", "x": [[[[[[[[[1]]]]]]]]]}', b'{"cmd": "stat", "cmd": "stop"}',
       b'{"cmd": "fork"}', b'\xff\xfe']
for line in bad:
    f.write(line + b"\n"); f.flush()
    r = json.loads(f.readline())
    assert r["ok"] is False and r["error"], (line, r)
f.write(b'{"id": 9, "cmd": "stat"}\n'); f.flush()
r = json.loads(f.readline())
assert r["ok"] and r["id"] == 9 and r["result"]["state"] == "paused", r
print("ok:", len(bad), "malformed requests refused, the VM runs on")
PY
# Two clients at once.
"$VMM" stat --control "$sock" >"$TMPDIR_TEST/a.json" & a=$!
"$VMM" stat --control "$sock" >"$TMPDIR_TEST/b.json" & b=$!
wait "$a" || fail "the first of two concurrent clients failed"
wait "$b" || fail "the second of two concurrent clients failed"
ctl 0 resume
ctl 1 resume
grep -q "not paused" "$TMPDIR_TEST/ctl.err" || fail "resume while running was not refused as such"
ctl 0 stat
cp "$TMPDIR_TEST/ctl.out" "$json"
[ "$(json_get "$json" 's["vmm"]["pause"]["pauses"]')" -eq 2 ] ||
	fail "pauses counted: $(json_get "$json" 's["vmm"]["pause"]')"
[ "$(json_get "$json" 's["vmm"]["pause"]["pause_ns"]["count"]')" -eq 2 ] || fail "no pause histogram"
wait_vm 0
expect "$OUT" "^RESULT workload=verify .*ok=1"
[ ! -e "$sock" ] || fail "the control socket was left behind at exit"
echo "ok: verify finished after two pauses"

# 100 pause/resume cycles in a row, counted; then stop. In the test VM,
# where each client is emulated, 10.
cycles=100
[ -z "${VMM_TESTVM:-}" ] || cycles=10
start_vm --mem 64M --cmdline "workload=verify size=16M passes=1000000"
for _ in $(seq $cycles); do
	ctl 0 pause
	ctl 0 resume
done
ctl 0 stat
cp "$TMPDIR_TEST/ctl.out" "$json"
[ "$(json_get "$json" 's["vmm"]["pause"]["resumes"]')" -eq $cycles ] ||
	fail "resumes counted: $(json_get "$json" 's["vmm"]["pause"]')"
ctl 0 stop
wait_vm 3
expect "$ERR" "stopped by request"
expect_not "$OUT" "ok=0"

# Pauses while the guest faults all the time (churn gives its pages back
# and touches them again): each pause waits for the fault in flight.
start_vm --mem 64M --cmdline "workload=churn size=8M passes=1000000"
for _ in $(seq $((cycles / 5))); do
	ctl 0 pause
	ctl 0 resume
done
ctl 0 stop
wait_vm 3

# stop: the guest is stopped, vmm exits 3 saying so.
start_vm --mem 64M --cmdline "workload=verify size=16M passes=1000000"
ctl 0 stop
wait_vm 3
expect "$ERR" "stopped by request"

# A socket file left by a killed vmm is replaced by the next one. The vmm
# itself is killed and waited for, by its pid.
start_vm --mem 64M --cmdline "workload=verify size=16M passes=1000000"
kill_vm KILL
[ -S "$sock" ] || fail "a killed vmm left no socket file: nothing to test"
start_vm --mem 64M --cmdline "workload=verify size=16M passes=1000000"
# While it runs, its socket is refused to another vmm, naming it.
run_vmm 2 run --kernel "$KERNEL" --control "$sock" --timeout 5
expect "$ERR" "in use by a running vmm \(pid $vm_pid holds $sock.lock\)"
ctl 0 stop
wait_vm 3
[ ! -e "$sock" ] && [ ! -e "$sock.lock" ] || fail "the socket or its lock file was left behind"

# A socket path that is an ordinary file, or a live socket, is refused.
: >"$sock"
run_vmm 2 run --kernel "$KERNEL" --control "$sock"
expect "$ERR" "not a socket"
rm -f "$sock"
ctl 2 stat
