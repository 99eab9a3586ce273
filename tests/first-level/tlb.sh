#!/bin/bash
# tlb (guest-kernel/user_tlb.c): after munmap, mprotect, brk, a COW break and
# the reuse of a process slot (and its PCID), no process may reach through
# a stale translation what it no longer maps. With PCIDs asked for and
# not, under vmm and QEMU; then, under QEMU's TCG, whose TLB keeps what
# nothing invalidates, a kernel that skips every invalidation (tlb_skip=1)
# must fail it: the test catches a missing invalidation. (No CPU here has
# PCIDs: PVM's KVM and QEMU 7.2's TCG offer none, so pcid=1 falls back
# there; check_gk_tlb tests the PCID bookkeeping against a model TLB.)
. "$TESTLIB"
. "${TESTLIB%/*}/qemu.sh"
need_kvm

for pcid in 0 1; do
	run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --cmdline "workload=tlb pcid=$pcid"
	expect "$OUT" "^RESULT workload=tlb pages=14 .*ok=1"
	expect_not "$OUT" "^TLB case="
	[ "$pcid" = 0 ] && expect "$OUT" "^BOOT .* pcid=0 "
	echo "asked pcid=$pcid, got: $(grep -o 'pcid=[01] invpcid=[01]' "$OUT")"
done

need_qemu
for pcid in 0 1; do
	run_qemu 0 -append "workload=tlb pcid=$pcid"
	expect "$OUT" "^RESULT workload=tlb pages=14 .*ok=1"
	QEMU_ACCEL=tcg run_qemu 0 -append "workload=tlb pcid=$pcid"
	expect "$OUT" "^RESULT workload=tlb pages=14 .*ok=1"
done

QEMU_ACCEL=tcg run_qemu 1 -append "workload=tlb tlb_skip=1 passes=1"
expect "$OUT" "^TLB case="
