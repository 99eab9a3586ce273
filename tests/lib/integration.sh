# tests/lib/integration.sh: helpers for the integration tests (sourced).
#
# run_vmm STATUS ARGS...  runs "$VMM ARGS...", keeps stdout in $OUT and
#                         stderr in $ERR, and fails unless it exits STATUS.
# expect FILE REGEX       fails unless a line of FILE matches REGEX.
# Failures print the test file and line, the command and its output.

set -u
: "${VMM:?VMM must name the vmm binary}"
: "${KERNEL:?KERNEL must name guest-kernel/kernel.elf}"
TMPDIR_TEST=$(mktemp -d)
trap 'rm -rf "$TMPDIR_TEST"' EXIT
OUT=$TMPDIR_TEST/stdout
ERR=$TMPDIR_TEST/stderr
LAST_CMD=
# Generous: guest kernel code is emulated instruction by instruction on
# some hosts. Tests never assert on time; this only stops a hung guest.
TIMEOUT=${TEST_TIMEOUT:-120}

fail() {
	echo "FAIL ${BASH_SOURCE[2]:-$0}:${BASH_LINENO[1]:-?}: $*" >&2
	echo "  command: $LAST_CMD" >&2
	echo "  --- stdout ---" >&2
	sed 's/^/  /' "$OUT" >&2 2>/dev/null
	echo "  --- stderr ---" >&2
	sed 's/^/  /' "$ERR" >&2 2>/dev/null
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

run_cmd() {
	local want=$1 status
	shift
	LAST_CMD="$*"
	"$@" >"$OUT" 2>"$ERR" </dev/null
	status=$?
	[ "$status" -eq "$want" ] || fail "exit status $status, expected $want"
	echo "ok: $* (exit $status)"
}

run_vmm() {
	local want=$1
	shift
	run_cmd "$want" "$VMM" "$@"
}

expect() {
	grep -Eq -- "$2" "$1" || fail "no line matches /$2/ in $(basename "$1")"
}

expect_not() {
	! grep -Eq -- "$2" "$1" || fail "a line matches /$2/ in $(basename "$1"), expected none"
}

[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable here"
[ -f "$KERNEL" ] || fail "guest kernel $KERNEL was not built"
