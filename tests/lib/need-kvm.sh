#!/bin/sh
# tests/lib/need-kvm.sh SCRIPT [ARGS...]: run a test that boots a guest,
# or skip it (exit 77, saying why) where /dev/kvm cannot be opened. Inside
# the test VM (VMM_REQUIRE_KVM=1) a missing KVM is a failure, not a skip,
# so that a run there can never pass while booting nothing.
if ! python3 -c "import os; os.close(os.open('/dev/kvm', os.O_RDWR))" 2>/dev/null; then
	if [ -n "${VMM_REQUIRE_KVM:-}" ]; then
		echo "FAIL: /dev/kvm cannot be opened, and VMM_REQUIRE_KVM is set (test VM)" >&2
		exit 1
	fi
	echo "SKIP: /dev/kvm cannot be opened here; run make check-vm to boot guests in the test VM"
	exit 77
fi
exec "$@"
