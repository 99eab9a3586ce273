# tests/lib/integration.sh: helpers for the integration tests (sourced).
#
# run_vmm STATUS ARGS...  runs "$VMM ARGS...", keeps stdout in $OUT and
#                         stderr in $ERR, and fails unless it exits STATUS.
# expect FILE REGEX       fails unless a line of FILE matches REGEX.
# need_kvm                skips (exit 77) where /dev/kvm cannot be opened.
# json_get FILE EXPR      prints a Python expression over the JSON in FILE (s).
# start_vm ARGS / start_vmm CMD ARGS / wait_vm STATUS / kill_vm SIG /
# ctl STATUS CMD          a vmm in the background with --control $sock,
#                         signals to it, and requests to it.
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
vm_pid=
# A failed test leaves no vmm behind.
trap '[ -n "$vm_pid" ] && kill -KILL "$vm_pid" 2>/dev/null; rm -rf "$TMPDIR_TEST"' EXIT
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

# Whether $vm_pid runs (an exited child that is not waited for yet is a
# zombie, which kill -0 still finds).
vm_alive() {
	[ -r "/proc/$vm_pid/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$vm_pid/status" 2>/dev/null
}

# start_vmm CMD ARGS...: vmm CMD (run, restore DIR, fork-from DIR) in the
# background with --control $sock (the caller sets sock) and --timeout;
# returns once it answers a request on the socket (a socket file alone
# may be a killed vmm's). Its stdout/stderr go to $OUT/$ERR; $vm_pid is
# the vmm's own pid, so that a test can signal it and wait for it.
start_vmm() {
	local cmd=$1
	shift
	LAST_CMD="$VMM $cmd --control $sock $*"
	"$VMM" "$cmd" --control "$sock" --timeout "$TIMEOUT" "$@" >"$OUT" 2>"$ERR" </dev/null &
	vm_pid=$!
	# A hung vmm fails the test instead of hanging the suite: killed
	# $TIMEOUT + 60 s after its start, past its own --timeout.
	(
		for _ in $(seq $((TIMEOUT + 60))); do
			sleep 1
			vm_alive || exit 0
		done
		kill -KILL "$vm_pid"
	) >/dev/null 2>&1 &
	for _ in $(seq 600); do
		"$VMM" stat --control "$sock" >/dev/null 2>&1 && return 0
		vm_alive || fail "vmm $cmd exited before it answered on $sock"
		sleep 0.1
	done
	fail "vmm $cmd did not answer on $sock within 60 s"
}

# start_vm ARGS...: start_vmm run with the test's kernel.
start_vm() {
	start_vmm run --kernel "$KERNEL" "$@"
}

wait_vm() { # wait_vm STATUS: vmm's exit status must be STATUS
	local status=0
	wait "$vm_pid" || status=$?
	[ "$status" -eq "$1" ] || fail "vmm exited $status, expected $1"
}

# kill_vm SIGNAL: send SIGNAL to the vmm itself (not a wrapper) and wait
# until it is gone, its files closed.
kill_vm() {
	kill "-$1" "$vm_pid" || fail "no vmm process $vm_pid to signal"
	wait "$vm_pid"
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
