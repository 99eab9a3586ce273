#!/bin/bash
# Bad kernels and bad options: exit 2 with a message naming the problem,
# never a crash or a signal.
. "$TESTLIB"
d=$TMPDIR_TEST

echo "not a kernel" >"$d/text"
run_vmm 2 run --kernel "$d/text"
expect "$ERR" "$d/text: neither an ELF .* nor a bzImage"

cp "$KERNEL" "$d/elf32"
printf '\001' | dd of="$d/elf32" bs=1 seek=4 conv=notrunc status=none
run_vmm 2 run --kernel "$d/elf32"
expect "$ERR" "not ELF32"

head -c 40 "$KERNEL" >"$d/short"
run_vmm 2 run --kernel "$d/short"
expect "$ERR" "truncated ELF header"

head -c 2000 "$KERNEL" >"$d/cut"
run_vmm 2 run --kernel "$d/cut"
expect "$ERR" "runs past end of file"

# Cut inside the section header table: every segment survives, the table
# the ELF header points to (e_shoff, at byte 40) does not.
shoff=$(od -An -t u8 -j 40 -N 8 "$KERNEL" | tr -d ' ')
head -c $((shoff + 100)) "$KERNEL" >"$d/cut-sections"
run_vmm 2 run --kernel "$d/cut-sections"
expect "$ERR" "cut-sections: section header table at offset $(printf '%#x' "$shoff") .* runs past end of file"

# A kernel whose last segment holds 5 MiB of file bytes cannot be loaded
# under a 4 MiB --host-mem: refused up front, naming the option and the
# least that would do.
python3 - "$KERNEL" "$d/big.elf" <<'PY'
import struct, sys
k = bytearray(open(sys.argv[1], "rb").read())
phoff, = struct.unpack_from("<Q", k, 32)
phnum, = struct.unpack_from("<H", k, 56)
last = max(i for i in range(phnum) if struct.unpack_from("<I", k, phoff + 56 * i)[0] == 1)
ph = phoff + 56 * last
off, = struct.unpack_from("<Q", k, ph + 8)
struct.pack_into("<QQ", k, ph + 32, 5 << 20, 5 << 20)  # p_filesz, p_memsz
k[off + (5 << 20):] = b""
k += bytes(off + (5 << 20) - len(k))
open(sys.argv[2], "wb").write(k)
PY
run_vmm 2 run --kernel "$d/big.elf" --host-mem 4M
expect "$ERR" "--host-mem: 4096K: expected at least 5[0-9]{3}K, for the kernel's 1[0-9]{3} pages and [0-9]+ pages of boot data"

# An initrd that is not a regular file, is empty, does not fit under the
# kernel, or does not fit the budget: refused before the guest runs.
mkfifo "$d/fifo"
run_vmm 2 run --kernel "$KERNEL" --initrd "$d/fifo"
expect "$ERR" "fifo: expected a regular file"
: >"$d/empty.cpio"
run_vmm 2 run --kernel "$KERNEL" --initrd "$d/empty.cpio"
expect "$ERR" "--initrd: .*empty.cpio: empty file"
head -c $((5 << 20)) /dev/zero >"$d/big.cpio"
run_vmm 2 run --kernel "$KERNEL" --initrd "$d/big.cpio" --mem 4M
expect "$ERR" "--initrd: .*big.cpio: 5242880 bytes do not fit in low RAM between the kernel's end \\(GPA 0x[0-9a-f]+\\) and GPA 0x400000"
run_vmm 2 run --kernel "$KERNEL" --initrd "$d/big.cpio" --mem 16M --host-mem 4M
expect "$ERR" "--host-mem: 4096K: expected at least [0-9]+K, for the kernel's and initrd's [0-9]+ pages"
run_vmm 2 restore "$d" --initrd "$d/big.cpio"
expect "$ERR" "--initrd: not an option of restore"

# A valid ELF64 x86-64 executable that is not a PVH kernel.
cc -static -nostdlib -o "$d/nopvh" -x c - <<<'void _start(void) { for (;;); }' 2>/dev/null &&
	{ run_vmm 2 run --kernel "$d/nopvh"; expect "$ERR" "no PVH entry note|overlaps the VMM|outside guest RAM"; }

run_vmm 2 run --kernel "$d/missing.elf"
expect "$ERR" "missing.elf: open: No such file"

run_vmm 2 run --kernel "$KERNEL" --mem 12Q
expect "$ERR" "--mem"
run_vmm 2 run --kernel "$KERNEL" --mem 1M
expect "$ERR" "--mem: 1M: expected"
run_vmm 2 run --bogus
expect "$ERR" "bogus"
run_vmm 2 frobnicate
expect "$ERR" "unknown command 'frobnicate'"
run_vmm 2 run --timeout -5
expect "$ERR" "--timeout"
run_vmm 2 run --kernel "$KERNEL" --timeout 0
expect "$ERR" "--timeout: '0': expected 1 or more seconds"
run_vmm 2 run --kernel "$KERNEL" --stats-interval 0
expect "$ERR" "--stats-interval: '0': expected 1 or more seconds"
run_vmm 2 run --kernel "$KERNEL" --control ""
expect "$ERR" "--control"
run_vmm 2 stat
expect "$ERR" "--control PATH is needed"
run_vmm 2 pause --control "$d/no-such.sock"
expect "$ERR" "no-such.sock: --control: connect"
run_vmm 2 run -xy
expect "$ERR" "unknown option '-x' in '-xy'"
run_vmm 2 run --kernel "$KERNEL" --stats-json ""
expect "$ERR" "--stats-json: empty path"
run_vmm 0 run -h
expect "$OUT" "usage: vmm run"

# A report over one of the run's inputs is refused, and the input is kept.
cp "$KERNEL" "$d/k.elf"
ln -s k.elf "$d/k-link.json"
run_vmm 2 run --kernel "$d/k.elf" --stats-json "$d/k-link.json"
expect "$ERR" "--stats-json: .*k-link.json is .*k.elf, an input of this run"
cmp -s "$KERNEL" "$d/k.elf" || fail "--stats-json overwrote the kernel image"

# A swap file over one of the run's inputs is refused before its first
# block is written (issue 16, 4), and so is a report over the swap file.
run_vmm 2 run --kernel "$d/k.elf" --swap "$d/k.elf" --swap-size 1M
expect "$ERR" "--swap: .*k.elf is .*k.elf, an input of this run"
ln "$d/k.elf" "$d/k-hardlink"
run_vmm 2 run --kernel "$d/k.elf" --swap "$d/k-hardlink" --swap-size 1M
expect "$ERR" "--swap: .*k-hardlink is .*k.elf, an input of this run"
cmp -s "$KERNEL" "$d/k.elf" || fail "--swap overwrote the kernel image"
: >"$d/s.swap"
run_vmm 2 run --kernel "$d/k.elf" --swap "$d/s.swap" --swap-size 1M --stats-json "$d/s.swap"
expect "$ERR" "--stats-json: .*s.swap is .*s.swap, an input of this run"

# A FIFO for a kernel is refused before it is opened: open() would wait
# for a writer, before --timeout is armed (issue 16, 8).
mkfifo "$d/fifo.elf"
run_vmm 2 run --kernel "$d/fifo.elf" --timeout 10
expect "$ERR" "fifo.elf: expected a regular file"

# An unwritable report is refused before the guest runs, not after.
run_vmm 2 run --kernel "$KERNEL" --stats-json "$d/no/such/dir/stats.json"
expect "$ERR" "stats.json: --stats-json: create a temporary file beside it: No such file"
expect_not "$OUT" "RESULT"

# The report of a run that failed to set up says why, how long it took
# (no underflow) and which memory manager was asked for.
run_vmm 2 run --kernel "$d/missing.elf" --memory-manager=kernel --stats-json "$d/failed.json"
python3 - "$d/failed.json" <<'PY' || fail "report after a set-up failure: $(cat "$d/failed.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["status"] == 2, s["status"]
assert "missing.elf" in s["reason"], s["reason"]
assert 0 <= s["vmm"]["wall_ns"] < 10**12, s["vmm"]["wall_ns"]
assert s["vmm"]["memory_manager"] == "kernel", s["vmm"]["memory_manager"]
PY

# A closed stdout: no SIGPIPE death (exit 141), the failed write is said,
# and a report to a file is still written.
# closed_stdout CMD...: run CMD with stdout a pipe whose reader is gone.
closed_stdout=(python3 -c 'import os, subprocess, sys
r, w = os.pipe(); os.close(r)
st = subprocess.call(sys.argv[1:], stdout=w)
sys.exit(128 - st if st < 0 else st)')
run_cmd 2 "${closed_stdout[@]}" "$VMM" run --kernel "$d/missing.elf" --stats-json -
expect "$ERR" "stdout: --stats-json: write: Broken pipe"
run_cmd 0 "${closed_stdout[@]}" "$VMM" --help

run_vmm 0 --help
expect "$OUT" "exit status"

# Second-level options.
run_vmm 2 run --kernel "$KERNEL" --memory-manager=magic
expect "$ERR" "--memory-manager"
run_vmm 2 run --kernel "$KERNEL" --fault-around 3
expect "$ERR" "power of two"
