#!/bin/bash
# Each snapshot of a VM has a number, in the snapshot reply, and
# snapshot-status answers for the snapshot it names (issue 16, 3): a
# client follows its own snapshot, not whichever another client started
# since. vmm snapshot prints its own summary. The VM stays paused
# (--paused), so nothing depends on how fast the guest runs.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock

start_vm --paused --mem 64M --cmdline "workload=verify size=8M passes=4"
for name in a b; do
	ctl 0 snapshot --out "$TMPDIR_TEST/$name"
	cp "$TMPDIR_TEST/ctl.out" "$TMPDIR_TEST/$name.json"
	[ "$(json_get "$TMPDIR_TEST/$name.json" 's["dir"]')" = "$TMPDIR_TEST/$name" ] ||
		fail "vmm snapshot --out $name printed the summary of $(json_get "$TMPDIR_TEST/$name.json" 's["dir"]')"
done
[ "$(json_get "$TMPDIR_TEST/a.json" 's["snapshot"]')" = 1 ] &&
	[ "$(json_get "$TMPDIR_TEST/b.json" 's["snapshot"]')" = 2 ] || fail "snapshots not numbered 1 and 2"
python3 - "$sock" "$TMPDIR_TEST" <<'PY' || fail "snapshot-status by number"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
def status(**kw):
    f.write(json.dumps(dict(cmd="snapshot-status", **kw)).encode() + b"\n"); f.flush()
    return json.loads(f.readline())
for n, name in ((1, "a"), (2, "b")):
    r = status(snapshot=n)
    assert r["ok"] and r["result"]["dir"] == f"{sys.argv[2]}/{name}", (n, r)
    assert r["result"]["phase"] == "done" and r["result"]["snapshot"] == n, (n, r)
r = status()
assert r["ok"] and r["result"]["snapshot"] == 2, r
r = status(snapshot=3)
assert not r["ok"] and "no snapshot 3" in r["error"], r
r = status(snapshot="1")
assert not r["ok"] and "expected \"snapshot\"" in r["error"], r
print("ok: snapshot-status answers for the snapshot it names")
PY
ctl 0 resume
wait_vm 0
