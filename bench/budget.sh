#!/usr/bin/env bash
# --max-overhead on a real net/http server (tests/go/httpserver) under load
# from tests/go/httpload, on the machine's newest core toolchain:
#   throughput  plain, traced in full, and traced with --max-overhead 5,
#               side by side in interleaved rounds (machine noise hits all
#               three alike); medians, as ratios to plain
#   detection   the server with -racy-every 3s (a race that recurs, which
#               the runtime seldom notices) under --max-overhead 5: seconds
#               from gomapwatch's start to its first conflict event
# The goal: --max-overhead 5 keeps 0.95 of plain's throughput, and the
# race is reported within a minute.
# Usage: bench/budget.sh BUILDDIR [ROUNDS [DETECTIONS]]
set -euo pipefail
build=$1
rounds=${2:-3}
detections=${3:-3}
gmw=$build/gomapwatch
tag=$(tail -n 1 "$build/fixtures/toolchains.txt" | cut -d' ' -f1)
srv=$build/fixtures/$tag/httpserver
load=$build/fixtures/$tag/httpload
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }
tmp=$(mktemp -d /tmp/gmw-budget.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# serve [gomapwatch args --]: start the server (as $pid, its output in
# $tmp/srv), wait until it listens; sets addr
serve() {
	local i
	"$@" "$srv" "${srv_args[@]}" >"$tmp/srv" 2>"$tmp/srv.err" &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^listening' "$tmp/srv" && break
		sleep 0.1
	done
	addr=$(awk '$1 == "listening" { print $2 }' "$tmp/srv")
	[ -n "$addr" ] || { echo "bench: the server did not start: $(cat "$tmp/srv.err")" >&2; exit 1; }
}

unserve() {
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
}

# throughput WHAT [gomapwatch args --]: 2 s of warm-up (gomapwatch's first
# estimate and first window fall in it), then 20 s measured: two periods
throughput() {
	local what=$1
	shift
	serve "$@"
	"$load" -url "http://$addr/" -c 8 -seconds 2 >/dev/null
	"$load" -url "http://$addr/" -c 8 -seconds 20 | awk '{ print $6 }' >>"$tmp/rps.$what"
	unserve
}

# detect_once: seconds from gomapwatch's start to its first conflict event
# (polled every 0.1 s), or "none" after two minutes; a race the runtime
# caught too ends the server, and says so
detect_once() {
	local t0 i lpid found=none gone=
	: >"$tmp/ev"
	t0=$(date +%s.%N)
	serve "$gmw" -v --max-overhead 5 --json -o "$tmp/ev" --
	"$load" -url "http://$addr/" -c 8 -seconds 120 >/dev/null 2>&1 &
	lpid=$!
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$pid" 2>/dev/null || gone=1
		if grep -q '"type":"conflict"' "$tmp/ev"; then
			found=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }')
			break
		fi
		[ -z "$gone" ] || break
		sleep 0.1
	done
	kill "$lpid" 2>/dev/null || true
	wait "$lpid" 2>/dev/null || true
	if [ -z "$gone" ]; then
		unserve
	else
		wait "$pid" 2>/dev/null || true
		found="$found, then the server died of $(grep -m1 -o 'fatal error: .*' "$tmp/srv.err" || echo it)"
	fi
	echo "$found"
	# what bounds it: a race recurring every T s is caught, on average,
	# after T / (the share of the time traced)
	grep -m1 -o 'a probe hit costs [0-9.]* us emulated' "$tmp/srv.err" | sed 's/^/    /' || true
	echo "    last estimate: $(grep -o 'full tracing costs ~[0-9]*% of the target.s CPU' "$tmp/srv.err" |
		tail -1), $(grep -o 'tracing [0-9.]* s of every [0-9.]* s' "$tmp/srv.err" | tail -1)"
}

srv_args=()
: >"$tmp/rps.plain"; : >"$tmp/rps.full"; : >"$tmp/rps.budget"
for ((r = 0; r < rounds; r++)); do
	throughput plain
	throughput full "$gmw" --
	throughput budget "$gmw" --max-overhead 5 --
done
[ "$rounds" -eq 0 ] || awk -v t="$tag" -v n="$rounds" -v p="$(median <"$tmp/rps.plain")" \
	-v f="$(median <"$tmp/rps.full")" -v b="$(median <"$tmp/rps.budget")" 'BEGIN {
	printf "net/http server (%s), 8 connections, median of %d interleaved rounds (requests/s):\n", t, n
	printf "  plain %.0f   traced in full %.0f (%.2f of plain)   --max-overhead 5 %.0f (%.2f of plain)\n",
		p, f, f / p, b, b / p
}'
[ "$rounds" -eq 0 ] || echo "  rounds: plain $(tr '\n' ' ' <"$tmp/rps.plain")| full $(tr '\n' ' ' <"$tmp/rps.full")| budget $(tr '\n' ' ' <"$tmp/rps.budget")"

srv_args=(-racy-every 3s)
echo "racy handler every 3 s under --max-overhead 5: seconds to the first conflict"
caught=0
for ((r = 1; r <= detections; r++)); do
	res=$(detect_once)
	echo "  run $r: $res"
	[[ $res == none* ]] || caught=$((caught + 1))
done
echo "  reported within two minutes in $caught of $detections runs"
