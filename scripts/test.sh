#!/bin/sh
# Second command of the README (and what CI runs): build with -Werror and run
# the whole test suite, then the unit and integration tests again under
# AddressSanitizer and UndefinedBehaviorSanitizer, then make distcheck.
set -e
cd "$(dirname "$0")/.."
jobs=$(nproc)
./autogen.sh
./configure --enable-werror
make -j"$jobs"
make -j"$jobs" check || { cat tests/test-suite.log; exit 1; }

rm -rf build-san && mkdir build-san && cd build-san
../configure --enable-werror --enable-sanitizers
make -j"$jobs"
make -j"$jobs" check || { cat tests/test-suite.log; exit 1; }
cd ..

make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror
