#!/bin/bash
# mmapfile (guest-kernel/user_mmapfile.c): files of a cpio archive passed
# as the initrd, mapped and checked against the checksums of its
# manifest, through the page cache (misses, then hits); a private mapping
# written by a child is unchanged for its parent. Under vmm (--initrd: the
# archive is PVH module 1, after the device tree) and QEMU (-initrd: the
# only module, so the kernel tells the archive from a device tree and
# reads the PVH memory map). A damaged archive is refused at boot.
. "$TESTLIB"
. "${TESTLIB%/*}/qemu.sh"
need_kvm

archive=$TMPDIR_TEST/files.cpio
python3 "${TESTLIB%/*}/mkarchive.py" "$archive" 7 || fail "mkarchive.py failed"
check_mmapfile() {
	expect "$OUT" "^BOOT .* files=8 "
	expect "$OUT" "^RESULT workload=mmapfile pages=50 .*ok=1"
	expect_not "$OUT" "^(MMAPFILE|MISMATCH)"
	# the child's read past the end of a file
	expect "$OUT" "^SIGBUS task=mmapfile pid=3 "
	# 25 file pages and the manifest's read once each pass: the second pass hits
	expect "$OUT" "^COUNTERS .* cache_hits=[1-9][0-9]* cache_misses=26 "
}

run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --initrd "$archive" --cmdline "workload=mmapfile"
check_mmapfile
expect "$OUT" "^BOOT .* source=fdt "

# Cut inside the last file's data: the kernel names what is wrong.
head -c 70000 "$archive" >"$TMPDIR_TEST/cut.cpio"
run_vmm 1 run --kernel "$KERNEL" --timeout "$TIMEOUT" --initrd "$TMPDIR_TEST/cut.cpio" \
	--cmdline "workload=mmapfile"
expect "$OUT" '^BOOT error="initrd: entry data runs past the archive" files_read=7$'

need_qemu
run_qemu 0 -initrd "$archive" -append "workload=mmapfile"
check_mmapfile
expect "$OUT" "^BOOT .* source=pvh "
