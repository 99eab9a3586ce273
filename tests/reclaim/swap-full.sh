#!/bin/bash
# Budget and swap both full: one VM, so it stops with exit 3 saying that
# host memory and swap were exhausted; never a hang. Without --swap the
# budget message stays as it was.
. "$TESTLIB"
need_kvm
swap=$TMPDIR_TEST/guest.swap

run_vmm 3 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem 64M --host-mem 8M \
	--swap "$swap" --swap-size 4M --cmdline "workload=touch size=48M"
expect "$ERR" "host memory budget and swap exhausted: no frame for GPA 0x[0-9a-f]+"
run_vmm 3 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem 64M --host-mem 8M \
	--cmdline "workload=touch size=48M"
expect "$ERR" "host memory budget exhausted"
