#!/bin/bash
# Damage in page data that only reading the page finds: a lazy restore
# meets it when the guest first touches the page and stops the VM with
# exit 3 naming the GPA; an eager restore refuses to start (exit 2),
# naming the offset. The guest never runs on bad data.
. "$TESTLIB"
need_kvm
sock=$TMPDIR_TEST/vm0.sock
snap=$TMPDIR_TEST/snap0

start_vm --mem 64M --cmdline "workload=verify size=32M passes=1000000"
wait_stat resident 8000
ctl 0 snapshot --out "$snap" --hash-memory
ctl 0 stop
wait_vm 3
# Flip bytes in the middle of the page data: heap pages the guest rewrites
# and checks on every pass.
python3 - "$snap/snapshot" <<'PY' || fail "cannot damage $snap/snapshot"
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096 + 4000 * 4096 + 100)
    b = f.read(16)
    f.seek(4096 + 4000 * 4096 + 100)
    f.write(bytes(x ^ 0xff for x in b))
PY
run_vmm 3 restore "$snap" --lazy --timeout "$TIMEOUT"
expect "$ERR" "GPA 0x[0-9a-f]+: loading it from the snapshot failed: .*snap0/snapshot: offset [0-9]+"
expect_not "$OUT" "ok=1"
run_vmm 2 restore "$snap" --eager --timeout "$TIMEOUT"
expect "$ERR" "snap0/snapshot: offset [0-9]+"
# --check-hash reads every page before the guest runs: the damaged one is
# refused by its GPA and offset, not only "Bad message" (issue 16, 11).
run_vmm 2 restore "$snap" --lazy --check-hash --timeout "$TIMEOUT"
expect "$ERR" "snap0/snapshot: --check-hash: the page at GPA 0x[0-9a-f]+ cannot be read"
expect "$ERR" "GPA 0x[0-9a-f]+: .*snap0/snapshot: offset [0-9]+: the page at GPA"
expect_not "$OUT" "RESULT"
expect_not "$OUT" "ok=1"
