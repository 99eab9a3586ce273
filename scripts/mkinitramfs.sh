#!/bin/bash
# scripts/mkinitramfs.sh: the test initramfs of the Linux guests.
#
#   scripts/mkinitramfs.sh -o OUT.cpio [--root DIR] [--cc CC]
#
# A newc cpio archive with
#   /bin/busybox       from Debian's busybox-static (DIR/bin/busybox; DIR is
#                      --root, else $VMM_LINUX_ROOT, else the test VM's
#                      package cache, fetched as scripts/testvm.sh does)
#   /bin/vmm-guest     the project's test programs (tests/linux/guest/),
#                      built here with CC (default gcc) -static, run by the
#                      names vmm-verify, vmm-counter, vmm-forkid, vmm-exit
#   /dev/console       the console Linux opens for /init
#   /init              runs what the kernel command line names after "--"
#                      (each word an argument; "..." keeps spaces), or an
#                      interactive shell if nothing, and ends the VM with
#                      its status: vmm-exit (the exit port: vmm exits 0 if
#                      the status is 0, else 1), else poweroff -f
# For example:
#   vmm run --kernel vmlinuz --initrd OUT.cpio --cmdline "console=ttyS0 -- vmm-counter 50"
#
# Exit: 0, or 1 with a message saying what is missing.
set -euo pipefail

out= root=${VMM_LINUX_ROOT:-} cc=${CC:-gcc}
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	--root) root=$2; shift 2 ;;
	--cc) cc=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "mkinitramfs: unknown option '$1' (see --help)" >&2; exit 1 ;;
	esac
done
die() { echo "mkinitramfs: $*" >&2; exit 1; }
[ -n "$out" ] || die "-o OUT is needed"
src=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "$root" ]; then
	. "$src/scripts/linux-packages.sh"
	cache=${VMM_TESTVM_CACHE:-${HOME:-/root}/.cache/vmm-testvm}
	mkdir -p "$cache"
	root=$(linux_packages_find "$cache") || root=$(linux_packages_fetch "$cache")
fi
[ -x "$root/bin/busybox" ] || die "no busybox in $root/bin (busybox-static unpacked there?)"
command -v python3 >/dev/null || die "python3 not found: it writes the archive"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,dev,proc,sys,tmp}
cp "$root/bin/busybox" "$tmp/bin/busybox"
"$cc" -static -O2 -s -Wall -Wextra -I"$src/include" -o "$tmp/bin/vmm-guest" \
	"$src"/tests/linux/guest/*.c || die "$cc -static failed (static libc: libc6-dev)"
for p in vmm-verify vmm-counter vmm-forkid vmm-exit; do
	ln -s vmm-guest "$tmp/bin/$p"
done
cat >"$tmp/init" <<'INIT'
#!/bin/busybox sh
# /init of the vmm test initramfs (scripts/mkinitramfs.sh).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "init: start"
if [ $# -eq 0 ]; then
	echo "init: nothing to run after -- on the kernel command line: a shell (exit ends the VM)"
	setsid cttyhack sh
	status=$?
else
	echo "init: running $*"
	"$@"
	status=$?
fi
echo "init: exit $status"
vmm-exit "$status" 2>/dev/null
poweroff -f
INIT
chmod 755 "$tmp/init"

# newc by hand: /dev/console needs no mknod (nor root) this way.
python3 - "$tmp" "$out.tmp" <<'PY'
import os, stat, sys
root, out = sys.argv[1], sys.argv[2]
ino = [0]
def entry(f, name, mode, data=b"", rdev=(0, 0)):
    ino[0] += 1
    hdr = "070701" + "".join("%08x" % v for v in (
        ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0))
    f.write(hdr.encode() + name.encode() + b"\0")
    f.write(b"\0" * ((4 - (110 + len(name) + 1) % 4) % 4))
    f.write(data)
    f.write(b"\0" * ((4 - len(data) % 4) % 4))
with open(out, "wb") as f:
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for n in sorted(dirs) + sorted(files):
            p = os.path.join(d, n)
            name = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                entry(f, name, st.st_mode, os.readlink(p).encode())
            elif stat.S_ISDIR(st.st_mode):
                entry(f, name, st.st_mode)
            else:
                entry(f, name, st.st_mode, open(p, "rb").read())
    entry(f, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    entry(f, "TRAILER!!!", 0)
PY
mv "$out.tmp" "$out"
