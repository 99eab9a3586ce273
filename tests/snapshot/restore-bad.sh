#!/bin/bash
# vmm restore refuses a bad snapshot or bad options with exit 2 and a
# message naming the file and the offset (or the option), before /dev/kvm
# is opened, so on any host. Snapshots come from snap_fixture, each broken
# in one way.
. "$TESTLIB"
: "${SNAP_FIXTURE:?SNAP_FIXTURE must name tests/snapshot/snap_fixture}"
snaps=$TMPDIR_TEST/snaps
mkdir -p "$snaps"

bad() { # bad REGEX ARGS...: vmm restore ARGS exits 2 with a line matching REGEX
	local re=$1
	shift
	run_vmm 2 restore "$@"
	expect "$ERR" "$re"
}

snap() { # snap NAME [FIXTURE ARGS...]: a fixture snapshot at $snaps/NAME
	local name=$1
	shift
	"$SNAP_FIXTURE" "$snaps/$name" "$@" || fail "snap_fixture $name $*"
}

poke() { # poke NAME OFFSET BYTE: overwrite one byte of NAME's file (BYTE in hex)
	printf "\\x$3" | dd of="$snaps/$1/snapshot" bs=1 seek="$2" conv=notrunc status=none ||
		fail "cannot write $1 at $2"
}

flip() { # flip NAME OFFSET: flip bit 0 of one byte of NAME's file
	local b
	b=$(od -An -tx1 -j "$2" -N1 "$snaps/$1/snapshot" | tr -d ' ')
	poke "$1" "$2" "$(printf %02x $((0x$b ^ 1)))"
}

snap good
size=$(stat -c %s "$snaps/good/snapshot")
f=$snaps/good/snapshot

# The directory, then the file's own checks (snapfile.h).
bad "restore: $snaps/none/snapshot: open: No such file or directory" "$snaps/none"
cp -r "$snaps/good" "$snaps/cut"
truncate -s $((size / 2)) "$snaps/cut/snapshot"
bad "$snaps/cut/snapshot: offset [0-9]+: .*cut short" "$snaps/cut"
cp -r "$snaps/good" "$snaps/flip"
flip flip $((size - 1)) # in the last entry's page hash: only the metadata hash sees it
bad "$snaps/flip/snapshot: offset [0-9]+: expected metadata hash .*damaged" "$snaps/flip"
cp -r "$snaps/good" "$snaps/magic"
poke magic 0 58
bad "$snaps/magic/snapshot: offset 0: expected magic" "$snaps/magic"
cp -r "$snaps/good" "$snaps/version"
poke version 8 07
bad "$snaps/version/snapshot: offset 8: expected version 1 or 2, found 7" "$snaps/version"

# The machine's sections (snapshot.h).
snap novcpu --omit vcpu0
bad "$snaps/novcpu/snapshot: no section \"vcpu0\"" "$snaps/novcpu"
snap vmversion --vm-version 9
bad "$snaps/vmversion/snapshot: offset [0-9]+ \(section \"vm\"'s header\): version 9, expected 1" "$snaps/vmversion"
snap vmsize --vm-mem $((16 << 20))
bad "$snaps/vmsize/snapshot: section \"vm\": mem_bytes 16777216" "$snaps/vmsize"

# Options.
bad "--mem: $f: offset [0-9]+: .*8 MiB.*expected 16 MiB" "$snaps/good" --mem 16M
bad "restore: --lazy and --eager: give one of them" "$snaps/good" --lazy --eager
bad "--kernel: not an option of restore" "$snaps/good" --kernel "$KERNEL"
bad "--cmdline: not an option of restore" "$snaps/good" --cmdline workload=touch
bad "--memory-manager: not an option of restore" --memory-manager=kernel "$snaps/good"
bad "restore: missing DIR" --eager
bad "restore: unexpected argument '$snaps/cut'" "$snaps/good" "$snaps/cut"
bad "--stats-json" "$snaps/good" --stats-json "$f"
bad "--swap-size: needs --swap PATH" "$snaps/good" --swap-size 8M
# A swap file over the snapshot would lose it to the swap's first write
# (issue 16, 4): refused, also through a link, and the snapshot is kept.
cp "$f" "$snaps/copy"
bad "--swap: $f is $f, an input of this run" "$snaps/good" --swap "$f"
ln "$f" "$snaps/hardlink"
bad "--swap: $snaps/hardlink is $f, an input of this run" "$snaps/good" --swap "$snaps/hardlink"
run_vmm 2 fork-from "$snaps/good" --count 2 --swap "$snaps/hardlink"
expect "$ERR" "--swap: $snaps/hardlink is $f"
cmp -s "$f" "$snaps/copy" || fail "--swap wrote over the snapshot"
# A FIFO where the snapshot file should be is refused before it is opened
# (issue 16, 8): open() would wait for a writer, before --timeout.
mkdir "$snaps/fifo"
mkfifo "$snaps/fifo/snapshot"
bad "$snaps/fifo/snapshot: expected a regular file, found a FIFO" "$snaps/fifo" --timeout 10
run_vmm 2 fork-from "$snaps/fifo" --count 2
expect "$ERR" "$snaps/fifo/snapshot: expected a regular file, found a FIFO"

# A valid snapshot where KVM cannot be opened: the usual message, no crash.
if ! "${TESTLIB%/*}/need-kvm.sh" true >/dev/null 2>&1 && [ -z "${VMM_REQUIRE_KVM:-}" ]; then
	run_vmm 4 restore "$snaps/good"
	expect "$ERR" "/dev/kvm"
	run_vmm 4 restore --eager "$snaps/good" --mem 8M --timeout 5
	expect "$ERR" "/dev/kvm"
fi
