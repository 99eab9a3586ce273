#!/bin/bash
# shm (guest-kernel/user_shm.c): a parent and its children pass data
# through a shared anonymous mapping, in both directions, while a private
# mapping written by each child stays unchanged for the parent; under vmm
# and QEMU.
. "$TESTLIB"
. "${TESTLIB%/*}/qemu.sh"
need_kvm

args="workload=shm size=256K procs=3 passes=2"
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --cmdline "$args"
expect "$OUT" "^RESULT workload=shm .*ok=1"
expect_not "$OUT" "^(MISMATCH|CHILD)"
expect "$OUT" "^COUNTERS .* cache_hits=[1-9][0-9]* cache_misses=[1-9][0-9]* procs=7 "

need_qemu
run_qemu 0 -append "$args"
expect "$OUT" "^RESULT workload=shm .*ok=1"
