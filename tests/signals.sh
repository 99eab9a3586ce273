#!/bin/bash
# SIGTERM and SIGINT stop a vmm as vmm stop does (issue 16, 7): exit 3
# "stopped by signal", the control socket and its lock file removed, the
# --stats-json report written, fork children stopped too, and a snapshot
# being written given up with its DIR.tmp removed, so that the next
# snapshot to DIR is not refused. The signal goes to the vmm itself.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
stats=$TMPDIR_TEST/stats.json

stopped_cleanly() { # stopped_cleanly SIGNAL
	expect "$ERR" "^vmm: stopped by signal \\(SIG$1\\)$"
	[ ! -e "$sock" ] && [ ! -e "$sock.lock" ] || fail "SIG$1: the socket or its lock file was left"
	[ "$(json_get "$stats" 's["status"]')" = 3 ] || fail "SIG$1: the report's status is not 3"
	[ "$(json_get "$stats" 's["reason"]')" = "stopped by signal (SIG$1)" ] ||
		fail "SIG$1: the report's reason: $(json_get "$stats" 's["reason"]')"
	echo "ok: SIG$1 stopped the vmm: exit 3, socket removed, report written"
}

# SIGTERM, as timeout(1) sends it.
start_vm --mem 64M --stats-json "$stats" --cmdline "workload=verify size=16M passes=1000000"
wait_stat resident 1000
kill_vm TERM
wait_vm 3
stopped_cleanly TERM

# SIGINT, with fork children: they stop too, and say why.
start_vm --mem 64M --stats-json "$stats" --cmdline "workload=verify size=8M passes=1000000 progress=10"
ctl 0 fork --count 2
for i in 1 2; do wait_line "$OUT" "^\[1\.$i\] PASS"; done
kill_vm INT
wait_vm 3
stopped_cleanly INT
for i in 1 2; do
	expect "$ERR" "^vmm: fork child \[1\.$i\] exit 3: stopped by signal \(SIGINT\)$"
done

# A snapshot being written when SIGTERM comes: given up, its DIR.tmp
# removed. The signal is sent the moment the snapshot request is answered:
# the guest runs again then, and 400 MiB are still to be written (40 MiB
# were written in 70 ms once writes were batched: before the signal came).
snap=$TMPDIR_TEST/snap0
start_vm --mem 512M --stats-json "$stats" --cmdline "workload=verify size=400M passes=1000000"
wait_stat resident 100000
python3 - "$sock" "$snap" "$vm_pid" <<'PY' || fail "snapshot request: $(cat "$TMPDIR_TEST/ctl.err")"
import json, os, signal, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"cmd": "snapshot", "out": sys.argv[2]}).encode() + b"\n")
r = json.loads(s.makefile("rb").readline())
os.kill(int(sys.argv[3]), signal.SIGTERM)
assert r["ok"] and r["result"]["phase"] == "writing", r
print("snapshot answered", r["result"]["pages_done"], "of", r["result"]["pages_total"], "pages")
PY
wait_vm 3
stopped_cleanly TERM
expect "$ERR" "^vmm: snapshot .*snap0 failed: aborted: stopped by signal \(SIGTERM\)$"
[ ! -e "$snap.tmp" ] || fail "the snapshot's $snap.tmp was left behind"
[ ! -e "$snap" ] || fail "an aborted snapshot is at $snap"
# The next snapshot to the same directory is not refused.
start_vm --mem 64M --cmdline "workload=verify size=8M passes=1000000"
ctl 0 snapshot --out "$snap"
ctl 0 stop
wait_vm 3
[ -f "$snap/snapshot" ] || fail "no snapshot at $snap after the aborted one"
echo "ok: the aborted snapshot left nothing, and the next one to $snap was written"
