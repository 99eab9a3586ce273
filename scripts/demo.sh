#!/bin/sh
# First command of the README: install what is missing, build, and boot the
# default guest, which runs a short demo workload and prints its result.
set -e
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then scripts/install-deps.sh; else sudo scripts/install-deps.sh; fi
[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make -j"$(nproc)"
exec ./vmm/vmm run
