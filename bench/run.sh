#!/usr/bin/env bash
# The cost of a traced map operation, side by side in one run on one binary
# (tests/go/mapbench), for every core toolchain:
#   plain       no probes
#   floor       bare uprobes (tracefs, recording off) on every point
#               gomapwatch plans: the two hits a traced write cannot avoid
#   gomapwatch  the same points running gomapwatch's programs
#   no recorder gomapwatch --no-flight-recorder: what the flight recorder costs
# for a shallow stack and one 30 frames deeper, map writes, and map reads
# under --reads. Rounds are interleaved so machine noise hits all three
# alike; the medians are printed with the added cost over plain, and the
# ratio that matters: gomapwatch's added cost / the floor's added cost.
# Usage: bench/run.sh BUILDDIR [ROUNDS]
set -euo pipefail
build=$1
rounds=${2:-5}
gmw=$build/gomapwatch
tfs=/sys/kernel/tracing
group=gmwbench
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }
[ -w "$tfs/uprobe_events" ] || mount -t tracefs nodev "$tfs" 2>/dev/null || true
[ -w "$tfs/uprobe_events" ] || { echo "bench: no tracefs at $tfs" >&2; exit 1; }
tmp=$(mktemp -d /tmp/gmw-bench.XXXXXX)
tracing_was=$(cat "$tfs/tracing_on")

floor_off() {
	[ -d "$tfs/events/$group" ] || return 0
	echo 0 >"$tfs/events/$group/enable"
	sed -n "s|^p:$group/\([^ ]*\) .*|-:$group/\1|p" "$tfs/uprobe_events" >>"$tfs/uprobe_events"
}
trap 'floor_off; echo "$tracing_was" >"$tfs/tracing_on"; rm -rf "$tmp"' EXIT

# floor_on BIN [--reads]: a bare uprobe on every point gomapwatch would use
floor_on() {
	local bin=$1 i=0 off
	shift
	for off in $("$gmw" inspect --json "$@" "$bin" |
		jq -r '.functions[].points[] | select(.role | test("^(write-|read|iter)")) | .file_offset'); do
		echo "p:$group/p$i $bin:$(printf '%#x' "$off")" >>"$tfs/uprobe_events"
		i=$((i + 1))
	done
	echo 0 >"$tfs/tracing_on"	# hits still trap; nothing is recorded
	echo 1 >"$tfs/events/$group/enable"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
nsop() { awk '$5 == "ns/op" { print $6 }'; }

# one_case TAG OP DEPTH [--reads]: the three, interleaved, medians and ratio
one_case() {
	local tag=$1 op=$2 depth=$3 bin=$build/fixtures/$1/mapbench
	shift 3
	local args=(-op "$op" -depth "$depth")
	: >"$tmp/plain"; : >"$tmp/floor"; : >"$tmp/gmw"; : >"$tmp/norec"
	for ((i = 0; i < rounds; i++)); do
		"$bin" "${args[@]}" | nsop >>"$tmp/plain"
		floor_on "$bin" "$@"
		"$bin" "${args[@]}" | nsop >>"$tmp/floor"
		floor_off
		"$gmw" "$@" -- "$bin" "${args[@]}" 2>/dev/null | nsop >>"$tmp/gmw"
		"$gmw" --no-flight-recorder "$@" -- "$bin" "${args[@]}" 2>/dev/null | nsop >>"$tmp/norec"
	done
	awk -v t="$tag" -v o="$op${1:+ $1}" -v d="$depth" -v p="$(median <"$tmp/plain")" \
		-v f="$(median <"$tmp/floor")" -v g="$(median <"$tmp/gmw")" \
		-v n="$(median <"$tmp/norec")" 'BEGIN {
		printf "%-7s %-12s +%-2d frames  plain %7.1f  floor %7.1f  gomapwatch %7.1f ns/op" \
			"   added: floor %6.0f  gomapwatch %6.0f  ratio %.2f  (no flight recorder %.2f)\n",
			t, o, d, p, f, g, f - p, g - p, (g - p) / (f - p), (n - p) / (f - p)
	}'
}

echo "mapbench, median of $rounds interleaved rounds; ratio = gomapwatch's added cost / the floor's"
while read -r tag _; do
	for depth in 0 30; do
		one_case "$tag" write "$depth"
	done
	for depth in 0 30; do
		one_case "$tag" read "$depth" --reads
	done
done <"$build/fixtures/toolchains.txt"

# A real net/http server (tests/go/httpserver: a session map under a mutex,
# a config map under an RWMutex, per-request maps) driven over loopback by
# tests/go/httpload: throughput plain, traced, traced with --reads.
rps() {
	local addr=$1
	"$build/fixtures/$tag/httpload" -url "http://$addr/" -c 8 -seconds 3 | awk '{ print $6 }'
}

# http_case WHAT [gomapwatch args --]: serve, load, stop; rps into $tmp/http.WHAT
http_case() {
	local what=$1 addr pid i
	shift
	"$@" "$build/fixtures/$tag/httpserver" >"$tmp/srv" 2>/dev/null &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^listening' "$tmp/srv" && break
		sleep 0.1
	done
	addr=$(awk '$1 == "listening" { print $2 }' "$tmp/srv")
	sleep 0.3
	rps "$addr" >>"$tmp/http.$what"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
}

tag=$(tail -n 1 "$build/fixtures/toolchains.txt" | cut -d' ' -f1)
: >"$tmp/http.plain"; : >"$tmp/http.floor"; : >"$tmp/http.traced"; : >"$tmp/http.reads"
for ((i = 0; i < rounds; i++)); do
	http_case plain
	floor_on "$build/fixtures/$tag/httpserver"
	http_case floor
	floor_off
	http_case traced "$gmw" --
	http_case reads "$gmw" --reads --
done
awk -v t="$tag" -v p="$(median <"$tmp/http.plain")" -v f="$(median <"$tmp/http.floor")" \
	-v g="$(median <"$tmp/http.traced")" -v r="$(median <"$tmp/http.reads")" 'BEGIN {
	printf "\nnet/http server (%s), 8 connections, median of rounds (requests/s):\n", t
	printf "  plain %.0f   floor (bare uprobes, writes) %.0f (%.2f of plain)\n", p, f, f / p
	printf "  traced %.0f (%.2f of plain, %.2f of floor)   traced --reads %.0f (%.2f of plain)\n",
		g, g / p, g / f, r, r / p
}'
