#!/usr/bin/env python3
"""Write control-socket sessions as seeds for fuzz_control into DIR.

Each seed is what the fuzz target reads: one byte (bit 0: the client reads
its replies), then what the client sends. Besides one valid request of
each command, the inputs that once broke the server (docs/control.md):
a client that pipelines requests and reads no reply, nesting that took
exponential time, a line past 4096 bytes, an id past 64 bits.
"""
import os
import sys


def line(s):
    return s.encode() + b"\n"


def seeds():
    for cmd in ("stat", "pause", "resume", "stop", "snapshot-status"):
        yield cmd, line('{"id": 1, "cmd": "%s"}' % cmd)
    yield "snapshot", line('{"id": 1, "cmd": "snapshot", "out": "/nonexistent/s"}')
    yield "fork", line('{"id": 1, "cmd": "fork", "count": 2}')
    yield "pause-resume", line('{"cmd": "pause"}') + line('{"cmd": "resume"}') * 2
    yield "malformed", b"".join(line(s) for s in (
        '{"cmd": ', "[1]", '{"id": 1}', '{"cmd": 7}', '{"cmd": "reboot"}',
        '{"cmd": "stat", "cmd": "stop"}', '{"cmd": "fork"}')) + b"\xff\xfe\n"
    # Issue 16, 1: 250 stat requests, none of the replies read.
    yield "pipelined-unread", line('{"cmd": "stat"}') * 250
    # Issue 16, 2: each level was looked at twice.
    yield "deep-nesting", line('{"cmd":"stat","x":' + "[" * 60 + "]" * 60 + "}")
    yield "nesting-9", line('{"cmd": "stat", "x": [[[[[[[[[1]]]]]]]]]}')
    # Issue 16, 14: a line past 4096 bytes, then more; an id past 64 bits.
    yield "long-line", b" " * 6000 + b"\n" + line('{"cmd": "stat"}')
    yield "big-id", line('{"id": 12345678901234567890, "cmd": "stat"}')
    yield "half-line", b'{"cmd": "st'


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, body in seeds():
        for reads in (0, 1):
            with open(os.path.join(out, f"{name}-{reads}"), "wb") as f:
                f.write(bytes([reads]) + body)


if __name__ == "__main__":
    main()
