#!/bin/sh
# First command of the README: install what is missing, build in build/, and
# boot the default guest, which runs a short demo workload and prints its
# result. Where /dev/kvm cannot be opened, it says so and boots the demo in
# the nested test VM instead (scripts/testvm.sh: QEMU TCG, a minute or so).
set -e
cd "$(dirname "$0")/.."
src=$(pwd)
if [ "$(id -u)" -eq 0 ]; then scripts/install-deps.sh; else sudo scripts/install-deps.sh; fi
[ -x configure ] || ./autogen.sh
mkdir -p build
cd build
[ -f Makefile ] || "$src/configure" --quiet
make -j"$(nproc)" --quiet
if python3 -c "import os; os.close(os.open('/dev/kvm', os.O_RDWR))" 2>/dev/null; then
	exec ./vmm/vmm run
fi
echo "demo: this host has no usable /dev/kvm (see: ls -l /dev/kvm; dmesg | grep -i kvm)."
echo "demo: booting the demo in the nested test VM instead: scripts/testvm.sh -- build/vmm/vmm run"
exec "$src/scripts/testvm.sh" --timeout 600 -- ./vmm/vmm run
