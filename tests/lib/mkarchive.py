#!/usr/bin/env python3
"""tests/lib/mkarchive.py OUT [SEED]: a cpio "newc" archive for the guest's
mmapfile workload, written directly (no cpio(1) needed).

It holds files of awkward sizes (empty, one byte, a page less one, a
page, a page and one, several pages, 64 KiB), with contents from SEED,
a directory entry (which the guest skips), and "manifest": one line per
regular file, "<FNV-1a 64 in hex> <size> <name>", in archive order.
"""
import random
import sys

FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
SIZES = [0, 1, 4095, 4096, 4097, 3 * 4096 + 17, 65536]


def fnv1a(data):
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def entry(ino, name, mode, data=b""):
    """One newc entry: header, name padded to 4, data padded to 4."""
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
    head = b"070701" + b"".join(b"%08x" % f for f in fields) + name_b
    head += b"\0" * (-len(head) % 4)
    return head + data + b"\0" * (-len(data) % 4)


def main():
    out, seed = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    files = [(f"data/f{i}-{n}", bytes(rng.randrange(256) for _ in range(n)))
             for i, n in enumerate(SIZES)]
    manifest = "".join(f"{fnv1a(d):x} {len(d)} {name}\n" for name, d in files).encode()
    blob = entry(1, "data", 0o040755)
    for ino, (name, data) in enumerate([("manifest", manifest)] + files, start=2):
        blob += entry(ino, name, 0o100644, data)
    blob += entry(0, "TRAILER!!!", 0)
    blob += b"\0" * (-len(blob) % 512)
    with open(out, "wb") as f:
        f.write(blob)


if __name__ == "__main__":
    main()
