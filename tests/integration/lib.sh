# Helpers for the integration tests; sourced by run.sh.

die() { echo "assertion failed: $*"; exit 1; }

# goids FILE: the goroutine IDs a fixture printed ("worker <i> goid <G>")
goids() { awk '$1 == "worker" && $3 == "goid" { print $4 }' "$1" | sort -n; }

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
