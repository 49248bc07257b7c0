#!/usr/bin/env bash
# How fast gomapwatch attaches to and detaches from a large Go program, and
# its peak memory there, measured from outside the process: from start to
# the banner (printed once every probe is live), and from SIGINT to exit.
# Variants run in alternating rounds on the same target, so a busy machine
# slows them alike; compare the ratios, not the absolute times.
#
#   bench/attach.sh BUILD_DIR [ROUNDS]
#   BIG='/path/to/server args'   the target (default: BUILD_DIR's large fixture)
#   GMW_BASE=/path/to/gomapwatch also time another build (e.g. an older one)
set -euo pipefail

build=${1:?usage: bench/attach.sh BUILD_DIR [ROUNDS]}
rounds=${2:-7}
gmw=$build/gomapwatch
big=${BIG:-$build/large/server}
work=$(mktemp -d /tmp/gmw-attach.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

ms() { echo $(($(date +%s%N) / 1000000)); }

# one NAME ENV GMW: attach to $target, detach after a second; appends
# "live_ms exit_ms hwm_kb" to $work/NAME. The banner is read from a pipe
# (a blocking read: polling a file would steal the CPU being measured).
one() {
	local name=$1 envs=$2 bin=$3 t0 t1 t2 g hwm line
	t0=$(ms)
	coproc GMW { exec env $envs "$bin" -p "$target" 2>&1 >/dev/null; }
	g=$GMW_PID
	while read -r line <&"${GMW[0]}"; do
		[[ $line != *"gomapwatch: watching"* ]] || break
	done
	t1=$(ms)
	sleep 1
	hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$g/status")
	t2=$(ms)
	kill -INT "$g"
	cat <&"${GMW[0]}" >/dev/null
	wait "$g"
	echo "$((t1 - t0)) $(($(ms) - t2)) $hwm" >>"$work/$name"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

col() { awk -v c="$2" '{ print $c }' "$work/$1" | median; }

$big >/dev/null 2>&1 &
target=$!
sleep 2
kill -0 "$target" || { echo "bench/attach: $big did not stay up" >&2; exit 1; }
echo "target: $big ($(du -m "$(readlink -f /proc/$target/exe)" | cut -f1) MB), $rounds rounds"

variants=(multi perf)
declare -A envs=([multi]="GOMAPWATCH_DISABLE_FEATURES=none"
		 [perf]="GOMAPWATCH_DISABLE_FEATURES=uprobe_multi")
declare -A bins=([multi]=$gmw [perf]=$gmw)
if [ -n "${GMW_BASE:-}" ]; then
	variants+=(base)
	envs[base]="GOMAPWATCH_DISABLE_FEATURES=none"
	bins[base]=$GMW_BASE
fi
for ((r = 0; r < rounds; r++)); do
	for v in "${variants[@]}"; do
		one "$v" "${envs[$v]}" "${bins[$v]}"
	done
done

printf '%-7s %12s %12s %12s\n' variant "live (ms)" "exit (ms)" "peak RSS (MB)"
for v in "${variants[@]}"; do
	printf '%-7s %12s %12s %12s\n' "$v" "$(col "$v" 1)" "$(col "$v" 2)" \
		"$(($(col "$v" 3) / 1024))"
done
base=${variants[-1]}
for v in "${variants[@]}"; do
	[ "$v" != "$base" ] || continue
	awk -v v="$v" -v b="$base" -v l1="$(col "$v" 1)" -v l2="$(col "$base" 1)" \
		-v e1="$(col "$v" 2)" -v e2="$(col "$base" 2)" \
		'BEGIN { printf "%s / %s: live %.2f, exit %.2f\n", v, b, l1 / l2, e1 / e2 }'
done
