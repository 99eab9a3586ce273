#!/bin/bash
# Guests that misbehave on purpose: each must end with the documented exit
# status and a message that says what happened, never hang.
. "$TESTLIB"
need_kvm

# A task touching memory outside its VMAs is killed with a report: exit 1.
run_vmm 1 run --kernel "$KERNEL" --timeout "$TIMEOUT" --cmdline "workload=segv"
expect "$OUT" "SEGV .*addr=0x[0-9a-f]+ .*rip=0x[0-9a-f]+"
expect "$ERR" "guest reported failure"

# A triple fault is a crash: exit 3, naming it.
run_vmm 3 run --kernel "$KERNEL" --timeout "$TIMEOUT" --cmdline "workload=triple"
expect "$ERR" "triple fault"

# A guest that runs past --timeout is stopped: exit 3, naming the timeout.
run_vmm 3 run --kernel "$KERNEL" --timeout 1 --mem 256M --cmdline "workload=verify size=200M passes=1000"
expect "$ERR" "timeout"
