#!/bin/bash
# The same kernel.elf boots under QEMU (PVH, -kernel) and runs the same
# workloads: with the PVH command line, and with vmm's device tree given as
# the initrd (module 0), whose bootargs then win.
. "$TESTLIB"
need_kvm
[ -n "${QEMU:-}" ] && command -v "$QEMU" >/dev/null || skip "qemu-system-x86_64 not installed"

qemu() {
	# isa-debug-exit: the guest's value v becomes exit status (v << 1) | 1.
	run_cmd "$1" timeout "$TIMEOUT" "$QEMU" -accel kvm -M microvm -m 128M -nodefaults \
		-no-reboot -nographic -serial stdio -kernel "$KERNEL" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 "${@:2}"
}

qemu 1 -append "workload=touch size=1M"
expect "$OUT" "^RESULT workload=touch .*ok=1"

qemu 1 -append "workload=random size=1M seed=3"
expect "$OUT" "^RESULT workload=random .*ok=1"

qemu 3 -append "workload=segv"
expect "$OUT" "SEGV .*addr=0x"

dtb=$TMPDIR_TEST/guest.dtb
run_vmm 0 dtb --mem 128M --cmdline "workload=hotset size=1M" -o "$dtb"
qemu 1 -append "workload=touch" -initrd "$dtb"
expect "$OUT" "^RESULT workload=hotset .*ok=1"
