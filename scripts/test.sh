#!/bin/sh
# Second command of the README (and what CI runs): build with -Werror in a
# build directory of its own (build-test/, or $BUILD_DIR) and run the whole
# suite: make check here; the same suite against a real KVM (directly where
# /dev/kvm works, else in the nested test VM, scripts/testvm.sh); a clang
# build with its own make check; clang-format; make distcheck; the suite
# again under AddressSanitizer and UndefinedBehaviorSanitizer; and a short
# fuzz run of the parsers. Each step prints its time. The source tree's own
# configuration, if any, is left alone.
set -e
cd "$(dirname "$0")/.."
src=$(pwd)
jobs=$(nproc)
build=${BUILD_DIR:-$src/build-test}
t_all=$(date +%s)

step() { # step NAME COMMAND...: run COMMAND, then print how long it took
	name=$1
	shift
	echo "== $name"
	t0=$(date +%s)
	"$@"
	echo "== $name: $(($(date +%s) - t0)) s"
}

check() { # check [MAKE ARGS...]: make check, printing the suite log on failure
	make -j"$jobs" check "$@" || {
		cat tests/test-suite.log examples/test-suite.log 2>/dev/null
		exit 1
	}
}

kvm_usable() {
	python3 -c "import os; os.close(os.open('/dev/kvm', os.O_RDWR))" 2>/dev/null
}

if [ -f config.status ]; then
	echo "test.sh: $src is configured in place (config.status); it builds in $build and" >&2
	echo "         needs an unconfigured source tree: run 'make distclean' there first" >&2
	exit 2
fi
[ -x configure ] || step autogen ./autogen.sh
mkdir -p "$build"
cd "$build"
step configure "$src/configure" --enable-werror --quiet
step build make -j"$jobs"
step check check
if ! kvm_usable; then
	echo "test.sh: this host has no usable /dev/kvm: the booting tests run in the test VM"
	step check-vm make check-vm
fi
# Both compilers build the whole tree (the guest kernel included).
mkdir -p "$build/clang"
step clang sh -c "cd '$build/clang' && CC=clang '$src/configure' --enable-werror --quiet && make -j$jobs && make -j$jobs check"
step format-check make format-check
step distcheck make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror

# distdir relative to the build tree: automake's sub-makes resolve it so.
san=$build/sanitizers
rm -rf "$san"
make distdir distdir=sanitizers >/dev/null
cd "$san"
step sanitizers-build sh -c "./configure --enable-werror --enable-sanitizers --quiet && make -j$jobs"
step sanitizers-check check
cd "$build"

# A short fuzz run of the parsers of untrusted input.
step fuzz make -C tests fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
echo "test.sh: all steps passed in $(($(date +%s) - t_all)) s"
