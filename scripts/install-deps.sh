#!/bin/sh
# Install the Debian 12 packages that building and testing vmm need, if any
# are missing. Run as root (or through sudo).
set -e
PACKAGES="build-essential autoconf automake pkg-config libfdt-dev libjansson-dev liburing-dev libxxhash-dev check python3 qemu-system-x86 cpio kmod clang libclang-rt-14-dev clang-format git gnuplot-nox"
missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
