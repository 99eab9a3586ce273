#!/bin/bash
# stack (guest-kernel/user_stack.c): recursion grows the stack area fault
# by fault below its first 64 KiB, then a child recurses past stack_max
# and is killed (SEGV), alone: its parent goes on and reports ok=1; under
# vmm and QEMU.
. "$TESTLIB"
. "${TESTLIB%/*}/qemu.sh"
need_kvm

args="workload=stack stack=256K stack_max=512K"
check_stack() {
	expect "$OUT" "^STACK bytes=262144 grows=[1-9][0-9]*$"
	expect "$OUT" "^SEGV task=stack pid=2 addr=0xffff[0-9a-f]+ "
	expect_not "$OUT" "^SEGV task=stack pid=1 "
	expect "$OUT" "^RESULT workload=stack .*ok=1"
	expect "$OUT" "^COUNTERS .* fault_stack=[1-9][0-9]* .* fault_invalid=1 "
}

run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --cmdline "$args"
check_stack

need_qemu
run_qemu 0 -append "$args"
check_stack
