#!/bin/bash
# scripts/testvm.sh: run a command against a real KVM, whatever the host.
#
#   scripts/testvm.sh [--timeout SECONDS] [--log FILE] [--mem SIZE] [--direct] -- COMMAND...
#
# Where /dev/kvm works, COMMAND runs here. Where it does not, COMMAND runs in
# the test VM: QEMU (TCG, -cpu max, which offers nested SVM with nested
# paging) booting Debian 12's own kernel, which loads kvm_amd. Inside, the
# host's root is mounted read-only over virtio-9p, the current directory is
# mounted writable at the same path, /tmp is a fresh tmpfs (the source tree
# holding this script is mounted read-only at its own path, even under /tmp),
# and a scratch
# virtio disk is /dev/vda (its path is in $VMM_TESTVM_SCRATCH). COMMAND runs
# in a chroot of the host root, in the current directory, with the host's own
# tools, and its status is this script's status.
#
# The kernel and busybox packages are fetched once with apt-get download into
# $VMM_TESTVM_CACHE (default ~/.cache/vmm-testvm) and reused. The VM's console
# goes to --log FILE (default testvm-console.log in the current directory),
# which is kept when COMMAND fails. One overall timeout (default 3600 s)
# stops a VM that hangs: exit 124.
#
# Exit: COMMAND's status; 124 on the overall timeout; 125 when the test VM
# cannot be set up (the message says why).
set -euo pipefail

timeout=3600
log=
mem=6G
# One vCPU: with two, the nested guest's kernel has been seen in soft
# lockups on both CPUs under MTTCG (an IPI never answered); one is slower
# but has not hung. A kernel that locks up anyway panics (softlockup_panic)
# and the VM ends at once, console log kept, instead of at the timeout.
smp=${VMM_TESTVM_SMP:-1}
direct=auto
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) timeout=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--direct) direct=yes; shift ;;
	--vm) direct=no; shift ;;
	--) shift; break ;;
	-h | --help) sed -n '2,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "testvm: unknown option '$1' (see --help)" >&2; exit 125 ;;
	esac
done
[ $# -gt 0 ] || { echo "testvm: no command given (usage: testvm.sh [options] -- COMMAND...)" >&2; exit 125; }
case $timeout in '' | *[!0-9]*) echo "testvm: --timeout '$timeout' is not a number of seconds" >&2; exit 125 ;; esac

kvm_usable() {
	[ -c /dev/kvm ] && python3 -c "import os; os.close(os.open('/dev/kvm', os.O_RDWR))" 2>/dev/null
}

if [ "$direct" = yes ] || { [ "$direct" = auto ] && kvm_usable; }; then
	exec timeout "$timeout" "$@"
fi

die() { echo "testvm: $*" >&2; exit 125; }
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: install qemu-system-x86"
command -v cpio >/dev/null || die "cpio not found: install cpio"
command -v depmod >/dev/null || die "depmod not found: install kmod"

cache=${VMM_TESTVM_CACHE:-${HOME:-/root}/.cache/vmm-testvm}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# The kernel that linux-image-amd64 names, and busybox, unpacked once.
. "$(dirname "$0")/linux-packages.sh"
kroot=$(linux_packages_fetch "$cache") || exit 125
kpkg=$(basename "$kroot")
kver=$(ls "$kroot/lib/modules" | head -n1)
vmlinuz=$kroot/boot/vmlinuz-$kver
[ -f "$vmlinuz" ] || die "no kernel image in $kroot/boot"
[ -f "$kroot/lib/modules/$kver/modules.dep" ] || depmod -b "$kroot" "$kver" || die "depmod failed"

# The initramfs: busybox, the modules KVM and 9p need (in load order), /init.
MODULES="kvm-amd virtio_pci virtio_blk 9pnet_virtio 9p"
# Named by this script's own hash: worktrees that share the cache each get
# the initramfs their testvm.sh writes (an mtime test let another's win).
initrd=$cache/initrd-$kver-$(sha256sum "$0" | cut -c1-12).cpio
if [ ! -f "$initrd" ]; then
	ird=$(mktemp -d "$cache/ird.XXXXXX")
	mkdir -p "$ird"/{bin,dev,proc,sys,mnt/root,modules}
	cp "$kroot/bin/busybox" "$ird/bin/busybox"
	: >"$ird/modules/load"
	for m in $MODULES; do
		modprobe -d "$kroot" -S "$kver" --show-depends "$m" | while read -r _ path _; do
			b=$(basename "$path")
			[ -f "$ird/modules/$b" ] && continue
			cp "$path" "$ird/modules/$b"
			echo "$b" >>"$ird/modules/load"
		done
	done
	cat >"$ird/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules/load); do insmod /modules/$m 2>/dev/null || echo "testvm-init: insmod $m failed"; done
