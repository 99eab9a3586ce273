#!/bin/sh
# Second command of the README (and what CI runs): build with -Werror and run
# the whole test suite, then make distcheck, then the unit and integration
# tests again under AddressSanitizer and UndefinedBehaviorSanitizer (built
# from the distribution tree, so the source tree stays configured as is).
set -e
cd "$(dirname "$0")/.."
jobs=$(nproc)
./autogen.sh
./configure --enable-werror
make -j"$jobs"
make -j"$jobs" check || { cat tests/test-suite.log; exit 1; }
make format-check
make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror

san=build-sanitizers
rm -rf "$san"
make distdir distdir="$san"
cd "$san"
./configure --enable-werror --enable-sanitizers
make -j"$jobs"
make -j"$jobs" check || { cat tests/test-suite.log; exit 1; }
cd ..

# A short fuzz run of the parsers of untrusted input (ELF loader, hypercalls).
make -C tests fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
