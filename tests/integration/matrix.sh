#!/usr/bin/env bash
# The release x build-mode matrix: for every row of $GMW_FIXTURES/matrix.txt
# (release, map layout, modes; scripts/build-fixtures.sh) and every mode,
# gomapwatch must
#  - read the release and map layout the row says (inspect),
#  - report a conflict on racy.<mode> naming two goroutines racy printed,
#    each side's first frame the user's own map-writing line,
#  - report no conflict on locked.<mode> (-seconds 2), which exits 0.
# One line per cell, then the matrix as a table. Needs root.
# Environment: GMW (the gomapwatch binary), GMW_FIXTURES; GMW_TESTS=regex
# runs the cells whose name (matrix-<tag>-<mode>) matches.
# Under CI=true a skipped cell is a failure.
# shellcheck disable=SC2317 # the m_* functions run through check
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${GMW:?set GMW to the gomapwatch binary}" "${GMW_FIXTURES:?set GMW_FIXTURES}"
work=$(mktemp -d /tmp/gmw-matrix.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0 skip=0
failed=()

# shellcheck source=lib.sh
. "$here/lib.sh"

finish() {
	echo "matrix: $fail failed, $skip skipped"
	[ "$fail" -eq 0 ] || { printf '  failed: %s\n' "${failed[@]}"; exit 1; }
	exit 0
}

[ "$(id -u)" -eq 0 ] || { skip_or_fail "the matrix needs root (uprobes, BPF)"; finish; }
[ -s "$GMW_FIXTURES/matrix.txt" ] ||
	{ skip_or_fail "no $GMW_FIXTURES/matrix.txt (scripts/build-fixtures.sh could not fetch the releases)"; finish; }

# m_inspect FIXTURE VERSION LAYOUT: gomapwatch reads the row's release and
# layout (the version may carry experiments: "go1.24.13 X:noswissmap")
m_inspect() {
	"$GMW" inspect --json "$1" >"$T/inspect" || die "inspect failed"
	jq -e --arg v "$2" --arg l "$3" '(.go_version | split(" ")[0]) == $v and .map_layout == $l' \
		"$T/inspect" >/dev/null ||
		die "inspect: want $2 $3, got $(jq -c '[.go_version, .map_layout]' "$T/inspect")"
}

# m_racy FIXTURE SOURCE FILE: a conflict whose two sides are goroutines
# racy printed, each starting at the map-writing line of SOURCE (under
# tests/go), in a file whose name ends with FILE. The runtime can kill racy
# before two writes overlap under the probes: each cell runs it twice and
# counts; the rate over the whole matrix is asserted at the end.
m_racy() {
	local fx=$1 src=$2 file=$3 line i hits=0
	line=$(grep -n 'm64\[uint64(k)\] = i' "$root/tests/go/$src" | cut -d: -f1)
	for i in 1 2; do
		"$GMW" --json -o "$T/ev" -d 30 -- "$fx" >"$T/out" 2>"$T/err" || true
		# no summary: gomapwatch itself gave up, and will again
		jq -e -s '[.[] | select(.type == "summary")] | length == 1' "$T/ev" >/dev/null 2>&1 ||
			{ cat "$T/err"; echo "gomapwatch wrote no summary"; exit 2; }
		goids "$T/out" >"$T/ids"
		[ -s "$T/ids" ] || die "racy printed no goroutine IDs"
		jq -c -s --argjson line "$line" --arg file "$file" --slurpfile ids "$T/ids" '
			[.[] | select(.type == "conflict" and .kind == "write/write")
			| select(.sides[0].goroutine != .sides[1].goroutine)
			| select(all(.sides[]; .goroutine as $g | any($ids[]; . == $g)
				and .function == "runtime.mapassign_fast64"
				and .stack[0].function == "main.writer" and .stack[0].line == $line
				and (.stack[0].file | endswith($file))))
			| {goroutines: [.sides[].goroutine], at: "\(.sides[0].stack[0].file):\(.sides[0].stack[0].line)"}
			] | first // empty' "$T/ev" >"$T/hit.$i"
		[ ! -s "$T/hit.$i" ] || { hits=$((hits + 1)); cp "$T/hit.$i" "$T/hit"; }
	done
	echo "$hits" >"$T/hits"
	[ "$hits" -gt 0 ] || die "no conflict naming both printed goroutines in 2 runs"
}

# m_locked FIXTURE: every map operation under its lock, traced with
# --reads: no conflict, exit 0, the counters add up
m_locked() {
	local status=0
	"$GMW" --reads --json -o "$T/ev" -- "$1" -seconds 2 >"$T/out" 2>"$T/err" || status=$?
	jq -e -s '[.[] | select(.type == "summary")] | length == 1' "$T/ev" >/dev/null 2>&1 ||
		{ cat "$T/err"; echo "gomapwatch wrote no summary (exit $status)"; exit 2; }
	jq -s -r '[.[] | select(.type == "conflict")] | length' "$T/ev" >"$T/n"
	[ "$(cat "$T/n")" -eq 0 ] || { jq -c 'select(.type == "conflict")' "$T/ev" | head -1; exit 1; }
	[ "$status" -eq 0 ] || die "exit $status: $(cat "$T/err")"
	grep -q '^ok writes=' "$T/out" || die "locked did not finish"
	locked_summary "$T/ev" --reads | tee "$T/sum"
}

# check NAME FUNC ARGS...: FUNC in a subshell with set -e, log in $T/NAME;
# prints its exit status (0 ok, 1 wrong result, 2 gomapwatch gave up). The
# subshell stands alone: left of || or in an if, bash would ignore its set -e.
check() {
	local name=$1
	shift
	( set -e; "$@" ) >"$T/$name.log" 2>&1
	echo $?
}

declare -A cell # [row.mode]
rows=() modes_all=()
runs=0 hits=0
while read -r tag version layout modes; do
	row=${#rows[@]}
	rows+=("$tag $version $layout")
	for mode in $modes; do
		case " ${modes_all[*]} " in *" $mode "*) ;; *) modes_all+=("$mode") ;; esac
		name=matrix-$tag-$mode
		[[ $name =~ ${GMW_TESTS:-.} ]] || continue
		T=$work/$name
		mkdir -p "$T"
		# -trimpath leaves the module path (tests/go/go.mod) for the directory
		suffix=.$mode src=racy/main.go file=tests/go/racy/main.go
		case $mode in
		default) suffix= ;;
		cgo) src=racycgo/main.go file=tests/go/racycgo/main.go ;;
		trimpath) file=gomapwatch/fixtures/racy/main.go ;;
		esac
		fx=$GMW_FIXTURES/$tag
		what="$tag $mode ($version, $layout)"
		if [ ! -x "$fx/racy$suffix" ] || [ ! -x "$fx/locked$suffix" ]; then
			echo "FAIL  $what: racy$suffix or locked$suffix missing in $fx"
			cell[$row.$mode]=missing
			fail=$((fail + 1)) failed+=("$name")
			continue
		fi
		i=$(check inspect m_inspect "$fx/racy$suffix" "$version" "$layout")
		r=$(check racy m_racy "$fx/racy$suffix" "$src" "$file")
		l=$(check locked m_locked "$fx/locked$suffix")
		[ ! -s "$T/hits" ] || { hits=$((hits + $(cat "$T/hits"))); runs=$((runs + 2)); }
		racy=$(case $r in 0) echo yes ;; 1) echo no ;; *) echo err ;; esac)
		locked=$(cat "$T/n" 2>/dev/null || echo 0)
		[ "$l" -eq 0 ] || [ "$locked" -gt 0 ] || locked=err
		[ "$i" -eq 0 ] || racy="$racy!"
		cell[$row.$mode]=$racy/$locked
		if [ "$i$r$l" = 000 ]; then
			echo "ok    $what: conflict $(jq -c .goroutines "$T/hit") at $(jq -r .at "$T/hit")" \
				"(in $(cat "$T/hits")/2 runs); locked $(cat "$T/sum")"
		else
			echo "FAIL  $what"
			for part in inspect:$i racy:$r locked:$l; do
				[ "${part#*:}" -eq 0 ] && continue
				echo "      ${part%:*}:"
				sed 's/^/      | /' "$T/${part%:*}.log" | tail -20
			done
			fail=$((fail + 1)) failed+=("$name")
		fi
	done
done <"$GMW_FIXTURES/matrix.txt"

echo
echo "release x mode: racy conflict seen (yes, no, err) / false conflicts on locked (0, N, err)"
echo "  err: gomapwatch gave up or the run went wrong; !: inspect read another release or layout; -: not run"
printf '%-16s %-10s %-6s' release version layout
printf ' %-9s' "${modes_all[@]}" | sed 's/ *$//'
echo
for row in "${!rows[@]}"; do
	read -r tag version layout <<<"${rows[$row]}"
	printf '%-16s %-10s %-6s' "$tag" "$version" "$layout"
	for mode in "${modes_all[@]}"; do
		printf ' %-9s' "${cell[$row.$mode]:--}"
	done
	echo
done | sed 's/ *$//'
echo
# detection rate over every cell's runs: at least 90 %
echo "matrix: racy detected in $hits/$runs runs"
if [ "$runs" -gt 0 ] && [ $((hits * 10)) -lt $((runs * 9)) ]; then
	echo "FAIL  matrix detection rate $hits/$runs is below 90 %"
	fail=$((fail + 1)) failed+=(matrix-rate)
fi
finish
