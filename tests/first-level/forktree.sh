#!/bin/bash
# forktree (guest-kernel/user_forktree.c): a tree of processes sharing one
# heap copy-on-write. Each checks that it sees its own writes, its
# ancestors' and nobody else's, and that its COW faults are exactly the
# pages it wrote (copies in a child, take-backs in the root's second
# round); under vmm (trap scheduling) and QEMU (the LAPIC timer).
. "$TESTLIB"
. "${TESTLIB%/*}/qemu.sh"
need_kvm

args="workload=forktree size=256K depth=2 fanout=2 write=25 passes=2"
check_forktree() {
	expect "$OUT" "^RESULT workload=forktree pages=64 .*ok=1"
	expect_not "$OUT" "^(COWCOUNT|MISMATCH|FORKTREE page|CHILD)"
	# init and 6 children a round, for 2 rounds
	expect "$OUT" "^COUNTERS .* cow_copies=[1-9][0-9]* cow_reuses=[1-9][0-9]* .* procs=13 "
}

run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --cmdline "$args"
check_forktree
expect "$OUT" "^BOOT .* sched=trap "

need_qemu
run_qemu 0 -append "$args"
check_forktree
