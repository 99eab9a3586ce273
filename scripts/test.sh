#!/bin/sh
# Second command of the README (and what CI runs): build with -Werror in a
# build directory of its own (build-test/, or $BUILD_DIR) and run the whole
# suite: make check here (the booting tests on this host's own KVM where
# /dev/kvm works, skipped where it does not); the same suite in the nested
# test VM on every host (scripts/testvm.sh: nested SVM with nested paging,
# Debian 12's kernel; a skip there is a failure); a clang build with its
# own make check; clang-format; make distcheck; the suite again under
# AddressSanitizer and UndefinedBehaviorSanitizer; and a short fuzz run of
# the parsers. The test VM, which is emulated and uses one CPU, runs
# beside the steps after it; its log is printed when it ends. Each step
# prints its time, and the last lines list every test skipped, with its
# reason. The source tree's own configuration, if any, is left alone.
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

skips=$build/skipped-tests.txt
record_skips() { # record_skips LABEL DIR: the tests DIR's last make check skipped
	"$src/scripts/skips.sh" --label "$1" "$2" >>"$skips"
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
: >"$skips"
if kvm_usable; then
	echo "test.sh: /dev/kvm works here: the booting tests run on this host's KVM, then in the test VM"
else
	echo "test.sh: this host has no usable /dev/kvm: the booting tests run in the test VM only"
fi
step check check
record_skips "native" "$build"
# The second real KVM, on every host: nested paging and Debian 12's 6.1.
# In the background, beside the native steps below (it keeps one CPU busy).
vm_log=$build/check-vm.log
echo "== check-vm (in the background; its log: $vm_log)"
t_vm=$(date +%s)
# A session of its own: a failing step below stops it, QEMU and all.
setsid make check-vm >"$vm_log" 2>&1 &
vm_job=$!
finish_check_vm() {
	local status=0
	wait "$vm_job" || status=$?
	tail -n 40 "$vm_log"
	echo "== check-vm: $(($(date +%s) - t_vm)) s"
	if [ "$status" -ne 0 ]; then
		echo "test.sh: check-vm failed (status $status); its whole log: $vm_log" >&2
		exit 1
	fi
}
trap '[ -n "${vm_job:-}" ] && kill -- "-$vm_job" 2>/dev/null' EXIT
# Both compilers build the whole tree (the guest kernel included).
mkdir -p "$build/clang"
step clang sh -c "cd '$build/clang' && CC=clang '$src/configure' --enable-werror --quiet && make -j$jobs && make -j$jobs check"
record_skips "clang" "$build/clang"
step format-check make format-check
step distcheck make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror

# distdir relative to the build tree: automake's sub-makes resolve it so.
san=$build/sanitizers
rm -rf "$san"
make distdir distdir=sanitizers >/dev/null
cd "$san"
step sanitizers-build sh -c "./configure --enable-werror --enable-sanitizers --quiet && make -j$jobs"
step sanitizers-check check
record_skips "sanitizers" "$san"
cd "$build"

# A short fuzz run of the parsers of untrusted input.
step fuzz make -C tests fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
cd "$build"
finish_check_vm
vm_job=
echo "test.sh: all steps passed in $(($(date +%s) - t_all)) s"
echo "test.sh: $(wc -l <"$skips") tests skipped (none may be in the test VM, where a skip fails the run):"
cat "$skips"
