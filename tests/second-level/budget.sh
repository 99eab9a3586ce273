#!/bin/bash
# The VMM's own second level: a budget smaller than the working set stops the VM.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json

# Exit 3 saying so, never a hang: on 6.1 the vCPU waits for the fault
# uninterruptibly, so the VMM must release it (run_vmm fails a hung vmm).
run_vmm 3 run --kernel "$KERNEL" --timeout "$TIMEOUT" --host-mem 4M \
	--cmdline "workload=touch size=16M"
expect "$ERR" "host memory budget exhausted"
expect_not "$ERR" "Bus error|SIGBUS"
run_vmm 3 run --kernel "$KERNEL" --timeout 20 --mem 64M --host-mem 4M \
	--cmdline "workload=touch size=32M"
expect "$ERR" "host memory budget exhausted"
