# tests/lib/integration.sh: helpers for the integration tests (sourced).
#
# run_vmm STATUS ARGS...  runs "$VMM ARGS...", keeps stdout in $OUT and
#                         stderr in $ERR, and fails unless it exits STATUS.
# expect FILE REGEX       fails unless a line of FILE matches REGEX.
# need_kvm                skips (exit 77) where /dev/kvm cannot be opened.
# json_get FILE EXPR      prints a Python expression over the JSON in FILE (s).
# start_vm ARGS / wait_vm STATUS / ctl STATUS CMD: a vmm run in the
#                         background with --control $sock, and requests to it.
# wait_stat KEY MIN       polls vmm stat until the first "KEY": N in it has
#                         N > MIN (fails after 60 s).
# wait_line FILE REGEX    polls until a line of FILE matches REGEX (fails
#                         after 120 s).
# run_to_line N REGEX ARGS  runs "$VMM ARGS" (run or restore) until the
#                         guest has printed N lines matching REGEX, then
#                         stops it: for a guest that would run on forever.
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
	if [ -s "$TMPDIR_TEST/ctl.err" ]; then
		echo "  --- the last request's stderr ---" >&2
		sed 's/^/  /' "$TMPDIR_TEST/ctl.err" >&2
	fi
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
	# An outer bound past the guest's own --timeout: a hung vmm fails the
	# test (status 124) instead of hanging the suite.
	timeout -k 10 $((TIMEOUT + 60)) "$@" >"$OUT" 2>"$ERR" </dev/null
	status=$?
	[ "$status" -eq 124 ] && [ "$want" -ne 124 ] && fail "hung: still running $((TIMEOUT + 60)) s after start"
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

json_get() {
	python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print($2)" "$1" ||
		fail "cannot evaluate $2 over $1"
}

# need_kvm: skip the rest of a test that boots guests where /dev/kvm cannot
# be opened (a failure inside the test VM); see need-kvm.sh.
need_kvm() {
	local why status=0
	why=$("${TESTLIB%/*}/need-kvm.sh" true 2>&1) || status=$?
	[ "$status" -eq 0 ] && return 0
	[ "$status" -eq 77 ] && { echo "$why"; exit 77; }
	LAST_CMD=need_kvm
	fail "$why"
}

# start_vm ARGS...: vmm run in the background with --control $sock (the
# caller sets sock); returns once the vmm answers a request on it, not when
# the socket file appears (a file left by a killed vmm would pass that).
# Its stdout/stderr go to $OUT/$ERR, its status to $TMPDIR_TEST/status when
# it ends.
start_vm() {
	start_vm_from run --kernel "$KERNEL" "$@"
}

# start_vm_from SUBCOMMAND ARGS...: the same for run or restore.
start_vm_from() {
	LAST_CMD="$VMM $* --control $sock"
	rm -f "$TMPDIR_TEST/status"
	(
		timeout -k 10 $((TIMEOUT + 60)) "$VMM" "$@" --control "$sock" \
			--timeout "$TIMEOUT" >"$OUT" 2>"$ERR" </dev/null
		echo $? >"$TMPDIR_TEST/status"
	) &
	vm_pid=$!
	for _ in $(seq 600); do
		if "$VMM" stat --control "$sock" >/dev/null 2>&1; then
			# The vmm itself, under the subshell and timeout.
			vmm_pid=$(pgrep -P "$(pgrep -P "$vm_pid")")
			return 0
		fi
		[ -f "$TMPDIR_TEST/status" ] && fail "vmm exited $(cat "$TMPDIR_TEST/status") before answering on $sock"
		sleep 0.1
	done
	fail "no answer on the control socket $sock after 60 s"
}

wait_vm() { # wait_vm STATUS
	wait "$vm_pid"
	[ "$(cat "$TMPDIR_TEST/status")" -eq "$1" ] ||
		fail "vmm run exited $(cat "$TMPDIR_TEST/status"), expected $1"
}

ctl() { # ctl STATUS CMD: vmm CMD --control $sock must exit STATUS
	local want=$1 status=0
	shift
	timeout 120 "$VMM" "$@" --control "$sock" >"$TMPDIR_TEST/ctl.out" 2>"$TMPDIR_TEST/ctl.err" ||
		status=$?
	[ "$status" -eq "$want" ] || {
		cat "$TMPDIR_TEST/ctl.err" >&2
		fail "vmm $* exited $status, expected $want"
	}
}

# grep, not json_get: Python starts slowly where everything is emulated,
# and a short guest would be done before the first answer.
wait_stat() { # wait_stat KEY MIN
	local n
	for _ in $(seq 600); do
		ctl 0 stat
		n=$(sed -n "s/^ *\"$1\": \([0-9]*\).*/\1/p" "$TMPDIR_TEST/ctl.out" | head -1)
		[ "${n:-0}" -gt "$2" ] && return 0
		sleep 0.1
	done
	fail "vmm stat: $1 never above $2 (last: ${n:-none})"
}

wait_line() { # wait_line FILE REGEX
	for _ in $(seq 1200); do
		grep -Eq -- "$2" "$1" && return 0
		sleep 0.1
	done
	fail "no line matches /$2/ in $(basename "$1") after 120 s"
}

# run_to_line N REGEX ARGS...: "$VMM ARGS" with a control socket of its own
# and --pause-at-line REGEX: the guest pauses at each matching line (it
# cannot go past one, however fast the host), is resumed until it has
# printed N of them, then stopped; vmm must exit 3 ("stopped by request").
# stdout/stderr in $OUT/$ERR.
run_to_line() {
	local n=$1 re=$2 s=$TMPDIR_TEST/to-line.sock pid seen=0 status=0
	shift 2
	LAST_CMD="$VMM $* --control $s --pause-at-line $re"
	timeout -k 10 $((TIMEOUT + 60)) "$VMM" "$@" --control "$s" --pause-at-line "$re" \
		--timeout "$TIMEOUT" >"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	for _ in $(seq 1200); do
		seen=$(grep -Ec -- "$re" "$OUT")
		[ "$seen" -ge "$n" ] && break
		kill -0 "$pid" 2>/dev/null || break
		# Paused at a match: let it go on to the next.
		"$VMM" stat --control "$s" 2>/dev/null | grep -q '"state": "paused"' &&
			"$VMM" resume --control "$s" >/dev/null 2>&1
		sleep 0.1
	done
	[ "$seen" -ge "$n" ] || { wait "$pid"; fail "$seen of $n lines match /$re/ (vmm exit $?)"; }
	"$VMM" stop --control "$s" >/dev/null 2>"$TMPDIR_TEST/ctl.err" || fail "vmm stop failed"
	wait "$pid" || status=$?
	[ "$status" -eq 3 ] || fail "exit status $status, expected 3 (stopped at /$re/)"
	echo "ok: $LAST_CMD (stopped at line $n matching /$re/)"
}

[ -f "$KERNEL" ] || fail "guest kernel $KERNEL was not built"
