#!/bin/bash
# Bad swap options and files: exit 2 with a message naming the file and
# what was expected, before /dev/kvm is opened (so on any host).
. "$TESTLIB"
swap=$TMPDIR_TEST/guest.swap

bad() { # bad REGEX ARGS...: vmm run ARGS exits 2 with a line matching REGEX
	local re=$1
	shift
	run_vmm 2 run --kernel "$KERNEL" "$@"
	expect "$ERR" "$re"
}

bad "swap file $TMPDIR_TEST/none/x: .*No such file or directory" --swap "$TMPDIR_TEST/none/x" --swap-size 8M
bad "swap file $TMPDIR_TEST: " --swap "$TMPDIR_TEST" --swap-size 8M
bad "swap file $TMPDIR_TEST/missing: .*--swap-size" --swap "$TMPDIR_TEST/missing"
bad "--swap-size: .*expected a multiple of 4K" --swap "$swap" --swap-size 12345
bad "--swap-size: .*at least 1M" --swap "$swap" --swap-size 64K
bad "--swap-size: needs --swap PATH" --swap-size 8M
bad "--swap-sync: needs --swap PATH" --swap-sync
bad "--swap: applies to --memory-manager=vmm only" --memory-manager=kernel --swap "$swap" --swap-size 8M
bad "--swap: empty path" --swap "" --swap-size 8M
bad "--wss-samples: .*expected" --wss-samples 5000
# Two VMMs on one swap file: the second is refused, the file untouched.
: >"$swap"
flock "$swap" sleep 30 &
holder=$!
sleep 0.5
bad "swap file $swap: .*another process" --swap "$swap" --swap-size 8M
kill "$holder"
