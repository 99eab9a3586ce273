#!/usr/bin/env python3
"""Write valid hypercall requests as seeds for fuzz_hcall into DIR.

Each seed is what the fuzz target reads: one byte choosing the memory
manager (odd: the VMM's own), then the hypercall block placed at GPA
0x10000, then the lists it points to, placed right after the block.
"""
import os
import struct
import sys

BLOCK = 0x10000
LIST = BLOCK + 32
LINE, DISCARD, COPY = 1, 2, 3


def block(nr, count, arg0, arg1):
    return struct.pack("<IIQQq", nr, count, arg0, arg1, 1)


def seeds():
    text = b"hello from the guest"
    yield "line", block(LINE, 0, LIST, len(text)) + text
    pages = [0x200000 + i * 4096 for i in range(4)]
    yield "discard", block(DISCARD, len(pages), LIST, 0) + struct.pack("<4Q", *pages)
    pairs = [(0x300000 + i * 4096, 0x200000) for i in range(4)]
    flat = [x for pair in pairs for x in pair]
    yield "copy", block(COPY, len(pairs), LIST, 0) + struct.pack("<8Q", *flat)
    many = [(0x100000 + i * 4096, BLOCK) for i in range(100)]
    flat = [x for pair in many for x in pair]
    yield "copy-past-budget", block(COPY, len(many), LIST, 0) + struct.pack("<200Q", *flat)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, body in seeds():
        for manager in (0, 1):
            with open(os.path.join(out, f"{name}-{manager}"), "wb") as f:
                f.write(bytes([manager]) + body)


if __name__ == "__main__":
    main()
