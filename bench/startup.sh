#!/usr/bin/env bash
# gomapwatch's start-up on a large real Go server (scripts/build-large.sh:
# caddy with its standard modules, about 80 MB with DWARF), per build:
#   inspect  `gomapwatch inspect BIG`: wall time, peak RSS
#   traced   `gomapwatch -v -d 2 -- BIG run` on a loopback port: wall time
#            from start to probes live (the "watching" line, printed once
#            every probe is attached and the server released), gomapwatch's
#            own account of it (-v: from main, without exec and loading;
#            with its binary-and-plan part) where the build prints one, and
#            its peak RSS (VmHWM just before it exits, the server's not
#            counted)
# Builds are measured in alternation, round after round, so machine noise
# hits them alike; medians are printed, and with a second build the ratios
# of this build's medians to its.
# Usage: bench/startup.sh BUILDDIR [ROUNDS] [OTHER_GOMAPWATCH]
set -euo pipefail
build=$1
rounds=${2:-10}
gmws=("$build/gomapwatch" ${3:+"$3"})
big=$build/large/caddy
[ "$(id -u)" -eq 0 ] || { echo "startup: needs root" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "startup: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
[ -x "$big" ] || { echo "startup: no $big (scripts/build-large.sh $build/large)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/gmw-startup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# caddy keeps its state under these
export HOME=$tmp XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config
port=$((20000 + $$ % 20000))
cat >"$tmp/Caddyfile" <<CADDY
{
	admin off
	auto_https off
	persist_config off
}
http://127.0.0.1:$port {
	respond "ok"
}
CADDY

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }

# inspect_once GMW OUT: "ms kB" appended to OUT
inspect_once() {
	local t0 t1
	t0=$EPOCHREALTIME
	/usr/bin/time -f %M -o "$tmp/rss" "$1" inspect "$big" >/dev/null
	t1=$EPOCHREALTIME
	echo "$(ms "$t0" "$t1") $(tail -n 1 "$tmp/rss")" >>"$2"
}

# traced_once GMW OUT: "ms-to-live kB own-ms plan-ms" appended to OUT (the
# last two "-" when the build does not say). Each stderr line is stamped as
# it arrives; the server is stopped once gomapwatch has detached.
traced_once() {
	local t0 gp hwm=0 h pid i
	: >"$tmp/err"
	t0=$EPOCHREALTIME
	"$1" -v -d 2 -- "$big" run --config "$tmp/Caddyfile" --adapter caddyfile \
		>/dev/null 2> >(while IFS= read -r l; do
			printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$tmp/err") &
	gp=$!
	for ((i = 0; i < 600; i++)); do
		h=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$gp/status" 2>/dev/null) || true
		[ -z "$h" ] || hwm=$h
		grep -q 'gomapwatch: detached' "$tmp/err" && break
		kill -0 "$gp" 2>/dev/null || break
		sleep 0.05
	done
	pid=$(awk '/gomapwatch: watching pid/ { print $5; exit }' "$tmp/err")
	[ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
	wait "$gp" || true
	sleep 0.1	# the stamping loop's last lines
	awk -v t0="$t0" -v hwm="$hwm" 'BEGIN { own = plan = "-" }
		/gomapwatch: probes live [0-9]+ ms/ { own = $5; plan = $12 }
		/gomapwatch: watching/ { live = sprintf("%.1f", ($1 - t0) * 1000) }
		END { print (live == "" ? "fail" : live), hwm, own, plan }' "$tmp/err" >>"$2"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

for ((r = 0; r < rounds; r++)); do
	for i in "${!gmws[@]}"; do
		inspect_once "${gmws[$i]}" "$tmp/inspect.$i"
		traced_once "${gmws[$i]}" "$tmp/traced.$i"
	done
done

echo "$big: $(($(stat -c %s "$big") / 1000000)) MB; median of $rounds alternating rounds"
for i in "${!gmws[@]}"; do
	im[$i]=$(cut -d' ' -f1 <"$tmp/inspect.$i" | median)
	ir[$i]=$(cut -d' ' -f2 <"$tmp/inspect.$i" | median)
	tm[$i]=$(grep -v '^fail' "$tmp/traced.$i" | cut -d' ' -f1 | median)
	tr[$i]=$(cut -d' ' -f2 <"$tmp/traced.$i" | median)
	own=$(cut -d' ' -f3 <"$tmp/traced.$i" | grep -v -- - | median)
	plan=$(cut -d' ' -f4 <"$tmp/traced.$i" | grep -v -- - | median)
	fails=$(grep -c '^fail' "$tmp/traced.$i" || true)
	printf '%-40s inspect %7.1f ms %6.1f MB   probes live %7.1f ms%s, peak %6.1f MB%s\n' \
		"${gmws[$i]}" "${im[$i]}" "$(awk -v k="${ir[$i]}" 'BEGIN { print k / 1024 }')" \
		"${tm[$i]:-0}" "${own:+ (own -v: $own ms, binary and plan $plan ms)}" \
		"$(awk -v k="${tr[$i]}" 'BEGIN { print k / 1024 }')" \
		"$([ "$fails" -eq 0 ] || echo " ($fails runs never went live)")"
done
if [ "${#gmws[@]}" -eq 2 ]; then
	awk -v a="${im[0]}" -v b="${im[1]}" -v c="${ir[0]}" -v d="${ir[1]}" \
	    -v e="${tm[0]:-0}" -v f="${tm[1]:-1}" -v g="${tr[0]}" -v h="${tr[1]}" 'BEGIN {
		printf "ratio (first / second): inspect time %.2f, RSS %.2f; probes live %.2f, RSS %.2f\n",
			a / b, c / d, e / f, g / h }'
fi
