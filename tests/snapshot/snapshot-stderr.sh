#!/bin/bash
# No I/O under a lock (issue 16, 10): the snapshot writer reports on
# stderr once the snapshot is on disk. With stderr blocked (a full pipe
# no one reads), that report waits, but snapshot-status must not wait
# with it: the writer once printed holding the lock that status takes.
# The pipe is then read, and stop ends the vmm as usual.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
LAST_CMD="$VMM run --paused --control $sock (stderr: a full pipe)"
python3 - "$VMM" "$KERNEL" "$sock" "$TMPDIR_TEST/snap0" "$TIMEOUT" >"$OUT" 2>"$ERR" <<'PY' ||
import fcntl, json, os, socket, subprocess, sys, threading, time
vmm, kernel, sock, snap, timeout = sys.argv[1:6]
r, w = os.pipe()
size = fcntl.fcntl(w, 1032)  # F_GETPIPE_SZ
os.write(w, b"x" * size)     # full: the vmm's next write to stderr blocks
p = subprocess.Popen([vmm, "run", "--kernel", kernel, "--paused", "--control", sock,
                      "--timeout", timeout, "--mem", "64M",
                      "--cmdline", "workload=verify size=8M passes=4"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w)
os.close(w)

def connect():
    for _ in range(600):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.settimeout(30)
            return s.makefile("rwb")
        except OSError:
            time.sleep(0.1)
    sys.exit("no control socket")

def ask(f, **req):
    f.write(json.dumps(req).encode() + b"\n"); f.flush()
    return json.loads(f.readline())

try:
    f = connect()
    r1 = ask(f, cmd="snapshot", out=snap)
    assert r1["ok"], r1
    for _ in range(600):  # the writer reports once it is done, and blocks there
        st = ask(f, cmd="snapshot-status", snapshot=r1["result"]["snapshot"])
        if st["result"]["phase"] != "writing":
            break
        time.sleep(0.1)
    assert st["result"]["phase"] == "done", st
    print("ok: snapshot-status answered while stderr was blocked:", st["result"]["phase"])
except (socket.timeout, TimeoutError):
    p.kill()
    sys.exit("snapshot-status got no answer while stderr was blocked")
def drain():  # stderr read at last: the vmm goes on
    while os.read(r, 1 << 16):
        pass
threading.Thread(target=drain, daemon=True).start()
assert ask(f, cmd="stop")["ok"]
sys.exit(0 if p.wait(timeout=120) == 3 else "vmm did not exit 3")
PY
	fail "$(tail -1 "$ERR")"
echo "ok: the report waited for stderr, status did not"
