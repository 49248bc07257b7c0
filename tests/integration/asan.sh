#!/usr/bin/env bash
# The sanitizer stage: the unit tests given as arguments and a subset of the
# integration tests, against gomapwatch built with AddressSanitizer,
# LeakSanitizer and UndefinedBehaviorSanitizer (`make asan`). Every report
# is fatal and written to a scratch directory, never only to stderr, where
# a test that discards it would hide it: a file there fails the stage even
# when every test passed. Needs root, as run.sh does.
# Environment: GMW (the sanitized gomapwatch), GMW_FIXTURES, OTELCOL,
# K8SCHECK; GMW_TESTS=regex replaces the subset below.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${GMW:?set GMW to the sanitized gomapwatch}" "${GMW_FIXTURES:?set GMW_FIXTURES}"
logs=$(mktemp -d /tmp/gmw-asan.XXXXXX)
trap 'rm -rf "$logs"' EXIT
# not-root runs the binary as nobody, whose reports must land here too
chmod 1777 "$logs"

# Reports: fatal (exit 86, which no test expects), one file per process.
# Leaks count: LeakSanitizer runs at every exit, with suppressions only for
# the libraries' one-time allocations (asan.supp says why each is there).
export ASAN_OPTIONS="halt_on_error=1:exitcode=86:log_path=$logs/asan:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:exitcode=86:log_path=$logs/ubsan:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$here/asan.supp:print_suppressions=0"

# A few minutes: the newest release (Swiss tables) through the paths that
# allocate and free the most (conflicts and none, the fatal error, panics,
# attach and detach with -p, inspect, reads, budget windows, OTLP to the
# Collector); the oldest (buckets) through conflicts, none, the fatal error
# and inspect; lifecycle and bad input once. The recall rates are measured
# by the plain build's run: a tracer two or three times slower changes who
# wins a race, not whether memory is used rightly (read-write and the
# flight recorder's 23 runs are left to it).
new_tag='racy-conflicts|locked-zero-conflicts|fatal-event|panics|attach-detach-locked'
new_tag+='|inspect|reads-locked|otlp|budget-locked-windows'
old_tag='racy-conflicts|locked-zero-conflicts|fatal-event|inspect'
single='signal-detach|command-killed|otlp-collector-restart|otlp-bad-arguments'
single+='|bad-pid|not-elf|no-map-functions|not-root|bad-arguments'
# the oldest and newest releases of toolchains.txt, dots escaped
old=$(head -n 1 "$GMW_FIXTURES/toolchains.txt" | cut -d' ' -f1)
new=$(tail -n 1 "$GMW_FIXTURES/toolchains.txt" | cut -d' ' -f1)
: "${GMW_TESTS:=^${new//./\\.}-($new_tag)\$|^${old//./\\.}-($old_tag)\$|^($single)\$}"
export GMW_TESTS

st=0
echo "--- unit tests (sanitized)"
for t in "$@"; do
	GMW_FIXTURES=$GMW_FIXTURES "$t" >"$logs/unit.out" 2>&1 ||
		{ st=1; echo "FAIL  $(basename "$t")"; tail -20 "$logs/unit.out"; continue; }
	echo "ok    $(basename "$t")"
done
rm -f "$logs/unit.out"

echo "--- integration subset (sanitized): $GMW_TESTS"
"$here/run.sh" || st=1

reports=$(find "$logs" -type f -name '*san.*')
if [ -n "$reports" ]; then
	st=1
	for f in $reports; do
		echo "=== sanitizer report $f"
		cat "$f"
	done
fi
[ "$st" -eq 0 ] && echo "sanitizers: no report" || echo "sanitizers: FAILED"
exit "$st"
