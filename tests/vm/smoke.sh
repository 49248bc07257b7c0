#!/usr/bin/env bash
# The smoke set run inside each guest of the kernel matrix (tests/vm/run.sh):
#   smoke.sh GMW FIXTURES RESULTS
# GMW is the gomapwatch binary, FIXTURES one toolchain's fixtures directory,
# RESULTS a directory the guest may write (vng --rwdir). Writes
# RESULTS/results ("CHECK PASS|FAIL", one line each), RESULTS/CHECK.log and
# RESULTS/features. The assertions are the host's (tests/integration), fewer
# of them and with generous timeouts: QEMU's TCG runs 10-50x slower than the
# host, so nothing here measures time.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# smoke.sh --check NAME GMW FIXTURES RESULTS: one check, in its own process
# (timeout(1) needs a command; a check's set -e must not reach the caller)
check=
if [ "${1:-}" = --check ]; then
	check=$2
	shift 2
fi
GMW=$1 fx=$2 res=$3
# Per check: a hang fails that check, not the whole guest.
CHECK_TIMEOUT=${GMW_VM_CHECK_TIMEOUT:-300}
CHECKS=(racy-conflict locked-no-conflict fatal-event attach-detach refusal-named)

# shellcheck source=tests/integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=tests/integration/tests.sh
. "$root/tests/integration/tests.sh"

# racy: a conflict naming two goroutines the fixture printed, as on the host
# (tests.sh racy_once), and as there a rate: the runtime can kill racy
# before two writes overlap under the probes.
c_racy-conflict() { rate "racy detected" 5 4 racy_once "$fx"; }

# locked: every map operation under its lock, no conflict, counters add up
c_locked-no-conflict() { t_locked "$fx"; }

# fatal: racy dies of "concurrent map writes" and the fatal event names it
c_fatal-event() { t_fatal "$fx"; }

# -p: attach to a running locked fixture, detach after -d, and the target
# runs on to its normal end. The window outlasts locked's first phase (its
# stack-local maps alone, before the workers start), which a loaded host
# can stretch over seconds in an emulated guest.
c_attach-detach() {
	local pid
	"$fx/locked" -seconds 40 >"$T/out" 2>&1 &
	wait_line "$T/out" '^pid ' 60
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	expect_status 0 "$GMW" -p "$pid" -d 10 --json -o "$T/ev"
	kill -0 "$pid" 2>/dev/null || die "the target is gone after detach: $(cat "$T/out")"
	events "$T/ev" summary | jq -e '.writes > 0 and .conflicts == 0' >/dev/null ||
		die "summary: $(events "$T/ev" summary)"
	events "$T/ev" summary | jq -c '{writes, write_exits, conflicts}'
	expect_status 0 wait "$!"
	grep -q '^ok writes=' "$T/out" || die "the target did not finish normally: $(cat "$T/out")"
}

# What this kernel refuses is said, not guessed: where it has no attach
# cookies, a forced use shows the verifier's own words; where it has no
# uprobe_multi links, a forced use names the link; elsewhere a missing
# ring buffer (forced off) is named with the kernel that brings it.
c_refusal-named() {
	local k
	k=$("$GMW" inspect --kernel --json)
	if [ "$(jq .features.attach_cookie <<<"$k")" = false ]; then
		GOMAPWATCH_FORCE_FEATURES=attach_cookie expect_status 1 "$GMW" -- "$fx/locked" -seconds 1 2>"$T/err"
		grep -q -- '-- BEGIN PROG LOAD LOG --' "$T/err" || die "no verifier log: $(cat "$T/err")"
		grep -qE "^gomapwatch: cannot load the BPF programs into kernel $(uname -r)" "$T/err"
	elif [ "$(jq .features.uprobe_multi <<<"$k")" = false ]; then
		GOMAPWATCH_FORCE_FEATURES=uprobe_multi expect_status 1 "$GMW" -- "$fx/locked" -seconds 1 2>"$T/err"
		grep -qE '^gomapwatch: attach [0-9]+ probes of [a-z_]+ in one uprobe_multi link: ' "$T/err"
	else
		GOMAPWATCH_DISABLE_FEATURES=ringbuf expect_status 1 "$GMW" -- "$fx/locked" -seconds 1 2>"$T/err"
		grep -q 'has no BPF ring buffer: gomapwatch needs Linux 5.8 or later' "$T/err"
	fi
	tail -n 15 "$T/err"
}

# What this kernel offers gomapwatch, as the loader probes it.
features() { "$GMW" inspect --kernel 2>&1 || true; }

if [ -n "$check" ]; then
	set -e
	"c_$check"
	exit
fi

mkdir -p "$res"
: >"$res/results"
features >"$res/features" 2>&1
for c in "${CHECKS[@]}"; do
	export T
	T=$(mktemp -d "/tmp/gmw-vm-$c.XXXXXX")
	if timeout -k 10 "$CHECK_TIMEOUT" bash "$0" --check "$c" "$GMW" "$fx" "$res" >"$res/$c.log" 2>&1; then
		echo "$c PASS" >>"$res/results"
	else
		echo "$c FAIL" >>"$res/results"
		# a check that redirected the failing command keeps its words there
		for f in "$T/err" "$T/out"; do
			[ -s "$f" ] && { echo "--- ${f##*/}"; tail -n 5 "$f"; }
		done >>"$res/$c.log"
	fi
done
