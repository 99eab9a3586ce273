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

# A PC (-M pc): its firmware leaves the 8259s delivering the PIT's ticks on
# vector 8, which a kernel that preempts with the LAPIC timer must mask
# (it took a tick for a double fault). Ticks must have come and gone.
run_cmd 1 timeout "$TIMEOUT" "$QEMU" -accel "${QEMU_ACCEL:-kvm}" -M pc -m 128M -nodefaults \
	-no-reboot -display none -serial stdio -kernel "$KERNEL" \
	-device isa-debug-exit,iobase=0xf4,iosize=4 \
	-append "workload=verify size=4M passes=40 sched=timer"
expect "$OUT" "^RESULT workload=verify .*ok=1"
expect "$OUT" "^BOOT .* sched=timer "
expect "$OUT" "^COUNTERS .* ticks=[1-9]"