eval "$(cat /proc/cmdline | tr ' ' '\n' | grep '^testvm_')"
R=/mnt/root
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot $R || { echo "testvm-init: no host root"; poweroff -f; }
mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts; mount -t devpts devpts $R/dev/pts # ptys: the interactive-console test
mount -t tmpfs -o size=50% tmp $R/tmp; mount -t tmpfs run $R/run 2>/dev/null
# The source tree, read-only, at its own path: under /tmp it would be
# hidden by the tmpfs. The work share goes on top (it may lie inside).
mkdir -p "$R$testvm_src" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose src "$R$testvm_src" || { echo "testvm-init: no source share"; poweroff -f; }
mkdir -p "$R$testvm_cwd" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none work "$R$testvm_cwd" || { echo "testvm-init: no work share"; poweroff -f; }
chmod 666 $R/dev/kvm 2>/dev/null
[ -c $R/dev/kvm ] || echo "testvm-init: no /dev/kvm (kvm_amd did not load)"
stty -F /dev/ttyS1 raw -echo 2>/dev/null
chroot $R /bin/sh -c "cd '$testvm_cwd' && exec /bin/bash ./.testvm/cmd" </dev/null >/dev/ttyS1 2>&1
echo "testvm-status=$?" >"$R$testvm_cwd/.testvm/status"
sync
poweroff -f
EOF
	chmod +x "$ird/init"
	(cd "$ird" && find . | cpio -o -H newc --quiet) >"$ird.cpio"
	mv "$ird.cpio" "$initrd"
	rm -rf "$ird"
fi

cwd=$(pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
for d in "$cwd" "$src"; do
	case $d in *[[:space:]\'\"]*) die "the directory '$d' has a space or quote in it" ;; esac
done
state=$cwd/.testvm
rm -rf "$state" && mkdir -p "$state"
scratch=$state/scratch.img
truncate -s 4G "$scratch"
{
	# CK_TIMEOUT_MULTIPLIER: Check's hang guards, not assertions, stretched for TCG.
	echo "export VMM_TESTVM=1 VMM_TESTVM_SCRATCH=/dev/vda VMM_REQUIRE_KVM=1 HOME=/tmp CK_TIMEOUT_MULTIPLIER=5"
	# The kernel and busybox the Linux-guest tests use: the test VM's own
	# (HOME is /tmp in there, so the cache is named, read-only).
	echo "export VMM_LINUX_ROOT='$kroot'"
	echo "export PATH='$PATH'"
	# make's command-line variables (make bench BENCH=...), without the
	# jobserver's descriptors, which do not cross into the VM; and the
	# suite's own knobs.
	printf 'export MAKEFLAGS=%q\n' "$(printf '%s' "${MAKEFLAGS:-}" | sed 's/--jobserver-[a-z]*=[^ ]*//g; s/ -j[0-9]*//g')"
	for v in TEST_TIMEOUT FUZZ_SECONDS BENCH_RUNS BENCH_PC_RUNS STATS_FUZZ_SEED; do
		if [ -n "${!v:-}" ]; then printf 'export %s=%q\n' "$v" "${!v}"; fi
	done
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$state/cmd"
log=${log:-$cwd/testvm-console.log}

echo "testvm: $kpkg under QEMU TCG (-cpu max, nested SVM); running: $*" >&2
status=0
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 \
	-accel tcg,thread=multi -cpu max -smp "$smp" -m "$mem" -M pc \
	-nographic -no-reboot -nodefaults -serial "file:$log" \
	-chardev stdio,id=out,signal=off -serial chardev:out \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 quiet loglevel=4 panic=-1 softlockup_panic=1 watchdog_thresh=30 testvm_cwd=$cwd testvm_src=$src" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$src",mount_tag=src,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$cwd",mount_tag=work,security_model=none,multidevs=remap \
	-drive file="$scratch",if=virtio,format=raw,cache=unsafe \
	</dev/null || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	echo "testvm: the test VM ran past $timeout s and was stopped; console log: $log" >&2
	tail -n 30 "$log" >&2
	exit 124
fi
if ! st=$(sed -n 's/^testvm-status=//p' "$state/status" 2>/dev/null) || [ -z "$st" ]; then
	echo "testvm: the test VM ended without the command's status (QEMU exit $status); console log: $log" >&2
	tail -n 30 "$log" >&2
	exit 125
fi
rm -f "$scratch"
[ "$st" -eq 0 ] && rm -f "$log" || echo "testvm: command failed with status $st; console log kept: $log" >&2
exit "$st"
