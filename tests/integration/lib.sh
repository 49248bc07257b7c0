# Helpers for the integration tests; sourced by run.sh.

die() { echo "assertion failed: $*"; exit 1; }

# goids FILE: the goroutine IDs a fixture printed ("worker <i> goid <G>"),
# sorted as comm(1) wants them: as text, not as numbers
goids() { awk '$1 == "worker" && $3 == "goid" { print $4 }' "$1" | sort -u; }

# wait_line FILE PATTERN [SECONDS]: until FILE has a line matching PATTERN
wait_line() {
	local i
	for ((i = 0; i < ${3:-20} * 10; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	die "no line matching '$2' in $1 after ${3:-20}s"
}

# events FILE TYPE: the JSON events of one type, one per line
events() { jq -c --arg t "$2" 'select(.type == $t)' "$1"; }

# expect_status WANT CMD...: run CMD, check its exit status
expect_status() {
	local want=$1 got=0
	shift
	"$@" || got=$?
	[ "$got" -eq "$want" ] || die "'$*' exited $got, want $want"
}

# every line of FILE is a JSON object
valid_ndjson() { jq -e -c 'type == "object"' "$1" >/dev/null || die "$1 is not NDJSON"; }

# A test that cannot run: a skip here, a failure under CI=true, where every
# test can run. Counts into the caller's fail, skip and failed.
skip_or_fail() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (skipped under CI=true): $*"
		fail=$((fail + 1))
		failed+=("$*")
	else
		echo "SKIP: $*"
		skip=$((skip + 1))
	fi
}

# rate NAME RUNS MIN FUNC ARGS...: FUNC RUNS times, each in a subshell with
# set -e and its own scratch $T/<i>; prints the rate, fails below MIN. The
# rate is the assertion: retrying until a detection comes would hide a
# recall regression.
rate() {
	local name=$1 runs=$2 min=$3 k=0 i st base=$T bad=
	shift 3
	for ((i = 1; i <= runs; i++)); do
		T=$base/$i
		mkdir -p "$T"
		# in the background: in a || list (or under the caller's set -e)
		# bash would switch off the subshell's set -e, or stop at its failure
		( set -e; "$@" ) >"$T/log" 2>&1 &
		st=0
		wait "$!" || st=$?
		if [ "$st" -eq 0 ]; then
			k=$((k + 1))
		elif [ -z "$bad" ]; then
			bad=$i
			[ -s "$T/log" ] || echo "exited $st with no message (a command failed under set -e)" >"$T/log"
		fi
	done
	T=$base
	echo "$name: $k/$runs runs (at least $min wanted)"
	# what went wrong the first time, even when the rate is met
	[ -z "$bad" ] || tail -3 "$T/$bad/log" | sed "s/^/run $bad: /"
	[ "$k" -ge "$min" ] || die "$name: $k/$runs runs"
}

# The summary of a run of correctly synchronized code that ended with the
# target: no conflict; every recorded write left or panicked; nothing aged
# out, left open, untracked or lost; re-entries (stack growth) a small
# fraction; panics seen and released where the locked fixture makes them.
clean_summary='.conflicts == 0 and .writes > 10000
	and .write_exits + .cleared_by_panic == .writes
	and .aged_out == 0 and .unfinished == 0 and .untracked == 0 and .lost == 0
	and .unreported_pairs_full == 0 and .reentries * 20 < .writes'

# locked_summary FILE [--reads]: the summary in FILE is clean_summary, with
# the locked fixture's recovered panics (and reads with --reads) counted
locked_summary() {
	local want="$clean_summary and .panics > 0 and .cleared_by_panic > 0"
	[ "${2:-}" != --reads ] || want="$want and .reads > 10000"
	events "$1" summary | jq -e "$want" >/dev/null || die "summary: $(events "$1" summary)"
	events "$1" summary | jq -c '{writes, write_exits, cleared_by_panic, reentries, reads, panics, aged_out, unfinished}'
}

# run NAME FUNC ARGS...: one test in a subshell with set -e, its own scratch
# directory $T under $work; counts into pass, fail and failed
run() {
	local name=$1
	shift
	# GMW_TESTS=regex runs a subset
	[[ $name =~ ${GMW_TESTS:-.} ]] || return 0
	T=$work/$name
	mkdir -p "$T"
	# not in an if: bash ignores set -e inside a condition
	( set -e; "$@" ) >"$T/log" 2>&1
	if [ $? -eq 0 ]; then
		echo "ok    $name"
		# the rates measured (lib.sh's rate), as the note of a passing test
		grep -h ': [0-9]*/[0-9]* runs (at least' "$T/log" | sed 's/^/      /'
		pass=$((pass + 1))
	else
		echo "FAIL  $name"
		sed 's/^/      | /' "$T/log" | tail -40
		fail=$((fail + 1))
		failed+=("$name")
	fi
}
