#!/bin/sh
# scripts/skips.sh [--fail] [--label NAME] BUILD_DIR: list every test that the
# last make check in BUILD_DIR skipped, with the reason it printed (its
# "SKIP: ..." line). --fail: exit 1 if any was skipped (inside the test VM
# a skip is a failure). Without --fail it always exits 0.
fail=
label=
while [ $# -gt 0 ]; do
	case $1 in
	--fail) fail=1; shift ;;
	--label) label="$2: "; shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: skips.sh [--fail] [--label NAME] BUILD_DIR" >&2; exit 2; }
n=0
for trs in $(find "$1" -name '*.trs' | sort); do
	grep -q '^:test-result: SKIP' "$trs" || continue
	log=${trs%.trs}.log
	why=$(grep -m1 '^SKIP: ' "$log" 2>/dev/null | sed 's/^SKIP: //')
	echo "  ${label}${trs#"$1"/}: ${why:-no reason printed}" | sed 's/\.trs:/:/'
	n=$((n + 1))
done
[ -z "$fail" ] || [ "$n" -eq 0 ]
