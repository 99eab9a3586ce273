#!/bin/bash
# oom (guest-kernel/user_oom.c): three children ask for 120% of the free
# memory between them; the OOM killer must kill the one whose oom_adj is
# 1000 (the last forked, pid 4), say so, and the other two finish and
# check every page; under vmm and QEMU.
. "$TESTLIB"
. "${TESTLIB%/*}/qemu.sh"
need_kvm

args="workload=oom procs=3"
check_oom() {
	expect "$OUT" "^OOM killed pid=4 name=oom rss=[0-9]+ badness=[0-9]+ adj=1000$"
	[ "$(grep -c '^OOM killed' "$OUT")" -eq 1 ] || fail "more than one OOM kill"
	expect "$OUT" "^RESULT workload=oom .*ok=1"
	expect_not "$OUT" "^(CHILD|OOMKILLS|MISMATCH)"
	expect "$OUT" "^COUNTERS .* oom_kills=1$"
}

run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem 32M --cmdline "$args"
check_oom

need_qemu
QEMU_MEM=32M run_qemu 0 -append "$args"
check_oom
