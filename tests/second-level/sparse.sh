#!/bin/bash
# The VMM's own second level: a sparse guest gets at most twice the frames it touches.
. "$TESTLIB"
need_kvm
json=$TMPDIR_TEST/stats.json

# One page in 64, the guest's own fault-around off; page tables included.
run_vmm 0 run --kernel "$KERNEL" --timeout "$TIMEOUT" --mem 128M \
	--cmdline "workload=touch size=64M stride=64 fault_around=1 fault_around_max=1" \
	--stats-json "$json"
n=$(json_get "$json" 's["guest"]["results"][0]["pages"]')
res=$(json_get "$json" 's["vmm"]["second_level"]["frames"]["resident"]')
[ "$n" -eq 256 ] || fail "stride=64 touched $n pages, expected 256"
[ "$res" -le $((2 * n + 64)) ] || fail "sparse guest: $res frames for $n pages touched"
echo "ok: sparse guest, $res frames for $n pages touched"
