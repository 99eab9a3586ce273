"""bench/benchlib.py: helpers shared by the bench/ scripts.

Imported by the bench/ scripts, which sit beside it; they set
sys.dont_write_bytecode first so that nothing is written to the source tree.
"""

import json
import os
import queue
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

QEMU_EXIT_SUCCESS = 1  # isa-debug-exit: (0 << 1) | 1


def environment():
    """One line naming where the figures were measured: a table means
    nothing without it, and under TCG only ratios within one run do."""
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    where = f"kernel {os.uname().release}, {os.cpu_count()} CPUs ({cpu}), KVM: {kvm_kind()}"
    if os.environ.get("VMM_TESTVM"):
        return ("environment: the nested test VM (QEMU TCG -cpu max, nested SVM), " + where +
                "; everything is emulated: only ratios within this run mean anything")
    return "environment: this host, " + where


def kvm_kind():
    """Which KVM /dev/kvm is: the module that provides it, and what that means here."""
    kinds = {
        "kvm_pvm": "kvm_pvm (PVM: shadow paging, guest kernel mode partly emulated)",
        "kvm_amd": "kvm_amd (SVM, nested paging {npt})",
        "kvm_intel": "kvm_intel (VMX, EPT {ept})",
    }
    for mod, text in kinds.items():
        if os.path.isdir(f"/sys/module/{mod}"):
            def param(name):
                try:
                    with open(f"/sys/module/{mod}/parameters/{name}") as f:
                        return "on" if f.read().strip() in ("1", "Y") else "off"
                except OSError:
                    return "?"
            return text.format(npt=param("npt"), ept=param("ept"))
    return "none loaded"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def verdict(ok, measured):
    if measured is None:
        return "not measured"
    return ("met" if ok else "MISSED") + f" ({measured})"


def table_row(cells, width):
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, width)) + " |"


def table(head, rows):
    """A Markdown-style table, as lines."""
    width = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    sep = "|" + "|".join("-" * (w + 2) for w in width) + "|"
    return [table_row(head, width), sep] + [table_row(r, width) for r in rows]


def qemu_argv(qemu, machine, kernel, cmdline, mem="64M"):
    # -display none, not -nographic: SeaBIOS then keeps off the serial line,
    # so the first line on stdout is the kernel's under both machines.
    return [qemu, "-accel", "kvm", "-M", machine, "-m", mem, "-kernel", kernel,
            "-append", cmdline, "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
            "-display", "none", "-no-reboot", "-nodefaults", "-serial", "stdio"]


def run_exit_rtt(path, timeout):
    """(ns per exit, exit_rtt's line) or (None, a sentence saying why not)."""
    if not os.access(path, os.X_OK):
        return None, f"{path} not built (make -C bench exit_rtt)"
    try:
        r = subprocess.run([path], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    m = re.search(r"ns_per_exit=(\d+)", r.stdout)
    if r.returncode or not m:
        return None, (r.stderr.strip() or f"exit status {r.returncode}")
    return int(m.group(1)), r.stdout.strip()


def exit_rtt_summary(rtt):
    if rtt[0] is None:
        return f"exit round trip floor: not measured: {rtt[1]}"
    loop = re.search(r"guest_loop_ns=(\d+)", rtt[1])
    share = f", of which the guest's loop takes {int(loop.group(1)) / 1000:.1f} us" if loop else ""
    return (f"exit round trip floor (exit_rtt: bare KVM, OUT loop): {rtt[0] / 1000:.1f} us "
            f"per exit{share}\n  [{rtt[1]}]")


def env_count(prog, name, default):
    v = os.environ.get(name, str(default))
    if not v.isdigit():
        sys.exit(f"{prog}: {name}={v}: expected a whole number of runs")
    return int(v)


def gnuplot(script, png):
    """Run a gnuplot script; a sentence for the report either way."""
    if not shutil.which("gnuplot"):
        return "no plot: gnuplot not installed (apt install gnuplot-nox)"
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode:
        return f"no plot: gnuplot failed: {r.stderr.strip()[:200]}"
    return f"plot: {png}"


def gnuplot_dumb(script):
    """Run a gnuplot script that draws on the dumb terminal: its text, as
    lines, or one line saying why there is no plot."""
    if not shutil.which("gnuplot"):
        return ["no plot: gnuplot not installed (apt install gnuplot-nox)"]
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode:
        return [f"no plot: gnuplot failed: {r.stderr.strip()[:200]}"]
    return [l.rstrip() for l in r.stdout.splitlines()]


# ---- processes: the guest's console and the vmm's socket ------------------


def now():
    return time.monotonic()


class Console:
    """A child's stdout, line by line, each with the monotonic time it came."""

    def __init__(self, pipe):
        self.lines = []
        self.cv = threading.Condition()
        self.closed = False
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe):
        for raw in iter(pipe.readline, b""):
            line = raw.decode(errors="replace").strip()
            with self.cv:
                self.lines.append((now(), line))
                self.cv.notify_all()
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def wait(self, pred, timeout, start=0):
        """The first (time, line, index) from index start on that pred accepts, or None."""
        deadline = now() + timeout
        i = start
        with self.cv:
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i][1]):
                        return self.lines[i] + (i,)
                    i += 1
                left = deadline - now()
                if self.closed or left <= 0:
                    return None
                self.cv.wait(left)

    def mark(self):
        with self.cv:
            return len(self.lines)

    def tail(self, n=3):
        with self.cv:
            return " | ".join(l for _, l in self.lines[-n:])


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def stderr_tail(err):
    err.seek(0)
    s = err.read().strip()
    return s.splitlines()[-1] if s else ""


def wait_socket(sock, p, timeout):
    deadline = now() + timeout
    while not os.path.exists(sock):
        if p.poll() is not None or now() > deadline:
            return False
        time.sleep(0.002)
    return True


# ---- QEMU's machine protocol ---------------------------------------------


class QMP:
    """A QMP client: commands in order, events kept with the time they came."""

    def __init__(self, path, timeout):
        deadline = now() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if now() > deadline:
                    raise RuntimeError(f"QMP socket {path}: no QEMU listening after {timeout} s")
                time.sleep(0.005)
        self.f = self.s.makefile("rb")
        self.replies = queue.Queue()
        self.events = []
        self.cv = threading.Condition()
        json.loads(self.f.readline())  # the greeting
        threading.Thread(target=self._read, daemon=True).start()
        self.cmd("qmp_capabilities")

    def _read(self):
        try:
            for raw in iter(self.f.readline, b""):
                self._one(json.loads(raw))
        except (OSError, ValueError):
            pass  # QEMU went away: the waiters time out or get the error below
        self.replies.put({"error": {"desc": "QMP connection closed"}})

    def _one(self, msg):
        if "event" in msg:
            with self.cv:
                self.events.append((now(), msg))
                self.cv.notify_all()
        else:
            self.replies.put(msg)

    def cmd(self, name, timeout=600, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        r = self.replies.get(timeout=timeout)
        if "error" in r:
            raise RuntimeError(f"QMP {name}: {r['error'].get('desc')}")
        return r["return"]

    def hmp(self, line, timeout=600):
        return self.cmd("human-monitor-command", timeout=timeout, **{"command-line": line})

    def event(self, name, after, timeout, pred=lambda m: True):
        """Time of the first event called name received after `after`, or None."""
        deadline = now() + timeout
        with self.cv:
            while True:
                for t, m in self.events:
                    if t >= after and m["event"] == name and pred(m):
                        return t
                left = deadline - now()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def close(self):
        self.s.close()
