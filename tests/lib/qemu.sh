# tests/lib/qemu.sh: the guest kernel under QEMU, for integration tests
# (sourced after integration.sh).
#
# need_qemu                skips (exit 77) where QEMU is not installed; a
#                          failure inside the test VM (VMM_REQUIRE_KVM)
# run_qemu GUEST ARGS...   boots $KERNEL under QEMU -M microvm (PVH) with
#                          KVM and 128 MiB unless ARGS say otherwise
#                          (QEMU_ACCEL=tcg, QEMU_MEM=64M before the call),
#                          keeps its output in $OUT and $ERR, and fails
#                          unless the guest wrote GUEST (0 success, 1
#                          failure) to the isa-debug-exit port, which
#                          QEMU turns into the exit status GUEST * 2 + 1.

need_qemu() {
	[ -n "${QEMU:-}" ] && command -v "$QEMU" >/dev/null && return 0
	[ -n "${VMM_REQUIRE_KVM:-}" ] && { LAST_CMD=need_qemu; fail "QEMU is not installed (test VM)"; }
	skip "qemu-system-x86_64 not installed"
}

run_qemu() {
	local guest=$1
	shift
	run_cmd $((guest * 2 + 1)) timeout "$TIMEOUT" "$QEMU" -accel "${QEMU_ACCEL:-kvm}" \
		-M microvm -m "${QEMU_MEM:-128M}" -nodefaults -no-reboot -nographic -serial stdio \
		-kernel "$KERNEL" -device isa-debug-exit,iobase=0xf4,iosize=4 "$@"
}
