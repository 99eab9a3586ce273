# tests/lib/linux.sh: helpers of the Linux-guest tests (sourced after
# integration.sh).
#
# need_linux_kvm          skips (exit 77, saying why) unless this /dev/kvm can
#                         run a Linux kernel (hardware virtualization: kvm_intel
#                         or kvm_amd, as in the test VM; not PVM, which
#                         emulates guest kernel mode), and Debian's kernel and
#                         the test initramfs are here. Inside the test VM
#                         (VMM_REQUIRE_KVM) a skip is a failure.
# linux_run STATUS ARGS -- WORDS
#                         vmm run of Debian's kernel with the test initramfs,
#                         256M, its /init running WORDS (tests/linux/guest,
#                         scripts/mkinitramfs.sh); ARGS are more options of run,
#                         $LINUX_KARGS more kernel parameters.
# start_linux_vm ARGS -- WORDS
#                         the same in the background with --control $sock
#                         (start_vm).
# counts FILE             the count=N lines of vmm-counter in FILE, as
#                         "N MONO_MS REAL_MS" lines.

# The unpacked kernel package: the test VM says where; elsewhere its cache.
linux_root() {
	local ready
	if [ -n "${VMM_LINUX_ROOT:-}" ]; then
		echo "$VMM_LINUX_ROOT"
		return
	fi
	for ready in "${VMM_TESTVM_CACHE:-${HOME:-/root}/.cache/vmm-testvm}"/linux-image-*.ready; do
		[ -f "$ready" ] && { echo "${ready%.ready}"; return; }
	done
}

linux_kvm_why() {
	local root kvm
	if [ -d /sys/module/kvm_pvm ]; then
		echo "this /dev/kvm is PVM (kvm_pvm), which emulates guest kernel mode and cannot run a Linux kernel: Linux guests run in the test VM (make check-vm)"
		return
	fi
	for kvm in kvm_intel kvm_amd; do
		[ -d /sys/module/$kvm ] && break
		kvm=
	done
	[ -n "$kvm" ] || { echo "no hardware-virtualization KVM (kvm_intel, kvm_amd) here: Linux guests run in the test VM (make check-vm)"; return; }
	root=$(linux_root)
	LINUX_KERNEL=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -n1)
	[ -f "$LINUX_KERNEL" ] || { echo "no Debian kernel unpacked (scripts/testvm.sh or scripts/mkinitramfs.sh fetch it into ~/.cache/vmm-testvm; or set VMM_LINUX_ROOT)"; return; }
	[ -f "${LINUX_INITRAMFS:-}" ] || echo "no test initramfs at ${LINUX_INITRAMFS:-?}: make check builds it with scripts/mkinitramfs.sh (see its message)"
}

need_linux_kvm() {
	local why
	need_kvm
	why=$(linux_kvm_why)
	LINUX_KERNEL=$(ls "$(linux_root)"/boot/vmlinuz-* 2>/dev/null | head -n1)
	[ -z "$why" ] && return 0
	if [ -n "${VMM_REQUIRE_KVM:-}" ]; then
		LAST_CMD=need_linux_kvm
		fail "$why (VMM_REQUIRE_KVM is set: the test VM must run Linux guests)"
	fi
	skip "$why"
}

# The vmm options up to "--", then /init's words: one --cmdline.
linux_args() {
	LINUX_OPTS=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		LINUX_OPTS+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	LINUX_CMDLINE="console=ttyS0 quiet ${LINUX_KARGS:-}-- $*"
}

linux_run() {
	local want=$1
	shift
	linux_args "$@"
	run_vmm "$want" run --kernel "$LINUX_KERNEL" --initrd "$LINUX_INITRAMFS" --mem 256M \
		--timeout "$TIMEOUT" "${LINUX_OPTS[@]}" --cmdline "$LINUX_CMDLINE"
}

start_linux_vm() {
	linux_args "$@"
	start_vm --kernel "$LINUX_KERNEL" --initrd "$LINUX_INITRAMFS" --mem 256M \
		"${LINUX_OPTS[@]}" --cmdline "$LINUX_CMDLINE"
}

counts() {
	sed -n 's/^\(\[[0-9.]*\] \)\{0,1\}count=\([0-9]*\) mono_ms=\([0-9]*\) real_ms=\([0-9]*\).*/\2 \3 \4/p' "$1"
}
