#!/bin/bash
# The same kernel.elf boots under QEMU (PVH, -kernel) and runs the same
# workloads: with the PVH command line, and with vmm's device tree given as
# the initrd (module 0), whose bootargs then win.
. "$TESTLIB"
. "${TESTLIB%/*}/qemu.sh"
need_kvm
need_qemu

run_qemu 0 -append "workload=touch size=1M"
expect "$OUT" "^RESULT workload=touch .*ok=1"

run_qemu 0 -append "workload=random size=1M seed=3"
expect "$OUT" "^RESULT workload=random .*ok=1"

run_qemu 1 -append "workload=segv"
expect "$OUT" "SEGV .*addr=0x"

dtb=$TMPDIR_TEST/guest.dtb
run_vmm 0 dtb --mem 128M --cmdline "workload=hotset size=1M" -o "$dtb"
run_qemu 0 -append "workload=touch" -initrd "$dtb"
expect "$OUT" "^RESULT workload=hotset .*ok=1"
