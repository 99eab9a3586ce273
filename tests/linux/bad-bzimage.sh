#!/bin/bash
# A bad bzImage is refused before /dev/kvm is opened, so with exit 2 on
# any host, the message naming the file and the field that is wrong: the
# corpus of tests/lib/bzimage_fixture.c (truncated, wrong boot flag or
# magic, an old protocol, no 64-bit entry, sizes past the file, an
# init_size past guest RAM), a command line longer than the kernel takes,
# and a machine the image does not boot.
. "$TESTLIB"
d=$TMPDIR_TEST
"$BZIMAGE_CORPUS" "$d" || fail "bzimage-corpus could not write the corpus into $d"
n=0
for words in "$d"/*.words; do
	name=$(basename "$words" .words)
	run_vmm 2 run --kernel "$d/$name.bzImage"
	grep -qF -- "$d/$name.bzImage: " "$ERR" || fail "$name: the message does not name the file"
	grep -qF -- "$(cat "$words")" "$ERR" || fail "$name: the message lacks '$(cat "$words")'"
	n=$((n + 1))
done
[ "$n" -ge 14 ] || fail "only $n broken images in the corpus"

# Sizes against guest RAM: 1 MiB from 16 MiB does not fit a 16M guest.
run_vmm 2 run --kernel "$d/valid.bzImage" --mem 16M
expect "$ERR" "offset 0x260: init_size 0x100000: the kernel needs RAM from GPA 0x1000000 to 0x1100000"
# The command line against the header's cmdline_size (2047), with the
# panic=-1 vmm puts first.
run_vmm 2 run --kernel "$d/valid.bzImage" --cmdline "$(head -c 2040 /dev/zero | tr '\0' x)"
expect "$ERR" "2049 bytes: this kernel takes at most 2047"
# A bzImage boots a Linux machine, not the vmm machine.
run_vmm 2 run --kernel "$d/valid.bzImage" --machine vmm
expect "$ERR" "a bzImage boots the linux machine"
run_vmm 2 run --machine windows
expect "$ERR" "--machine: 'windows': expected auto, vmm or linux"
