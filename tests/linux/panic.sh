#!/bin/bash
# A kernel panic ends the run: vmm gives Linux panic=-1, the kernel resets
# through the ACPI reset register, and vmm exits 3 with the panic line on
# stdout. A command line that sets panic= itself keeps it.
. "$TESTLIB"
. "${TESTLIB%/*}/linux.sh"
need_linux_kvm

LINUX_KARGS="rdinit=/nonexistent " linux_run 3 --
expect "$OUT" "Kernel panic - not syncing"
expect "$ERR" "^vmm: guest reset through the reset control register"
