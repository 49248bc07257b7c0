# The integration tests; sourced by run.sh. Each runs in a subshell with
# set -e, scratch directory $T; a non-zero exit is a failure.

# The line of the racy write the user would look for first.
racy_line() { grep -n 'm64\[uint64(k)\] = i' "$root/tests/go/racy/main.go" | cut -d: -f1; }

# A conflict naming two goroutines the fixture printed, with the user's own
# map-writing line as each side's first frame.
check_racy_events() {
	local ev=$1 out=$2
	valid_ndjson "$ev"
	goids "$out" >"$T/ids"
	[ -s "$T/ids" ] || die "the fixture printed no goroutine IDs"
	jq -r 'select(.type == "conflict") | .sides[] | select(.function != "unseen") | .goroutine' \
		"$ev" | sort -u >"$T/seen"
	[ -z "$(comm -23 "$T/seen" "$T/ids")" ] || die "conflicts name goroutines the fixture never printed: $(comm -23 "$T/seen" "$T/ids" | tr '\n' ' ')"
	jq -e -s --argjson line "$(racy_line)" '[.[] | select(.type == "conflict" and .kind == "write/write")
		| select(.sides[0].goroutine != .sides[1].goroutine)
		| select(all(.sides[]; .function == "runtime.mapassign_fast64"
			and .stack[0].function == "main.writer" and .stack[0].line == $line
			and .created_by.function == "main.startWorkers"
			and (.stack[0].file | endswith("tests/go/racy/main.go"))))] | length > 0' "$ev" >/dev/null
}

# One run of racy: a conflict naming two goroutines it printed, one summary,
# and gomapwatch exits with racy's own status (2: a Go fatal error; swiss
# maps can also die of "small map with no empty slot (concurrent map
# writes?)").
racy_once() {
	local fx=$1 bin=${2:-racy} status=0
	"$GMW" --json -o "$T/ev" -d 30 -- "$fx/$bin" >"$T/out" 2>"$T/err" || status=$?
	check_racy_events "$T/ev" "$T/out"
	[ "$(events "$T/ev" summary | wc -l)" -eq 1 ] || die "want one summary"
	if [ -n "$(events "$T/ev" fatal)" ]; then
		[ "$status" -eq 2 ] || die "racy died of a fatal error but gomapwatch exited $status"
		grep -qF "exited with status 2 after a Go fatal error: $(events "$T/ev" fatal | sed -n 1p | jq -r .message)" "$T/err" ||
			die "stderr does not say the command died of a Go fatal error: $(grep gomapwatch "$T/err")"
	fi
}

# The runtime can kill racy before two writes overlap under the probes: the
# detection rate over 10 runs is the assertion.
t_racy_conflicts() {
	rate "racy detected" 10 9 racy_once "$1"
	jq -c 'select(.type == "conflict")' "$T/1/ev" | sed -n 1p
}

racy_text_once() {
	local fx=$1 blocks distinct
	"$GMW" -d 30 -- "$fx/racy" >"$T/out" 2>"$T/err" || true
	grep -q '^=== CONFLICT write/write on map 0x' "$T/out"
	grep -qE "^  entering: goroutine [0-9]+ \[pid [0-9]+ tid [0-9]+\] in runtime.mapassign_fast64" "$T/out" ||
		die "no entering side"
	grep -qE "^  already inside: goroutine [0-9]+ \[pid [0-9]+ tid [0-9]+\] in runtime.mapassign_fast64" "$T/out" ||
		die "no already-inside side"
	grep -qE "^      main.writer /.*tests/go/racy/main.go:$(racy_line)\$" "$T/out" ||
		die "the user's map-writing line is not symbolized"
	grep -q '^--- gomapwatch summary' "$T/out" || die "no summary"
	grep -qE '^conflicts: [0-9]+ \([0-9]+ distinct\)' "$T/out" || die "no conflict count"
	# one block per distinct conflict: repeats are counted, not printed
	blocks=$(grep -c '^=== CONFLICT' "$T/out")
	distinct=$(sed -nE 's/^conflicts: [0-9]+ \(([0-9]+) distinct\)/\1/p' "$T/out")
	[ "$blocks" -eq "$distinct" ] || die "$blocks blocks for $distinct distinct conflicts"
}

t_racy_text() {
	rate "racy detected, text" 5 4 racy_text_once "$1"
}

# Every map operation under its lock (tests/go/locked): nothing to report,
# and the counters add up.
t_locked() {
	local fx=$1
	expect_status 0 "$GMW" --json -o "$T/ev" -- "$fx/locked" -seconds 5 >"$T/out"
	valid_ndjson "$T/ev"
	grep -q '^ok writes=' "$T/out" || die "locked did not finish"
	[ -z "$(events "$T/ev" conflict)" ] || die "conflict reported on correctly locked code: $(events "$T/ev" conflict | sed -n 1p)"
	locked_summary "$T/ev"
}

t_stackgrow() {
	local fx=$1
	expect_status 0 "$fx/stackgrow" >"$T/plain"
	expect_status 0 "$GMW" --json -o "$T/ev" -- "$fx/stackgrow" >"$T/traced"
	diff "$T/plain" "$T/traced" || die "output differs when traced"
	[ -z "$(events "$T/ev" conflict)" ] || die "conflict on correctly synchronized code"
	events "$T/ev" summary | jq -e '.writes > 1000' >/dev/null || die "no writes traced"
	events "$T/ev" summary
}

t_fatal() {
	local fx=$1 ev
	expect_status 2 "$GMW" --json -o "$T/ev" -- "$fx/fatal" >"$T/out" 2>"$T/err"
	valid_ndjson "$T/ev"
	goids "$T/out" >"$T/ids"
	ev=$(events "$T/ev" fatal | sed -n 1p)
	[ -n "$ev" ] || die "no fatal event"
	echo "$ev" | jq -e '.message == "concurrent map writes"' >/dev/null || die "message: $ev"
	grep -qx "$(echo "$ev" | jq -r .goroutine)" "$T/ids" || die "fatal goroutine not one the fixture printed"
	echo "$ev" | jq -e '[.stack[].function] | any(startswith("main."))' >/dev/null ||
		die "fatal stack has no user frame: $ev"
	grep -q 'Go fatal error: concurrent map writes' "$T/err" || die "stderr does not name the fatal error"
	echo "$ev" | jq -c '{message, goroutine, frames: [.stack[].function]}'
}

# keys_once FX KIND FUNC GOKIND TEST: under racy -kind KIND, every side of
# a conflict in FUNC shows its key, of Go kind GOKIND, and the jq TEST holds
# for it (it is one of the keys the fixture writes); text output shows them.
keys_once() {
	local fx=$1 kind=$2 fn=$3 gokind=$4 test=$5 n
	"$GMW" --json -o "$T/ev" -d 30 -- "$fx/racy" -kind "$kind" >"$T/out" 2>"$T/err" || true
	n=$(events "$T/ev" conflict | jq --arg fn "$fn" '.sides[] | select(.function == $fn)' | jq -s length)
	[ "$n" -gt 0 ] || die "no conflict side in $fn"
	events "$T/ev" conflict | jq -c --arg fn "$fn" '.sides[] | select(.function == $fn) | .key' |
		jq -e -s --arg k "$gokind" "all(.kind == \$k and ($test))" >/dev/null ||
		die "keys in $fn: $(events "$T/ev" conflict | jq -c '[.sides[].key]' | head -3)"
}

t_keys() {
	local fx=$1 str='(.value | test("^key-[0-9]{4}$")) and .length == 8 and (.truncated | not)'
	rate "keys fast64" 3 2 keys_once "$fx" fast64 runtime.mapassign_fast64 uint64 \
		'.value >= 0 and .value < 1024'
	rate "keys fast32" 3 2 keys_once "$fx" fast32 runtime.mapassign_fast32 int32 \
		'.value <= 0 and .value > -1024'
	rate "keys faststr" 3 2 keys_once "$fx" faststr runtime.mapassign_faststr string "$str"
	rate "keys float64 (generic)" 3 2 keys_once "$fx" float runtime.mapassign float64 \
		'(.value - 0.5) == ((.value - 0.5) | floor) and .value < 1024'
	rate "keys string (generic)" 3 2 keys_once "$fx" bigstr runtime.mapassign string "$str"
	rate "keys struct (not shown)" 3 2 keys_once "$fx" generic runtime.mapassign struct \
		'.value == null and .note == "not shown"'
	"$GMW" -d 30 -- "$fx/racy" -kind faststr >"$T/out" 2>/dev/null || true
	grep -qE '^  entering: .* \(write, key "key-[0-9]{4}", write flag' "$T/out" ||
		die "no string key in the text report: $(grep -m1 entering: "$T/out")"
}

# fatal_recorder_once FX PROG ARGS...: a fatal error of PROG always comes
# with the flight recorder: the map's last operations, newest first, the
# dying goroutine's own among them, every goroutine one the fixture printed.
fatal_recorder_once() {
	local fx=$1 prog=$2 ev
	shift 2
	"$GMW" --json -o "$T/ev" -d 30 -- "$fx/$prog" "$@" >"$T/out" 2>"$T/err" || true
	goids "$T/out" >"$T/ids"
	ev=$(events "$T/ev" fatal | sed -n 1p)
	[ -n "$ev" ] || die "no fatal event"
	echo "$ev" | jq -e '(.recent_ops | length) > 0 and (.map | startswith("0x"))' >/dev/null ||
		die "no flight recorder: $(echo "$ev" | jq -c '{message, map, recent_ops}')"
	echo "$ev" | jq -e '.goroutine as $g | .map as $m |
		any(.recent_ops[]; .goroutine == $g and .map == $m and (.function | startswith("runtime.map")))
		and ([.recent_ops[].before_ns] | . == sort)
		and all(.recent_ops[]; .at.function | startswith("main."))' >/dev/null ||
		die "flight recorder: $(echo "$ev" | jq -c .recent_ops)"
	for g in $(echo "$ev" | jq '.recent_ops[].goroutine' | sort -u); do
		# goroutine 1: main, filling the map before the workers start
		[ "$g" -eq 1 ] || grep -qx "$g" "$T/ids" || die "recorded goroutine $g not one the fixture printed"
	done
}

# A read/write fatal error without --reads: the dying reader's operation was
# not traced, so its map is not known; the process's last operations are
# shown, the writer's among them.
read_recorder_once() {
	local fx=$1 ev
	"$GMW" --json -o "$T/ev" -d 30 -- "$fx/racyread" >"$T/out" 2>"$T/err" || true
	ev=$(events "$T/ev" fatal | sed -n 1p)
	[ -n "$ev" ] || die "no fatal event"
	echo "$ev" | jq -e --argjson w "$(awk '$1 == "writer" { print $3 }' "$T/out")" \
		'(.map == null) and (.recent_ops | length) > 0
		and any(.recent_ops[]; .goroutine == $w and .op == "write" and .at.function == "main.writer")' \
		>/dev/null || die "read/write fatal: $(echo "$ev" | jq -c '{message, map, recent_ops: .recent_ops[:2]}')"
}

t_flight_recorder() {
	local fx=$1
	rate "flight recorder, read/write fatal" 3 3 read_recorder_once "$fx"
	rate "flight recorder, racy fast64" 5 5 fatal_recorder_once "$fx" racy
	rate "flight recorder, racy faststr" 5 5 fatal_recorder_once "$fx" racy -kind faststr
	rate "flight recorder, fatal" 5 5 fatal_recorder_once "$fx" fatal
	rate "flight recorder, deepinline" 5 5 fatal_recorder_once "$fx" deepinline -mode fatal
	events "$T/5/ev" fatal | jq -c '{message, map, recent_ops: .recent_ops[:3]}'
}

# The summary says where to fix it: per map, pairs of lines by count, with
# times and creation sites; the counts add up to the conflicts.
t_summary_sites() {
	local fx=$1 sum
	"$GMW" --json -o "$T/ev" -d 30 -- "$fx/racy" -kind faststr >"$T/out" 2>"$T/err" || true
	sum=$(events "$T/ev" summary)
	[ "$(echo "$sum" | jq '.conflicts')" -gt 0 ] || die "no conflict"
	echo "$sum" | jq -e '.maps | length > 0 and all(.[];
		(.map | startswith("0x")) and .conflicts == ([.pairs[].count] | add)
		and ([.pairs[].count] | . == (sort | reverse))
		and all(.pairs[]; .first_s <= .last_s and (.lines | length) == 2
			and all(.lines[]; (.function == "main.writer" and .line > 0)
				or .function == "(never seen entering)")
			and all(.created_by[]; .function == "main.startWorkers"))
		and any(.pairs[]; all(.lines[]; .function == "main.writer")))' >/dev/null ||
		die "summary: $(echo "$sum" | jq -c .maps)"
	# every conflict is in a pair's count, or said lost
	echo "$sum" | jq -e '([.maps[].conflicts] | add) + .lost + .unreported_pairs_full == .conflicts' \
		>/dev/null || die "per-map counts do not add up: $(echo "$sum" | jq -c '{conflicts, lost, maps}')"
	"$GMW" -d 30 -- "$fx/racy" -kind faststr >"$T/out" 2>/dev/null || true
	grep -qE '^  map 0x[0-9a-f]+: [0-9]+ conflicts$' "$T/out" || die "no per-map line in the text summary"
	grep -qE '^ +[0-9]+x  write/write: main.writer main.go:[0-9]+ <-> main.writer main.go:[0-9]+$' "$T/out" ||
		die "no pair of lines in the text summary"
	grep -qE '^ +first [0-9.]+ s, last [0-9.]+ s after start; goroutines created by main.startWorkers main.go:[0-9]+$' \
		"$T/out" || die "no times and creation site in the text summary"
	echo "$sum" | jq -c '.maps[0]'
}

attach_once() {
	local fx=$1 pid
	"$fx/racy" -sleep 2s >"$T/out" 2>/dev/null &
	wait_line "$T/out" '^worker 3 goid'
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	expect_status 0 "$GMW" -p "$pid" --json -o "$T/ev" -d 30
	wait "$!" 2>/dev/null || true
	check_racy_events "$T/ev" "$T/out"
}

t_attach_pid() {
	rate "racy detected with -p" 5 4 attach_once "$1"
}

t_pie_stripped() {
	local fx=$1 b
	for b in racy.pie racy.stripped; do
		rate "$b detected" 5 4 racy_once "$fx" "$b"
	done
}

# SIGINT, SIGTERM and SIGHUP each detach, print a summary, exit 0, and
# leave the target running unharmed.
t_signal_detach() {
	local fx=$1 pid sig g
	"$fx/locked" -seconds 6 >"$T/out" 2>&1 &
	g=$!
	wait_line "$T/out" '^pid '
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	for sig in INT TERM HUP; do
		"$GMW" -p "$pid" --json -o "$T/ev.$sig" >"$T/gmw.$sig" 2>&1 &
		echo $! >"$T/gmw.$sig.pid"
	done
	# attached (the banner comes after the last probe), then some writes
	for sig in INT TERM HUP; do
		wait_line "$T/gmw.$sig" '^gomapwatch: watching pid'
	done
	sleep 1
	for sig in INT TERM HUP; do
		kill -"$sig" "$(cat "$T/gmw.$sig.pid")"
	done
	for sig in INT TERM HUP; do
		expect_status 0 wait "$(cat "$T/gmw.$sig.pid")"
		events "$T/ev.$sig" summary | jq -e '.writes > 0 and .conflicts == 0' >/dev/null ||
			die "SIG$sig: summary: $(events "$T/ev.$sig" summary) $(cat "$T/gmw.$sig")"
	done
	expect_status 0 wait "$g"
	grep -q '^ok writes=' "$T/out" || die "the target did not finish normally after detach"
}

t_duration() {
	local fx=$1 pid t0 t1
	"$fx/locked" -seconds 15 >"$T/out" 2>&1 &
	wait_line "$T/out" '^pid '
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	t0=$(date +%s.%N)
	expect_status 0 "$GMW" -p "$pid" -d 2 --json -o "$T/ev"
	t1=$(date +%s.%N)
	kill "$pid"
	events "$T/ev" summary | jq -e '.seconds >= 1.9 and .seconds < 4' >/dev/null ||
		die "summary: $(events "$T/ev" summary)"
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 8) }' || die "-d 2 took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')s"
	# -d with a command: detach, let it finish untraced, exit with its status
	expect_status 0 "$GMW" -d 1 --json -o "$T/ev2" -- "$fx/locked" -seconds 3 >"$T/out2" 2>"$T/err2"
	grep -q '^ok writes=' "$T/out2" || die "the command did not finish"
	grep -q 'locked exited with status 0' "$T/err2" || die "stderr: $(cat "$T/err2")"
	events "$T/ev2" summary | jq -e '.seconds < 2.5' >/dev/null || die "did not stop after 1 s"
}

# --reads on every operation under its lock: reads and iterations are
# checked (the counter says so) and none is a conflict.
t_reads() {
	local fx=$1
	expect_status 0 "$GMW" --reads --json -o "$T/ev" -- "$fx/locked" -seconds 3 >"$T/out"
	[ -z "$(events "$T/ev" conflict)" ] || die "conflict on locked code with --reads: $(events "$T/ev" conflict | sed -n 1p)"
	locked_summary "$T/ev" --reads
}

t_help() {
	"$GMW" --help >"$T/out"
	grep -q -- '-p, --pid=PID' "$T/out" && grep -q EXAMPLES "$T/out" && grep -q -- '-- CMD' "$T/out"
	grep -q -- '--runtime-frames' "$T/out" && grep -q -- '--no-flight-recorder' "$T/out"
	# what -p and -b do for children, and what ends a run with 1
	grep -q -- '^-p traces that process only: children it starts are not traced' "$T/out"
	grep -q -- 'It exits 1 when the' "$T/out"
}

# make install (DESTDIR, PREFIX): the binary runs; gomapwatch(8) renders
# and documents every option --help lists, and its exit status; the
# systemd unit example is installed and systemd-analyze verify accepts it.
t_install() {
	local d=$T/root opt
	make -s -C "$root" O="$(dirname "$GMW")" install DESTDIR="$d" PREFIX=/usr >"$T/log" 2>&1 ||
		die "make install: $(tail -3 "$T/log")"
	"$d/usr/sbin/gomapwatch" --version | grep -q '^gomapwatch ' || die "the installed binary does not run"
	LC_ALL=C MANWIDTH=400 man -l "$d/usr/share/man/man8/gomapwatch.8" >"$T/man" 2>"$T/err" ||
		die "gomapwatch(8) does not render: $(cat "$T/err")"
	for opt in $("$GMW" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -qF -- "$opt" "$T/man" || die "gomapwatch(8) lacks $opt"
	done
	grep -q '^EXIT STATUS$' "$T/man" && grep -qE '^ *EXAMPLES$' "$T/man" ||
		die "gomapwatch(8) lacks EXIT STATUS or EXAMPLES"
	grep -qE '^ +gomapwatch -p 4242 +# attach to a running service$' "$T/man" ||
		die "the examples are not one per line"
	# verify needs the ExecStart binary: the one just installed
	sed "s#/usr/local/sbin/gomapwatch#$d/usr/sbin/gomapwatch#" \
		"$d/usr/share/doc/gomapwatch/gomapwatch.service" >"$T/gomapwatch.service"
	# and the manual page its Documentation= names: the one just installed
	MANPATH=$d/usr/share/man systemd-analyze verify "$T/gomapwatch.service" >"$T/verify" 2>&1 ||
		die "systemd-analyze verify: $(cat "$T/verify")"
	[ ! -s "$T/verify" ] || die "systemd-analyze verify warns: $(cat "$T/verify")"
}

# otlp_sample: an OTLP/JSON logs request as gomapwatch's exporter would
# make one: every kind of attribute value, eventName, times as strings
otlp_sample() {
	cat <<-'JSON'
	{"resourceLogs": [{"resource": {"attributes": [
	  {"key": "service.name", "value": {"stringValue": "my-service"}},
	  {"key": "host.name", "value": {"stringValue": "node-1"}}]},
	 "scopeLogs": [{"scope": {"name": "gomapwatch", "version": "0.1"},
	  "logRecords": [{
	   "timeUnixNano": "1764614400123456789",
	   "severityNumber": 13, "severityText": "WARN",
	   "eventName": "gomapwatch.conflict",
	   "body": {"stringValue": "write/write on map 0xc000123456"},
	   "attributes": [
	    {"key": "map", "value": {"stringValue": "0xc000123456"}},
	    {"key": "goroutine", "value": {"intValue": "22"}},
	    {"key": "inlined", "value": {"boolValue": true}},
	    {"key": "ratio", "value": {"doubleValue": 0.5}},
	    {"key": "frames", "value": {"arrayValue": {"values": [
	     {"stringValue": "main.handle"}, {"intValue": "80"}]}}},
	    {"key": "key", "value": {"kvlistValue": {"values": [
	     {"key": "kind", "value": {"stringValue": "string"}},
	     {"key": "value", "value": {"stringValue": "user424"}}]}}}]}]}]}]}
	JSON
}

# post_logs PORT FILE: one OTLP/JSON logs request, accepted whole
post_logs() {
	local code
	code=$(curl -s -o "$T/response" -w '%{http_code}' --max-time 10 -X POST \
		-H 'Content-Type: application/json' --data @"$2" "http://127.0.0.1:$1/v1/logs")
	[ "$code" = 200 ] || die "POST /v1/logs: $code $(cat "$T/response")"
}

# The tests' collector (otelcol.sh) as gomapwatch will meet it: a logs
# request posted by hand comes out of otelcol_records field for field,
# eventName included; stopped and started again on the same port and
# directory, it takes requests again and keeps what it had.
t_otelcol() {
	local port=${GMW_OTELCOL_PORT:-14318} t0
	otlp_sample >"$T/sample.json"
	otelcol_start "$port" "$T/col"
	post_logs "$port" "$T/sample.json"
	otelcol_stop
	t0=$(date +%s%N)
	otelcol_start "$port" "$T/col"
	echo "restarted in $((($(date +%s%N) - t0) / 1000000)) ms"
	post_logs "$port" "$T/sample.json"
	otelcol_stop
	otelcol_records "$T/col" >"$T/records"
	cat "$T/records"
	jq -e -s 'length == 2 and .[0] == .[1] and (.[0] | .eventName == "gomapwatch.conflict"
		and .timeUnixNano == "1764614400123456789" and .severityNumber == 13
		and .severityText == "WARN" and .body == "write/write on map 0xc000123456"
		and .attributes == {map: "0xc000123456", goroutine: 22, inlined: true, ratio: 0.5,
			frames: ["main.handle", 80], key: {kind: "string", value: "user424"}}
		and .resource == {"service.name": "my-service", "host.name": "node-1"}
		and .scope == {name: "gomapwatch", version: "0.1"})' "$T/records" >/dev/null ||
		die "the records are not the two requests posted"
}

# k8scheck_refuses FILE PATTERN: the checker exits 1 with an error matching
# PATTERN
k8scheck_refuses() {
	local st=0
	"$K8SCHECK" "$1" 2>"$T/err" || st=$?
	[ "$st" -eq 1 ] || die "k8scheck $1 exited $st, want 1: $(cat "$T/err")"
	grep -qE "$2" "$T/err" || die "k8scheck: '$(cat "$T/err")' does not match '$2'"
	cat "$T/err"
}

# examples/deploy/gomapwatch-daemonset.yaml is an apps/v1 DaemonSet, field
# for field (strict, as the API server validates), with what gomapwatch
# needs on a node (tests/k8scheck); and the checker can fail: a misspelled
# field and a missing capability are refused.
t_daemonset() {
	local y=$root/examples/deploy/gomapwatch-daemonset.yaml f
	: "${K8SCHECK:?set K8SCHECK to the checker (scripts/build-k8scheck.sh)}"
	"$K8SCHECK" "$y" || die "k8scheck refuses the example"
	sed 's/^\( *\)hostPID: true$/\1hostPid: true/' "$y" >"$T/hostpid.yaml"
	sed '/^ *- SYS_PTRACE$/d' "$y" >"$T/nocap.yaml"
	# a copy equal to the example would prove nothing
	for f in hostpid nocap; do
		! cmp -s "$y" "$T/$f.yaml" || die "$f.yaml: the example no longer has what it breaks"
	done
	k8scheck_refuses "$T/hostpid.yaml" 'unknown field "spec\.template\.spec\.hostPid"'
	k8scheck_refuses "$T/nocap.yaml" 'capability SYS_PTRACE not added'
}

# expect_error PATTERN CMD...: non-zero exit, exactly one line on stderr
expect_error() {
	local pat=$1 status=0
	shift
	"$@" >"$T/out" 2>"$T/err" || status=$?
	[ "$status" -ne 0 ] || die "'$*' exited 0"
	[ "$(wc -l <"$T/err")" -eq 1 ] || die "want one line on stderr, got: $(cat "$T/err")"
	grep -qE "$pat" "$T/err" || die "stderr '$(cat "$T/err")' does not match '$pat'"
	cat "$T/err"
}

t_bad_pid() {
	local pid
	sleep 0 &
	pid=$!
	wait "$pid"
	expect_error "^gomapwatch: no such process: $pid\$" "$GMW" -p "$pid"
}

t_not_go_pid() {
	sleep 30 &
	expect_error 'not a Go binary' "$GMW" -p "$!"
	kill "$!"
}

t_not_elf() {
	printf '#!/bin/sh\necho hello\n' >"$T/script.sh"
	chmod +x "$T/script.sh"
	expect_error 'not an ELF file' "$GMW" -- "$T/script.sh"
	expect_error 'No such file or directory' "$GMW" -- "$T/missing"
}

# An arm64 binary on this x86-64 host: refused by name, in one line, and
# not started; tests/arm64 checks the converse in its guests
t_foreign_arch() {
	local fx=$1
	expect_error 'racy\.arm64: an arm64 binary; this machine is x86-64 \(use the arm64 build of gomapwatch on an arm64 machine\)$' \
		"$GMW" -d 1 -- "$fx/racy.arm64"
	expect_status 1 "$GMW" -b "$fx/racy.arm64" -d 1
	[ ! -s "$T/out" ] || die "output: $(cat "$T/out")"
}

t_no_maps() {
	expect_error 'no Go runtime map functions' "$GMW" -- "$GMW_FIXTURES/nomaps"
}

t_not_root() {
	local fx=$1
	command -v setpriv >/dev/null || die "setpriv missing"
	chmod 755 "$work" "$T"
	cp "$GMW" "$T/gomapwatch"
	chmod 755 "$T/gomapwatch"
	expect_error '^gomapwatch: missing capabilities: CAP_BPF, CAP_PERFMON \(or CAP_SYS_ADMIN\)' \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$T/gomapwatch" -- "$fx/racy"
	expect_status 77 setpriv --reuid=65534 --regid=65534 --clear-groups "$T/gomapwatch" -- "$fx/racy"
}

# as nobody, with the capabilities given (setpriv's ambient set): CAPS=bpf,perfmon
as_nobody() {
	local c=+${CAPS//,/,+}
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="$c" --ambient-caps="$c" "$@"
}

caps_racy_once() {
	chmod 777 "$T"
	"$@" "$T/../gomapwatch" --json -o "$T/ev" -d 30 -- "$T/../racy" >"$T/out" 2>"$T/err" || true
	check_racy_events "$T/ev" "$T/out"
}

# root without CAP_SYS_ADMIN in its bounding set
without_sys_admin() { capsh --drop=cap_sys_admin -- -c '"$@"' capsh "$@"; }

# CAP_BPF and CAP_PERFMON without CAP_SYS_ADMIN (a non-root uid, or root
# with it dropped) trace; what is missing is named, exit status 77.
t_capabilities() {
	local fx=$1 p
	command -v setpriv >/dev/null && command -v capsh >/dev/null || die "setpriv or capsh missing"
	chmod 755 "$work"
	chmod 777 "$T"
	cp "$GMW" "$T/gomapwatch"
	cp "$fx/racy" "$T/racy"
	chmod 755 "$T/gomapwatch" "$T/racy"
	CAPS=bpf,perfmon rate "nobody with CAP_BPF, CAP_PERFMON detects" 3 2 caps_racy_once as_nobody
	rate "root without CAP_SYS_ADMIN detects" 3 2 caps_racy_once without_sys_admin
	CAPS=bpf expect_error '^gomapwatch: missing capabilities: CAP_PERFMON \(or CAP_SYS_ADMIN\)' \
		as_nobody "$T/gomapwatch" -- "$T/racy"
	CAPS=bpf expect_status 77 as_nobody "$T/gomapwatch" -- "$T/racy"
	# no -d: a budget, and the kernel times programs only for CAP_SYS_ADMIN
	CAPS=bpf,perfmon expect_error '^gomapwatch: missing capability: CAP_SYS_ADMIN: --max-overhead .*--max-overhead off' \
		as_nobody "$T/gomapwatch" -b "$T/racy"
	# another user's process: its /proc/PID/exe needs CAP_SYS_PTRACE
	"$T/racy" -sleep 5s >"$T/out.p" 2>/dev/null &
	wait_line "$T/out.p" '^worker 3 goid'
	p=$(awk '$1 == "pid" { print $2 }' "$T/out.p")
	CAPS=bpf,perfmon expect_error "^gomapwatch: process $p: cannot open its executable: .*missing capability: CAP_SYS_PTRACE" \
		as_nobody "$T/gomapwatch" -p "$p" -d 5
	CAPS=bpf,perfmon,sys_ptrace expect_status 0 as_nobody "$T/gomapwatch" -p "$p" --json -o "$T/ev.p" -d 10
	wait "$p" || true
	check_racy_events "$T/ev.p" "$T/out.p" || die "-p with CAP_SYS_PTRACE: no conflict"
}

t_bad_args() {
	local s
	s=0; "$GMW" -p 12abc 2>"$T/err" || s=$?
	[ "$s" -ne 0 ] && grep -q 'invalid PID: 12abc' "$T/err" || die "-p 12abc: $(cat "$T/err")"
	s=0; "$GMW" -d -1 -p 1 2>"$T/err" || s=$?
	[ "$s" -ne 0 ] && grep -q 'invalid duration' "$T/err" || die "-d -1: $(cat "$T/err")"
	s=0; "$GMW" 2>"$T/err" || s=$?
	[ "$s" -ne 0 ] && grep -q 'give one of -p PID, -b PATH or -- CMD' "$T/err" || die "no target: $(cat "$T/err")"
	s=0; "$GMW" -p 1 -- true 2>"$T/err" || s=$?
	[ "$s" -ne 0 ] && grep -q 'give one of' "$T/err" || die "both targets: $(cat "$T/err")"
}

# gopanic: string and runtime-error values; fatalpanic for the unrecovered one.
t_panics() {
	local fx=$1
	expect_status 2 "$GMW" --json -o "$T/ev" -- "$fx/panics" >"$T/out" 2>"$T/err"
	valid_ndjson "$T/ev"
	jq -e -s '[.[] | select(.type == "panic" and .message == "assignment to entry in nil map"
		and any(.stack[]; .function == "main.assignNil"))] | length == 1' "$T/ev" >/dev/null ||
		die "no nil-map panic event: $(events "$T/ev" panic)"
	jq -e -s '[.[] | select(.type == "panic" and .message == "an error value")] | length == 1' \
		"$T/ev" >/dev/null || die "no error-value panic event"
	jq -e -s '[.[] | select(.type == "fatalpanic" and .message == "boom: nobody recovers this")]
		| length == 1' "$T/ev" >/dev/null || die "no fatalpanic event: $(cat "$T/ev")"
	[ -z "$(events "$T/ev" conflict)" ] || die "a panic is not a conflict"
	grep -q 'after an unrecovered panic: boom: nobody recovers this' "$T/err" ||
		die "stderr does not name the panic: $(cat "$T/err")"
}

# A command killed by a signal: gomapwatch says so and exits 128 + signal.
t_cmd_signal() {
	local fx=$1 g pid
	"$GMW" -- "$fx/racy" -sleep 60s >"$T/out" 2>"$T/err" &
	g=$!
	wait_line "$T/out" '^worker 3 goid'
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	kill -KILL "$pid"
	expect_status 137 wait "$g"
	grep -q 'killed by signal 9' "$T/err" || die "stderr: $(cat "$T/err")"
}

# -b: every process running the binary, started before or after attach;
# each conflict names goroutines its own process printed.
t_binary() {
	local fx=$1 g i p before=0 after=0
	# a different key type: its stack pair is not a repeat of the others'
	"$fx/racy" -kind faststr -sleep 4s >"$T/out.0" 2>/dev/null &
	wait_line "$T/out.0" '^worker 3 goid'
	"$GMW" -b "$fx/racy" --json -o "$T/ev" -d 12 2>"$T/err" &
	g=$!
	sleep 1
	for i in 1 2 3; do
		"$fx/racy" -sleep 1s >"$T/out.$i" 2>/dev/null &
		sleep 0.5
	done
	expect_status 0 wait "$g"
	valid_ndjson "$T/ev"
	for i in 0 1 2 3; do
		p=$(awk '$1 == "pid" { print $2 }' "$T/out.$i")
		goids "$T/out.$i" >"$T/ids.$i"
		jq -r --argjson p "$p" 'select(.type == "conflict") | .sides[]
			| select(.pid == $p and .function != "unseen") | .goroutine' "$T/ev" |
			sort -u >"$T/seen.$i"
		[ -z "$(comm -23 "$T/seen.$i" "$T/ids.$i")" ] ||
			die "pid $p: conflicts name goroutines it never printed"
		[ -s "$T/seen.$i" ] || continue
		echo "pid $p: conflicts seen"
		if [ "$i" -eq 0 ]; then before=1; else after=1; fi
	done
	# the later processes share one stack pair: its repeats are counted once
	[ "$before" -eq 1 ] || die "no conflict from the process running before attach"
	[ "$after" -eq 1 ] || die "no conflict from the processes started after attach"
	jq -e -s '[.[] | select(.type == "summary") | .conflicts] | .[0] >= 1' "$T/ev" >/dev/null
}

# pids of the processes whose conflicts FILE names
conflict_pids() { jq -r 'select(.type == "conflict") | .sides[] | select(.function != "unseen") | .pid' "$1" | sort -u; }

# -b /proc/PID/root/PATH: a container's binary at a path where the host has
# another (racy.stripped, racy too). The container's process is caught; the
# host's, run under watch, is not (its file was never the one named).
container_binary_once() {
	local fx=$1 dir=$T/bin p h g
	mkdir -p "$dir"
	cp "$fx/racy.stripped" "$dir/server"
	unshare --mount --propagation private sh -c \
		'mount -t tmpfs none "$1" && cp "$2" "$1/server" && exec "$1/server" -sleep 3s' \
		sh "$dir" "$fx/racy" >"$T/out.c" 2>/dev/null &
	wait_line "$T/out.c" '^worker 3 goid'
	p=$(awk '$1 == "pid" { print $2 }' "$T/out.c")
	"$GMW" -b "/proc/$p/root$dir/server" --json -o "$T/ev" -d 8 2>"$T/err" &
	g=$!
	wait_line "$T/err" '^gomapwatch: watching every process'
	grep -qF "(/proc/$p/root$dir/server, " "$T/err" || die "banner: $(cat "$T/err")"
	"$dir/server" -sleep 1s >"$T/out.h" 2>/dev/null &
	wait_line "$T/out.h" '^worker 3 goid'
	h=$(awk '$1 == "pid" { print $2 }' "$T/out.h")
	expect_status 0 wait "$g"
	wait
	conflict_pids "$T/ev" >"$T/pids"
	! grep -qx "$h" "$T/pids" || die "the host's $dir/server (pid $h) was traced"
	grep -qx "$p" "$T/pids" || die "no conflict from the container's process $p: $(cat "$T/pids")"
	goids "$T/out.c" >"$T/ids"
	[ -z "$(jq -r 'select(.type == "conflict") | .sides[] | select(.function != "unseen") | .goroutine' "$T/ev" |
		sort -u | comm -23 - "$T/ids")" ] || die "conflicts name goroutines the container's process never printed"
}

t_binary_in_container() {
	rate "container's binary caught, host's untouched" 5 4 container_binary_once "$1"
	# what goes wrong names the binary as given, not the file held open
	echo 'not a program' >"$T/notelf"
	expect_error "^gomapwatch: $T/notelf: not an ELF file" "$GMW" -b "$T/notelf"
	expect_error "^gomapwatch: $T: not a regular file" "$GMW" -b "$T"
}

# -b on a PIE: gomapwatch is stopped while a racy process runs and dies,
# so its events are read after it is gone (no /proc/PID/maps to ask): its
# stacks must still name the racy line.
pie_exited_once() {
	local fx=$1 g p
	cp "$fx/racy.pie" "$T/server"
	"$GMW" -b "$T/server" --json -o "$T/ev" -d 20 2>"$T/err" &
	g=$!
	wait_line "$T/err" '^gomapwatch: watching every process'
	kill -STOP "$g"
	timeout 15 "$T/server" -sleep 0.5s >"$T/out" 2>/dev/null || true
	p=$(awk '$1 == "pid" { print $2 }' "$T/out")
	! kill -0 "$p" 2>/dev/null || die "pid $p still running"
	kill -CONT "$g"
	kill -INT "$g"
	expect_status 0 wait "$g"
	[ -n "$(jq -c --argjson p "$p" 'select(.type == "conflict" and .sides[0].pid == $p)' "$T/ev")" ] ||
		die "no conflict from pid $p"
	check_racy_events "$T/ev" "$T/out" || die "stacks not symbolized: $(events "$T/ev" conflict | sed -n 1p | jq -c '.sides[0].stack[:2]')"
}

t_pie_exited() {
	rate "exited PIE process symbolized" 5 4 pie_exited_once "$1"
}

# start_as PID OUT CMD...: CMD in the background as process PID, the one
# that just ended (ns_last_pid, retried while other forks take it first)
start_as() {
	local want=$1 out=$2 i
	shift 2
	for ((i = 0; i < 200; i++)); do
		echo $((want - 1)) >/proc/sys/kernel/ns_last_pid
		"$@" >"$out" 2>/dev/null &
		[ "$!" -ne "$want" ] || return 0
		kill "$!" 2>/dev/null || true
		wait "$!" 2>/dev/null || true
	done
	die "pid $want never came back"
}

# The line of racy's faststr write.
racy_str_line() { grep -n 'mstr\[keys\[k\]\] = i' "$root/tests/go/racy/main.go" | cut -d: -f1; }

# -b on a PIE: a racy process dies of its race and its PID goes to the next
# process of the binary, loaded elsewhere, racing on another map: that one's
# conflict is symbolized with its own load bias and names its own goroutines.
pid_reuse_once() {
	local fx=$1 g p
	cp "$fx/racy.pie" "$T/server"
	"$GMW" -b "$T/server" --json -o "$T/ev" -d 30 2>"$T/err" &
	g=$!
	wait_line "$T/err" '^gomapwatch: watching every process'
	timeout 15 "$T/server" -sleep 0.3s >"$T/out.a" 2>/dev/null || true
	p=$(awk '$1 == "pid" { print $2 }' "$T/out.a")
	start_as "$p" "$T/out.b" "$T/server" -kind faststr -sleep 0.3s
	wait "$p" || true
	kill -INT "$g"
	expect_status 0 wait "$g"
	goids "$T/out.b" >"$T/ids"
	jq -r 'select(.type == "conflict") | .sides[] | select(.function == "runtime.mapassign_faststr")
		| .goroutine' "$T/ev" | sort -u >"$T/seen"
	[ -s "$T/seen" ] || die "no conflict from the second process $p"
	[ -z "$(comm -23 "$T/seen" "$T/ids")" ] || die "its conflicts name goroutines it never printed"
	jq -e -s --argjson p "$p" --argjson line "$(racy_str_line)" '[.[] | select(.type == "conflict")
		| .sides[] | select(.function == "runtime.mapassign_faststr")
		| select(.pid != $p or .stack[0].function != "main.writer" or .stack[0].line != $line)]
		| length == 0' "$T/ev" >/dev/null ||
		die "stacks of pid $p's second process: $(jq -c 'select(.type == "conflict") | .sides[0].stack[0]' "$T/ev" | tr '\n' ' ')"
}

# A process churning maps killed inside its writes leaves them open; its
# PID goes to the next process of the binary, which writes nothing after
# its start. The dead one's writes must not stay charged to that PID: the
# summary holds no unfinished write (dropped as a previous process's).
records_reuse_once() {
	local fx=$1 g a
	cp "$fx/stress" "$T/server"
	"$GMW" -b "$T/server" --json -o "$T/ev" --stale-ms 600000 -d 30 2>"$T/err" &
	g=$!
	wait_line "$T/err" '^gomapwatch: watching every process'
	"$T/server" -goroutines 100 -seconds 60 >"$T/out.a" 2>/dev/null &
	a=$!
	sleep 1
	kill -9 "$a"
	wait "$a" 2>/dev/null || true
	# /proc/PID/stat dates a start to a clock tick (10 ms): a PID is
	# told reused from writes at least a tick older than its process
	sleep 0.02
	start_as "$a" "$T/out.b" "$T/server" -goroutines 0 -seconds 60
	sleep 2.5
	kill -INT "$g"
	expect_status 0 wait "$g"
	kill "$a" 2>/dev/null || true
	events "$T/ev" summary | jq -e '.conflicts == 0 and .unfinished == 0 and .aged_out == 0' >/dev/null ||
		die "summary: $(events "$T/ev" summary | jq -c '{conflicts, writes, write_exits, unfinished, aged_out}')"
}

t_pid_reuse() {
	rate "reused PID symbolized as its own" 5 4 pid_reuse_once "$1"
	rate "reused PID not charged with the dead process's writes" 5 5 records_reuse_once "$1"
}

# inspect: version, layout, where offsets came from, every probe point.
t_inspect() {
	local fx=$1 version=$2 layout pid
	layout=hmap
	case $version in go1.2[4-9]* | go1.[3-9]*) layout=swiss ;; esac
	"$GMW" inspect --json "$fx/racy" >"$T/plain.json"
	jq -e --arg v "$version" --arg l "$layout" '.go_version == $v and .map_layout == $l
		and .offsets["runtime.g.goid"].source == "dwarf"
		and ([.functions[] | select(.name == "runtime.mapassign_fast64")][0]
			| .exit == "flag-check" and all(.points[]; .emulated))' \
		"$T/plain.json" >/dev/null || die "inspect racy: $(cat "$T/plain.json")"
	"$GMW" inspect --json "$fx/racy.stripped" >"$T/stripped.json"
	jq -e '.symtab == false and .offsets["runtime.g.goid"].source == "table"' \
		"$T/stripped.json" >/dev/null || die "inspect racy.stripped: $(cat "$T/stripped.json")"
	# the same offsets either way
	[ "$(jq -c '[.offsets[].offset]' "$T/plain.json")" = "$(jq -c '[.offsets[].offset]' "$T/stripped.json")" ] ||
		die "stripped offsets differ from DWARF's"
	"$GMW" inspect "$fx/racy" | grep -qE '^    write-entry +0x[0-9a-f]+ .* emulated$' || die "text inspect"
	# -p reads the running process's binary, attaching nothing
	"$fx/racy" -sleep 60s >"$T/out" 2>/dev/null &
	wait_line "$T/out" '^pid '
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	"$GMW" inspect -p "$pid" --json | jq -e --arg v "$version" '.go_version == $v' >/dev/null
	kill "$pid"
	# it only reads the file: no root, no BPF needed
	chmod 755 "$work" "$T"
	cp "$GMW" "$fx/racy" "$T/"
	chmod 755 "$T/gomapwatch" "$T/racy"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$T/gomapwatch" inspect "$T/racy" >/dev/null ||
		die "inspect needs privileges it should not"
}

# A release newer than the offsets table, without DWARF: refused by name.
t_unknown_version() {
	local fx=$1
	cp "$fx/racy.stripped" "$T/future"
	perl -pi -e 's/go1\.26\.(\d)/go1.99.$1/g; s/go1\.2[0-9]\.(\d)/go1.99.$1/g' "$T/future"
	"$GMW" inspect "$T/future" >"$T/out" 2>"$T/err" && die "inspect accepted an unknown version"
	grep -q 'go1.99' "$T/err" || die "inspect: $(cat "$T/err")"
	grep -q '^go       go1.99' "$T/out" || die "inspect does not show the version"
	expect_error 'go1\.99.*refusing' "$GMW" -- "$T/future"
	"$GMW" inspect /etc/passwd >/dev/null 2>"$T/err" && die "inspect accepted /etc/passwd"
	grep -q 'not an ELF file' "$T/err"
}

# --reads: a reader entering while a writer is inside is a read/write conflict.
read_write_once() {
	local fx=$1
	"$GMW" --reads --json -o "$T/ev" -d 30 -- "$fx/racyread" >"$T/out" 2>/dev/null || true
	valid_ndjson "$T/ev"
	awk '$1 == "reader" { print $4 }' "$T/out" | sort >"$T/readers"
	awk '$1 == "writer" { print $3 }' "$T/out" >"$T/writer"
	jq -e -s --arg w "$(cat "$T/writer")" '[.[] | select(.type == "conflict" and .kind == "read/write")
		| select(.sides[0].op == "read" and .sides[0].stack[0].function == "main.reader"
			and .sides[1].op == "write" and (.sides[1].goroutine | tostring) == $w
			and .sides[1].stack[0].function == "main.writer")
		| .sides[0].goroutine] | length > 0' "$T/ev" >/dev/null
	jq -r 'select(.type == "conflict") | .sides[0].goroutine' "$T/ev" | sort -u >"$T/seen"
	[ -z "$(comm -23 "$T/seen" "$T/readers")" ] || die "a reader the fixture never printed"
}

# Only a read that starts while a write is in progress is seen (reads have
# no exit probe); when the write starts during the read, the runtime often
# dies of it first. Measured here: 85-95 % of runs.
t_read_write() {
	rate "read/write detected" 20 13 read_write_once "$1"
}

# attach_once CMD...: start racy (CMD), attach with -p while it sleeps,
# expect a conflict naming its goroutines. $AFTER_START runs once racy is up.
attach_cmd_once() {
	local pid
	"$@" >"$T/out" 2>/dev/null &
	wait_line "$T/out" '^worker 3 goid'
	[ -z "${AFTER_START:-}" ] || eval "$AFTER_START"
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	expect_status 0 "$GMW" -p "$pid" --json -o "$T/ev" -d 30
	check_racy_events "$T/ev" "$T/out"
}

deleted_once() {
	mkdir -p "$T/deploy"
	AFTER_START='rm -f "$T/deploy/racy"' attach_cmd_once \
		sh -c 'cp "$1" "$2" && exec "$2" -sleep 3s' sh "$1" "$T/deploy/racy"
}

# a private tmpfs holds the binary: invisible from this namespace
namespaced_once() {
	mkdir -p "$T/deploy"
	AFTER_START='[ ! -e "$T/deploy/racy" ] || die "visible outside its namespace"' \
		attach_cmd_once unshare --mount --propagation private sh -c \
		'mount -t tmpfs none "$1" && cp "$2" "$1/racy" && exec "$1/racy" -sleep 3s' \
		sh "$T/deploy" "$1"
}

# Through /proc/PID/exe: a binary deleted after a deploy, and one that only
# exists inside another mount namespace (as in a container), still attach.
t_deleted_and_namespaced() {
	local fx=$1
	cp "$fx/racy" "$T/racy"
	rate "deleted binary detected" 3 2 deleted_once "$T/racy"
	rate "namespaced binary detected" 3 2 namespaced_once "$T/racy"
}

# 10,000 goroutines on both cores churning shared maps (each under its own
# lock, replaced all the time, so the addresses of freed maps come back)
# and goroutine-local ones: no conflict, nothing lost, and what -v's
# summary says of gomapwatch's own footprint stays flat: its memory, and
# the BPF tables well short of full. GMW_STRESS_SECONDS (default 60) sets
# the length of the churn; the fixture takes longer to wind down traced.
t_stress() {
	local fx=$1 secs=${GMW_STRESS_SECONDS:-60} sum
	expect_status 0 "$GMW" -v --json -o "$T/ev" -- "$fx/stress" -seconds "$secs" >"$T/out" 2>"$T/err"
	grep -q '^ok maps=' "$T/out" || die "stress did not finish: $(tail -3 "$T/err")"
	[ -z "$(events "$T/ev" conflict)" ] || die "conflict under stress: $(events "$T/ev" conflict | sed -n 1p)"
	sum=$(events "$T/ev" summary)
	# Every write accounted for. A goroutine parked inside a write (a GC
	# assist) can wait behind 10,000 others longer than --stale-ms on a
	# busy machine: aged out, counted, not an error (and its exit, when it
	# comes at last, may be counted too).
	jq -e '.conflicts == 0 and .writes > 10000 and .lost == 0 and .untracked == 0
		and .unfinished == 0 and .unreported_pairs_full == 0
		and .write_exits + .cleared_by_panic <= .writes
		and .write_exits + .cleared_by_panic + .aged_out >= .writes' <<<"$sum" >/dev/null ||
		die "summary: $sum"
	[ "$(sed -nE 's/^ok maps=([0-9]+).*/\1/p' "$T/out")" -gt $((secs * 1000)) ] || die "too few maps: $(tail -1 "$T/out")"
	jq -e --argjson s "$secs" '.footprint | .samples >= $s
		and .rss_last_kb - .rss_first_kb < 4096 and .rss_peak_kb - .rss_first_kb < 8192
		and .writers.peak < .writers.max / 16 and .owners.peak < .owners.max / 16
		and .pairs.peak == 0' <<<"$sum" >/dev/null ||
		die "footprint not flat: $(jq -c .footprint <<<"$sum")"
	echo "$(tail -1 "$T/out") in $(jq .seconds <<<"$sum") s traced"
	jq -c '{writes, write_exits, reentries, aged_out, unfinished, untracked, lost, footprint}' <<<"$sum"
}

# Attaching to and detaching from correctly locked code while it runs, again
# and again, two tracers at once: never a conflict (a write whose entry fired
# before its exit probe was in place must not stay "inside").
t_attach_locked() {
	local fx=$1 pid i
	"$fx/locked" -seconds 60 >"$T/out" 2>&1 &
	wait_line "$T/out" '^pid '
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	for i in 1 2 3 4 5; do
		"$GMW" -p "$pid" -d 0.8 --json -o "$T/a.$i" &
		"$GMW" -p "$pid" -d 1.2 --json -o "$T/b.$i"
		wait "$!"
	done
	for i in 1 2 3 4 5; do
		for f in "$T/a.$i" "$T/b.$i"; do
			events "$f" summary | jq -e '.writes > 0 and .conflicts == 0' >/dev/null ||
				die "$f: $(events "$f" summary)"
		done
	done
	kill "$pid"
}

# The paths a kernel without attach cookies (before 5.15) or uprobe_multi
# links (before 6.6) takes, forced here: one program per kind of write
# probe, one perf-event link per probe. Same detection, same zero.
without_features() {
	local fx=$1 feats=$2
	GOMAPWATCH_DISABLE_FEATURES=$feats expect_status 0 "$GMW" -v --reads --json -o "$T/ev" \
		-- "$fx/locked" -seconds 3 >"$T/out" 2>"$T/err"
	grep -q '^ok writes=' "$T/out" || die "locked did not finish"
	grep -q "attach cookies $([[ $feats == *attach_cookie* ]] && echo no || echo yes)" "$T/err" ||
		die "-v does not say how it attached: $(head -3 "$T/err")"
	[ -z "$(events "$T/ev" conflict)" ] || die "$feats off: conflict on locked code: $(events "$T/ev" conflict | sed -n 1p)"
	locked_summary "$T/ev" --reads
}

racy_without() {
	GOMAPWATCH_DISABLE_FEATURES=$2 racy_once "$1"
}

t_kernel_fallbacks() {
	local fx=$1 feats
	for feats in attach_cookie uprobe_multi attach_cookie,uprobe_multi; do
		without_features "$fx" "$feats"
		rate "racy detected without $feats" 5 4 racy_without "$fx" "$feats"
	done
}

# inspect --kernel, as root (the BPF syscall) and not (the kernel's BTF);
# a missing feature named with the kernel that brings it, before anything
# is started.
t_kernel_features() {
	local f
	"$GMW" inspect --kernel >"$T/root"
	for f in btf ringbuf attach_cookie uprobe_multi; do
		grep -qE "^  $f +(yes|no) +Linux" "$T/root" || die "inspect --kernel: no line for $f: $(cat "$T/root")"
	done
	grep -q "probed through the BPF syscall" "$T/root"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$GMW" inspect --kernel >"$T/user"
	grep -q "read from the kernel's BTF" "$T/user"
	diff <(grep -v '^kernel' "$T/root") <(grep -v '^kernel' "$T/user") ||
		die "the BTF and the BPF syscall disagree about this kernel"
	"$GMW" inspect --kernel --json | jq -e '.features.ringbuf == true and (.kernel | length) > 0' >/dev/null
	GOMAPWATCH_DISABLE_FEATURES=ringbuf expect_status 1 "$GMW" inspect --kernel >/dev/null 2>"$T/err"
	GOMAPWATCH_DISABLE_FEATURES=ringbuf expect_status 1 "$GMW" -- touch "$T/started" 2>"$T/err"
	grep -qE "^gomapwatch: this kernel \(.+\) has no BPF ring buffer: gomapwatch needs Linux 5.8 or later" "$T/err" ||
		die "not named: $(cat "$T/err")"
	[ ! -e "$T/started" ] || die "the command was started on a kernel gomapwatch cannot run on"
	expect_status 64 "$GMW" inspect --kernel ./x 2>/dev/null
}

# held PID: the BPF programs and links process PID holds ("prog 12", "link 7")
held() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		awk '$1 == "link_id:" { l = $2 } $1 == "prog_id:" { p = $2 }
			END { if (l) print "link " l; else if (p) print "prog " p }' "$f" 2>/dev/null ||
			true	# an fd closed meanwhile
	done | sort -u
}

# probes_gone WHAT GMWPID HELD: after gomapwatch GMWPID went, none of its
# programs or links remain (a perf event or uprobe_multi link holds its
# program), nor the tracefs uprobes libbpf names after its pid. Freeing
# can trail the exit by a grace period: a second at most.
probes_gone() {
	local what=$1 gmw=$2 left i
	for ((i = 0; i < 20; i++)); do
		left=$(while read -r kind id; do
			[ -n "$kind" ] || continue	# nothing held
			bpftool "$kind" show id "$id" >/dev/null 2>&1 && echo "$kind $id"
		done <<<"$3"
		grep -h "libbpf_${gmw}_" /sys/kernel/tracing/uprobe_events 2>/dev/null || true)
		[ -n "$left" ] || return 0
		sleep 0.1
	done
	die "after $what, still in the kernel: $left"
}

# gomapwatch ARGS... in the background, attached: sets gmw and gmw_held
start_gmw() {
	# emptied here, not by the background job's redirection: wait_line
	# could read the last run's banner before that
	: >"$T/gmw.err"
	"$GMW" "$@" 2>"$T/gmw.err" &
	gmw=$!
	wait_line "$T/gmw.err" '^gomapwatch: watching '
	gmw_held=$(held "$gmw")
	grep -q '^link ' <<<"$gmw_held" || [ "$(grep -c '^prog ' <<<"$gmw_held")" -gt 0 ] ||
		die "attached, but holds no BPF program or link: $gmw_held"
}

# After gomapwatch has gone (exit, SIGKILL, the target first): nothing of it
# stays in the kernel, and a target it left keeps running; after a SIGKILL
# a new gomapwatch attaches to it as to any other.
gone_after_exit() {
	local fx=$1 pid gmw gmw_held
	: >"$T/out"	# the last run's pid line must not pass for this one's
	"$fx/locked" -seconds 20 >"$T/out" 2>&1 &
	wait_line "$T/out" '^pid '
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	start_gmw -p "$pid" -d 3 --json -o "$T/ev.exit"
	expect_status 0 wait "$gmw"
	probes_gone "a normal exit" "$gmw" "$gmw_held"
	start_gmw -p "$pid" --json -o "$T/ev.kill"
	kill -KILL "$gmw"
	wait "$gmw" 2>/dev/null || true
	probes_gone "SIGKILL of gomapwatch" "$gmw" "$gmw_held"
	kill -0 "$pid" || die "the target did not outlive gomapwatch"
	# and a new gomapwatch attaches to it cleanly, finding it as it was
	start_gmw -p "$pid" -d 2 --json -o "$T/ev.again"
	expect_status 0 wait "$gmw"
	events "$T/ev.again" summary | jq -e '.writes > 1000 and .conflicts == 0' >/dev/null ||
		die "attaching again after a SIGKILL: $(events "$T/ev.again" summary)"
	probes_gone "a second gomapwatch's exit" "$gmw" "$gmw_held"
	wait_line "$T/out" '^ok writes=' 30
	start_gmw --json -o "$T/ev.first" -- "$fx/locked" -seconds 3
	expect_status 0 wait "$gmw"
	probes_gone "the target exiting first" "$gmw" "$gmw_held"
}

# each_attach_path FUNC ARGS...: FUNC with every kernel feature, then as a
# kernel without attach cookies or uprobe_multi links attaches
each_attach_path() {
	local feats
	for feats in none attach_cookie,uprobe_multi; do
		GOMAPWATCH_DISABLE_FEATURES=$feats "$@"
	done
}

t_probes_gone() {
	each_attach_path gone_after_exit "$1"
}

# alive PID: running, not a zombie waiting for its parent
alive() {
	local st
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]
}

# watch_gmw PID HELD [SECONDS]: until gomapwatch PID ends, the BPF programs
# and links it holds, sampled every 10 ms into HELD (it may live too short
# for start_gmw); fails if it outlives SECONDS (default 20): a hang
watch_gmw() {
	local i
	for ((i = 0; i < ${3:-20} * 100; i++)); do
		alive "$1" || { sort -u -o "$2" "$2"; return 0; }
		held "$1" >>"$2"
		sleep 0.01
	done
	die "gomapwatch still running after ${3:-20}s"
}

# ended_as_racy STATUS ERRFILE: racy (or lifecycle -race) ended as it does
# untraced: its work done, or the runtime's own fatal error; never a signal
ended_as_racy() {
	[ "$1" -eq 0 ] && return 0
	[ "$1" -eq 2 ] && grep -qE '^fatal error: (concurrent map writes|.*concurrent map writes\?)' "$2" &&
		return 0
	die "the target ended with status $1: $(grep -m2 -E 'fatal|signal|SIG' "$2")"
}

# The target execs while traced with -p, in place (the same PID): into
# another Go program, or its own binary again (the same inode: the probes
# would still fire, read with the old image's plan). gomapwatch says so,
# stops within a poll, exits 1 with a summary naming the exec, and leaves
# no probe; the new image runs to its end unharmed. $GMW_OPTS: traced in
# full, or in --max-overhead's windows (whose probes, attached again, must
# not land on the new image).
exec_once() {
	local fx=$1 want=$2 pid gmw gmw_held
	shift 2
	# the last run's lines must not pass for this one's
	rm -f "$T/out" "$T/gmw.err"
	"$fx/lifecycle" -exec-after 60s -- "$@" >"$T/out" 2>"$T/fx.err" &
	pid=$!
	wait_line "$T/out" '^pid '
	# shellcheck disable=SC2086
	start_gmw -p "$pid" --json -o "$T/ev" $GMW_OPTS
	sleep 0.5
	kill -USR1 "$pid"
	watch_gmw "$gmw" /dev/null 5
	expect_status 1 wait "$gmw"
	grep -qxF "gomapwatch: pid $pid exec'd $want: not the image the probes were planned for; stopping" \
		"$T/gmw.err" || die "stderr: $(grep gomapwatch "$T/gmw.err")"
	events "$T/ev" summary | jq -e --arg t "process $pid exec'd $want" \
		'.target == $t and .writes > 0 and .conflicts == 0' >/dev/null ||
		die "summary: $(events "$T/ev" summary)"
	probes_gone "the target's exec" "$gmw" "$gmw_held"
	expect_status 0 wait "$pid"
	[ "$(grep -c "^pid $pid\$" "$T/out")" -eq 2 ] || die "the new image did not start: $(cat "$T/out")"
	grep -q '^ok writes=' "$T/out" || die "the new image did not finish: $(cat "$T/out" "$T/fx.err")"
}

t_exec() {
	local fx=$1 GMW_OPTS
	for GMW_OPTS in "--max-overhead off" "--max-overhead 1"; do
		exec_once "$fx" "$fx/locked" "$fx/locked" -seconds 2
		exec_once "$fx" "$fx/lifecycle" "$fx/lifecycle" -seconds 2s
		echo "$GMW_OPTS: exec into another binary and into the same: said, stopped, detached"
	done
}

# A -p target that lives from 0.2 to 4 s, gomapwatch started with it: it
# ends while gomapwatch reads the binary, loads, attaches, or watches.
# Never a hang, never a probe left, and one of two outcomes: traced (0,
# a summary saying the process exited) or not (1, one line saying so).
exit_early() {
	local fx=$1 ms pid g st traced=0 untraced=0
	for ms in 200 400 600 800 1000 1200 1400 1600 1800 2200 3000 4000; do
		"$fx/lifecycle" -seconds "${ms}ms" >"$T/out.$ms" &
		pid=$!
		"$GMW" -p "$pid" --json -o "$T/ev.$ms" 2>"$T/err.$ms" &
		g=$!
		: >"$T/held.$ms"
		watch_gmw "$g" "$T/held.$ms" 20
		st=0
		wait "$g" || st=$?
		wait "$pid"
		probes_gone "the target's exit ${ms} ms in" "$g" "$(cat "$T/held.$ms")"
		if [ "$st" -eq 0 ]; then
			events "$T/ev.$ms" summary | jq -e --arg t "process $pid exited" '.target == $t' \
				>/dev/null || die "$ms ms: summary: $(events "$T/ev.$ms" summary)"
			traced=$((traced + 1))
		elif [ "$st" -eq 1 ]; then
			[ -s "$T/err.$ms" ] || die "$ms ms: exited 1 saying nothing"
			# libbpf's own warnings may come before gomapwatch's line
			grep -v '^libbpf: ' "$T/err.$ms" | grep -vqE "^gomapwatch: (no such process: $pid|process $pid: cannot open its executable: .*|process $pid exited while gomapwatch was attaching; nothing traced \(.*\))\$" &&
				die "$ms ms: stderr: $(cat "$T/err.$ms")"
			untraced=$((untraced + 1))
		else
			die "$ms ms: gomapwatch exited $st: $(cat "$T/err.$ms")"
		fi
	done
	echo "${GOMAPWATCH_DISABLE_FEATURES:-all features}: $traced traced, $untraced ended before the probes were live"
}

t_exit_attaching() {
	each_attach_path exit_early "$1"
}

# lifecycle -spawn 2: two Go children (os/exec of its own binary) while
# traced, then the parent races. -p follows the one process: the
# children are not traced (no event names them) and run to their end; the
# parent still is (its conflict comes after they ended).
children_p_once() {
	local fx=$1 pid gmw gmw_held st=0
	"$fx/lifecycle" -sleep 4s -spawn 2 -child-args "-seconds 1s" -race -seconds 2s \
		>"$T/out" 2>"$T/fx.err" &
	pid=$!
	wait_line "$T/out" '^pid '
	start_gmw -p "$pid" --json -o "$T/ev" -d 30
	wait "$pid" || st=$?
	expect_status 0 wait "$gmw"
	grep -q '^children ok$' "$T/out" || die "a child failed: $(cat "$T/out" "$T/fx.err")"
	[ "$(grep -c '^child pid ' "$T/out")" -eq 2 ] || die "not two children: $(cat "$T/out")"
	ended_as_racy "$st" "$T/fx.err"
	valid_ndjson "$T/ev"
	# a side found by the map's write flag alone, with no record of who is
	# inside, names no process (pid 0): not another one
	[ -z "$(jq -r --argjson p "$pid" 'select(.type == "conflict") | .sides[] | select(.pid != $p and .pid != 0) | .pid' "$T/ev")" ] ||
		die "-p traced another process than $pid: $(jq -c 'select(.type == "conflict") | [.sides[].pid]' "$T/ev")"
	jq -e -s --argjson p "$pid" '[.[] | select(.type == "conflict") | select(all(.sides[]; .pid == $p))] | length > 0' \
		"$T/ev" >/dev/null || die "no conflict of the parent after its children"
}

# -b: the children, of the same binary, race too: traced as well.
children_b_once() {
	local fx=$1 gmw gmw_held pid
	start_gmw -b "$fx/lifecycle" --json -o "$T/ev" -d 7
	"$fx/lifecycle" -spawn 2 -child-args "-race -seconds 2s" -race -seconds 2s >"$T/out" 2>"$T/fx.err" &
	pid=$!
	wait "$pid" || true
	expect_status 0 wait "$gmw"
	awk '$1 == "child" { print $3 }' "$T/out" | sort -u >"$T/kids"
	[ "$(wc -l <"$T/kids")" -eq 2 ] || die "not two children: $(cat "$T/out")"
	jq -r 'select(.type == "conflict") | .sides[].pid' "$T/ev" | sort -u >"$T/seen"
	[ -n "$(comm -12 "$T/kids" "$T/seen")" ] || die "no conflict of a child: pids seen $(tr '\n' ' ' <"$T/seen")"
}

t_children() {
	local fx=$1
	rate "-p: parent traced after its Go children ran untraced" 5 4 children_p_once "$fx"
	rate "-b: a child of the binary traced" 5 4 children_b_once "$fx"
}

# Two gomapwatch on one racy process at once: both attach, both catch the
# conflict, both exit 0 and release their probes; racy ends as it does.
two_tracers_once() {
	local fx=$1 pid w st=0
	"$fx/racy" -sleep 4s >"$T/out" 2>"$T/fx.err" &
	pid=$!
	wait_line "$T/out" '^worker 3 goid'
	for w in a b; do
		"$GMW" -p "$pid" --json -o "$T/ev.$w" -d 30 2>"$T/err.$w" &
		echo $! >"$T/gmw.$w"
	done
	for w in a b; do
		wait_line "$T/err.$w" '^gomapwatch: watching pid'
		held "$(cat "$T/gmw.$w")" >"$T/held.$w"
	done
	wait "$pid" || st=$?
	ended_as_racy "$st" "$T/fx.err"
	for w in a b; do
		expect_status 0 wait "$(cat "$T/gmw.$w")"
		probes_gone "tracer $w's exit" "$(cat "$T/gmw.$w")" "$(cat "$T/held.$w")"
		if check_racy_events "$T/ev.$w" "$T/out"; then touch "$T/seen.$w"; fi
	done
	[ -e "$T/seen.a" ] && [ -e "$T/seen.b" ]
}

t_two_tracers() {
	local w n
	rate "both tracers detected racy" 5 4 two_tracers_once "$1"
	for w in a b; do
		n=$(find "$T" -name "seen.$w" | wc -l)
		echo "tracer $w: detected in $n/5 runs"
	done
}

# The events' output fails while racy produces them: the reader of a pipe
# goes away (| head -1), or -o's filesystem is full. gomapwatch says why,
# detaches (no probe left), prints the summary on stderr, exits 1 (not
# killed by SIGPIPE); racy ends as it does untraced.
output_fails_once() {
	local fx=$1 how=$2 want pid gmw gmw_held st=0
	"$fx/racy" -sleep 3s >"$T/out" 2>"$T/fx.err" &
	pid=$!
	wait_line "$T/out" '^worker 3 goid'
	if [ "$how" = pipe ]; then
		mkfifo "$T/fifo"
		head -1 <"$T/fifo" >"$T/head" &
		"$GMW" -p "$pid" -d 30 >"$T/fifo" 2>"$T/gmw.err" &
		want='^gomapwatch: writing events: output closed \(Broken pipe\)$'
	else
		mkdir -p "$T/full"
		mount -t tmpfs -o size=64k gmw-full "$T/full"
		trap 'umount "$T/full"' EXIT
		dd if=/dev/zero of="$T/full/filler" bs=4k 2>/dev/null || true
		"$GMW" -p "$pid" -d 30 --json -o "$T/full/ev" 2>"$T/gmw.err" &
		want="^gomapwatch: writing events: No space left on device \\($T/full/ev\\)\$"
	fi
	gmw=$!
	: >"$T/held"
	watch_gmw "$gmw" "$T/held" 30
	expect_status 1 wait "$gmw"
	grep -q '^gomapwatch: watching ' "$T/gmw.err" || die "never attached: $(cat "$T/gmw.err")"
	gmw_held=$(cat "$T/held")
	grep -qE "$want" "$T/gmw.err" || die "stderr: $(grep gomapwatch "$T/gmw.err")"
	grep -q '^--- gomapwatch summary' "$T/gmw.err" || die "no summary on stderr"
	probes_gone "a failed output ($how)" "$gmw" "$gmw_held"
	wait "$pid" || st=$?
	ended_as_racy "$st" "$T/fx.err"
}

t_output_fails() {
	rate "closed pipe said, detached" 5 4 output_fails_once "$1" pipe
	rate "full disk said, detached" 3 3 output_fails_once "$1" full
}

# -v says what the kernel offers and how long attaching and detaching took.
t_verbose_times() {
	local fx=$1
	"$GMW" -v -d 1 -- "$fx/locked" -seconds 3 >/dev/null 2>"$T/err"
	grep -qE '^gomapwatch: kernel .+: attach cookies (yes|no)' "$T/err"
	grep -qE '^gomapwatch: probes live [0-9]+ ms after start \(binary and plan [0-9]+ ms, BPF load [0-9]+ ms, attach [0-9]+ ms\)' "$T/err" ||
		die "no attach time: $(grep gomapwatch "$T/err")"
	grep -qE '^gomapwatch: probes released [0-9]+ ms after the stop' "$T/err" || die "no detach time"
}

# The line of tests/go/deepinline/main.go holding TEXT
deepinline_line() { grep -nF "$1" "$root/tests/go/deepinline/main.go" | head -1 | cut -d: -f1; }

# What traceback.sh list must make of the traceback deepinline's worker
# dies with (files by their ends; the creator's goroutine if $1 is yes).
deepinline_expected() {
	local f=tests/go/deepinline/main.go in=
	[ "$1" != yes ] || in=" in goroutine 1"
	cat <<-EOT
		main.(*store).put (inlined) $f:$(deepinline_line 's.m[k] = v')
		main.(*service).record (inlined) $f:$(deepinline_line 's.st.put(k, v)')
		main.handle (inlined) $f:$(deepinline_line 'svc.record(uint64(i%keys), id)')
		main.startWorkers.func1.1 $f:$(deepinline_line 'handle(svc, i, id)')
		main.descend $f:$(deepinline_line '	f()')
		main.startWorkers.func1 $f:$(deepinline_line 'descend(depth, func() {')
		created by main.startWorkers$in $f:$(deepinline_line 'go func() {')
	EOT
}

# traceback_once BINARY LABEL MODE CREATOR-GOROUTINE(yes|no): BINARY -mode
# MODE under gomapwatch. The runtime's traceback of the goroutine that died
# is parsed and checked against the fixture's source (the parser on its
# own), then compared with gomapwatch's event for that goroutine.
traceback_once() {
	local bin=$1 label=$2 mode=$3 header type status=0 g d=$T/$3
	case $mode in
	fatal) header='fatal error: concurrent map writes' type=fatal ;;
	nilpanic) header='panic: assignment to entry in nil map' type=fatalpanic ;;
	esac
	mkdir -p "$d"
	# the default GOTRACEBACK: the traceback as users see it
	env -u GOTRACEBACK "$GMW" --json -o "$d/ev" -- "$bin" -mode "$mode" >"$d/out" 2>"$d/err" ||
		status=$?
	[ "$status" -eq 2 ] || die "$label: gomapwatch exited $status, want 2 (the fixture's): $(tail -3 "$d/err")"
	valid_ndjson "$d/ev"
	"$here/traceback.sh" parse "$d/err" "$header" >"$d/runtime.json" ||
		die "$label: no runtime traceback after '$header' on stderr: $(head -5 "$d/err")"
	g=$(jq .goroutine "$d/runtime.json")
	goids "$d/out" | grep -qx "$g" || die "$label: the runtime's goroutine $g is not a worker the fixture printed"
	"$here/traceback.sh" list "$d/runtime.json" |
		sed -E 's#^(.* )/.*/(tests/go/deepinline/main\.go:[0-9]+)$#\1\2#' >"$d/parsed"
	deepinline_expected "$4" >"$d/expected"
	diff "$d/expected" "$d/parsed" ||
		die "$label: the parser misread the runtime's traceback: $(grep -A12 -xF "$header" "$d/err")"
	jq -r --arg l "$label" '(.frames | map(.function | startswith("main.")) | index(true)) as $i
		| "parser \($l): goroutine \(.goroutine), \(.frames | length) frames, first user frame"
			+ " \(.frames[$i].function) line \(.frames[$i].line)"
			+ (if $i > 0 then " after \(.frames[:$i] | map(.function) | join(", "))" else "" end)' \
		"$d/runtime.json"
	events "$d/ev" "$type" | jq -c --argjson g "$g" 'select(.goroutine == $g)' | sed -n 1p >"$d/event.json"
	[ -s "$d/event.json" ] ||
		die "$label: no $type event for goroutine $g; $type events: $(events "$d/ev" "$type" | jq -c '{goroutine, message}' | tr '\n' ' ')"
	"$here/traceback.sh" compare "$label" "$d/runtime.json" "$d/event.json"
}

# iterate_once FX: racyread -iter under --reads: the iterating goroutine's
# stacks (its iterate/write conflicts, or the runtime's fatal error) start
# at the user's for-range line, the runtime's iteration functions hidden;
# with --runtime-frames they are shown.
iter_stacks='[.[] | select(.type == "conflict" and .kind == "iterate/write") | .sides[0].stack]
	+ [.[] | select(.type == "fatal" and (.message | test("iteration"))) | .stack]'
iterate_once() {
	local fx=$1 line
	line=$(grep -n 'range shared' "$root/tests/go/racyread/main.go" | cut -d: -f1)
	"$GMW" --reads --json -o "$T/ev" -d 10 -- "$fx/racyread" -iter >/dev/null 2>&1 || true
	jq -e -s --argjson l "$line" "$iter_stacks"' | length > 0 and
		all(.[]; .[0].function == "main.ranger" and .[0].line == $l)' "$T/ev" >/dev/null ||
		die "iteration stacks: $(jq -c -s "$iter_stacks | map(.[0])" "$T/ev")"
	"$GMW" --runtime-frames --reads --json -o "$T/ev" -d 10 -- "$fx/racyread" -iter >/dev/null 2>&1 || true
	jq -e -s "$iter_stacks"' | length > 0 and all(.[]; .[0].function | test("^(internal/)?runtime"))' \
		"$T/ev" >/dev/null || die "--runtime-frames: $(jq -c -s "$iter_stacks | map(.[0])" "$T/ev")"
}

t_iterate() {
	rate "iterate/write at the range line" 5 4 iterate_once "$1"
}

# A stack deeper than the frames kept says it was cut, in JSON and text,
# and what was kept still agrees with the runtime's traceback.
t_stack_truncated() {
	local fx=$1 ev
	env -u GOTRACEBACK "$GMW" --json -o "$T/ev" -- "$fx/deepinline" -mode nilpanic -depth 40 \
		>"$T/out" 2>"$T/err" || true
	ev=$(events "$T/ev" fatalpanic | sed -n 1p)
	echo "$ev" | jq -e '.stack_truncated and (.stack | length) >= 20' >/dev/null ||
		die "a 40-deep stack not marked cut: $(echo "$ev" | jq -c '{stack_truncated, n: (.stack | length)}')"
	echo "$ev" >"$T/event.json"
	"$here/traceback.sh" parse "$T/err" 'panic: assignment to entry in nil map' >"$T/runtime.json"
	"$here/traceback.sh" compare "truncated" "$T/runtime.json" "$T/event.json"
	"$GMW" -- "$fx/deepinline" -mode nilpanic -depth 40 >"$T/out" 2>/dev/null || true
	grep -qF '      ... (stack cut at 24 frames)' "$T/out" || die "the text report does not say the stack was cut"
	"$GMW" --json -o "$T/ev" -- "$fx/deepinline" -mode nilpanic >/dev/null 2>&1 || true
	events "$T/ev" fatalpanic | jq -e '.stack_truncated | not' >/dev/null || die "a shallow stack marked cut"
}

# The runtime's own traceback of the goroutine that died against
# gomapwatch's event for it, frame by frame from the first user frame to
# the creator, inlined frames included: deepinline's map writes sit three
# inlined calls deep in its workers' loop. A concurrent-write fatal error
# (every run dies of one: the race is certain, no rate) and an unrecovered
# nil-map panic.
t_traceback_compare() {
	local fx=$1 version=$2 bin=$3 in=yes mode st bad=()
	# "created by F in goroutine M" from Go 1.21 on
	case $version in go1.1[0-9] | go1.1[0-9].* | go1.20 | go1.20.*) in=no ;; esac
	for mode in fatal nilpanic; do
		# a background subshell keeps its set -e: in a || list bash turns it off
		( set -e; traceback_once "$fx/$bin" "${fx##*/}${bin#deepinline} $mode" "$mode" "$in" ) &
		st=0
		wait "$!" || st=$?
		[ "$st" -eq 0 ] || bad+=("$mode")
	done
	[ ${#bad[@]} -eq 0 ] || die "$bin: the stacks differ from the runtime's traceback: ${bad[*]}"
}

# A loopback port nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# produced EV: how many OTLP records gomapwatch made, one per NDJSON event
produced() { jq -s 'length' "$1"; }

# dropped ERR: what gomapwatch said it dropped in all at exit (0 if nothing)
dropped() { sed -nE 's/^gomapwatch: otlp: ([0-9]+) records dropped in all.*/\1/p' "$1" | awk '{ n += $1 } END { print n + 0 }'; }

# One racy run under --otlp: the Collector holds the conflict as a log record
# with its attributes, both goroutines the fixture printed, its resource.
otlp_once() {
	local fx=$1 port=$2 col=$3 status=0 pid rec
	"$GMW" --json -o "$T/ev" -d 30 --otlp "http://127.0.0.1:$port" --service-name racy-svc \
		--otlp-header X-Gomapwatch-Test=1 -- "$fx/racy" >"$T/out" 2>"$T/err" || status=$?
	check_racy_events "$T/ev" "$T/out"
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	# the summary is the last record gomapwatch sends: the file exporter
	# writes it out within its flush interval
	for ((i = 0; i < 100; i++)); do
		otelcol_records "$col" | jq -c --argjson p "$pid" 'select(.resource["process.pid"] == $p)' >"$T/recs"
		grep -q '"gomapwatch.summary"' "$T/recs" && break
		sleep 0.1
	done
	rec=$(jq -c 'select(.eventName == "gomapwatch.conflict")' "$T/recs" | sed -n 1p)
	[ -n "$rec" ] || die "the collector has no conflict record: $(head -c 600 "$T/recs")"
	echo "$rec" | jq -e --slurpfile ids <(goids "$T/out" | jq -s .) --arg exe "$fx/racy" '
		.severityText == "ERROR" and .severityNumber == 17
		and .attributes["event.name"] == "gomapwatch.conflict"
		and .attributes["gomapwatch.conflict.kind"] == "write/write"
		and (.attributes["gomapwatch.entering.goroutine.id"] as $a
			| .attributes["gomapwatch.inside.goroutine.id"] as $b
			| $a != $b and ($ids[0] | index($a)) != null and ($ids[0] | index($b)) != null)
		and .attributes["gomapwatch.entering.function"] == "runtime.mapassign_fast64"
		and (.attributes["gomapwatch.entering.key"] | test("^[0-9]+$"))
		and (.attributes["exception.stacktrace"] | test("main.writer\\(...\\)\n\t.*tests/go/racy/main.go:[0-9]+"))
		and (.attributes["gomapwatch.inside.stacktrace"] | test("^goroutine [0-9]+ \\[running\\]:\nmain.writer"))
		and .attributes["code.function.name"] == "main.writer"
		and .resource["service.name"] == "racy-svc"
		and .resource["process.executable.path"] == $exe
		and (.resource["process.runtime.version"] | startswith("go1."))
		and (.resource["host.name"] | length > 0)' >/dev/null ||
		die "conflict record: $rec"
	# the fatal error, when racy died of one, is FATAL
	if [ -n "$(events "$T/ev" fatal)" ]; then
		jq -e -s 'map(select(.eventName == "gomapwatch.fatal" and .severityText == "FATAL"
			and (.body | startswith("fatal error: concurrent map")))) | length == 1' "$T/recs" >/dev/null ||
			die "no FATAL record: $(jq -c '{eventName, severityText, body}' "$T/recs")"
	fi
	# every event gomapwatch wrote to its NDJSON reached the collector
	[ "$(jq -s length "$T/recs")" -eq "$(produced "$T/ev")" ] ||
		die "$(produced "$T/ev") events, $(jq -s length "$T/recs") records received"
	events "$T/ev" summary | jq -e '.otlp.dropped == 0 and .otlp.sent > 0' >/dev/null ||
		die "summary: $(events "$T/ev" summary | jq -c .otlp)"
	[ "$status" -ne 0 ] || [ -z "$(events "$T/ev" fatal)" ] || die "exit status $status"
}

# --otlp against a real OpenTelemetry Collector (tests/otelcol).
t_otlp() {
	local fx=$1 port
	port=$(free_port)
	otelcol_start "$port" "$T/col"
	rate "racy reported to the collector" 5 4 otlp_once "$fx" "$port" "$T/col"
	otelcol_records "$T/col" | jq -c 'select(.eventName == "gomapwatch.conflict") | {severityText,
		body, resource: .resource["service.name"], entering: .attributes["gomapwatch.entering.goroutine.id"],
		inside: .attributes["gomapwatch.inside.goroutine.id"]}' | sed -n 1p
	otelcol_stop
}

# wait_conflicts EV N: until EV holds N conflict events
wait_conflicts() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(events "$1" conflict | wc -l)" -ge "$2" ] && return 0
		sleep 0.1
	done
	die "fewer than $2 conflicts in $1 after 30 s"
}

# The collector stopped mid-run and started again: gomapwatch keeps tracing
# (-b: a racy process before, one during, one after), and every record it
# made was received or said to be dropped, none silently lost.
t_otlp_restart() {
	local fx=$1 port g recs made drop
	port=$(free_port)
	otelcol_start "$port" "$T/col"
	# traced in full: each racy process must be seen, whatever the budget
	"$GMW" -b "$fx/racy" --json -o "$T/ev" --otlp "http://127.0.0.1:$port" --max-overhead off \
		2>"$T/err" &
	g=$!
	sleep 2
	# a key type each: distinct stack pairs, each reported once
	"$fx/racy" -kind fast64 >"$T/out.1" 2>&1 || true
	wait_conflicts "$T/ev" 1
	otelcol_stop
	"$fx/racy" -kind faststr >"$T/out.2" 2>&1 || true
	wait_conflicts "$T/ev" 2
	sleep 1
	grep -q 'otlp: collector .* unreachable' "$T/err" || die "no word of the collector's absence: $(cat "$T/err")"
	otelcol_start "$port" "$T/col"
	"$fx/racy" -kind fast32 >"$T/out.3" 2>&1 || true
	wait_conflicts "$T/ev" 3
	kill -0 "$g" || die "gomapwatch stopped"
	kill -INT "$g"
	expect_status 0 wait "$g"
	sleep 1
	otelcol_stop
	recs=$(otelcol_records "$T/col" | jq -s length)
	made=$(produced "$T/ev")
	drop=$(dropped "$T/err")
	echo "records made $made, received $recs, dropped $drop"
	[ $((recs + drop)) -eq "$made" ] || die "$made made, $recs received, $drop said dropped"
	for i in 1 2 3; do
		otelcol_records "$T/col" | jq -e -s --argjson p "$(awk '$1 == "pid" { print $2 }' "$T/out.$i")" \
			'any(.[]; .eventName == "gomapwatch.conflict" and .resource["process.pid"] == $p)' >/dev/null ||
			[ "$i" -eq 2 ] || die "no conflict record from racy $i"
	done
	grep -q 'otlp: collector reachable again' "$T/err" || die "no word of the collector's return: $(cat "$T/err")"
}

# No collector at all: a warning, tracing as usual, every record counted dropped.
t_otlp_unreachable() {
	local fx=$1 port status=0 t0
	port=$(free_port)
	t0=$(date +%s)
	"$GMW" --json -o "$T/ev" -d 30 --otlp "http://127.0.0.1:$port" -- "$fx/racy" \
		>"$T/out" 2>"$T/err" || status=$?
	echo "exited $status after $(($(date +%s) - t0)) s"
	check_racy_events "$T/ev" "$T/out"
	grep -q "otlp: collector http://127.0.0.1:$port/v1/logs unreachable" "$T/err" ||
		die "no warning: $(cat "$T/err")"
	[ "$(dropped "$T/err")" -eq "$(produced "$T/ev")" ] ||
		die "$(produced "$T/ev") records made, $(dropped "$T/err") said dropped: $(cat "$T/err")"
	events "$T/ev" summary | jq -e '.otlp.sent == 0' >/dev/null
}

# Bad --otlp input: refused before anything is attached or started.
t_otlp_bad_args() {
	local fx=$1
	expect_status 64 "$GMW" --otlp ftp://x -- "$fx/racy" 2>"$T/err"
	grep -q 'otlp' "$T/err"
	expect_status 64 "$GMW" --otlp-header X=1 -- "$fx/racy" 2>"$T/err"
	grep -q 'go with --otlp' "$T/err"
	expect_status 64 "$GMW" --otlp http://127.0.0.1:1 --otlp-header novalue -- "$fx/racy" 2>"$T/err"
	grep -q 'K=V' "$T/err"
	[ ! -s "$T/out" ]
}

# budget_line FILE: gomapwatch -v's closing line on its budget
budget_line() { grep -m1 "^gomapwatch: budget [0-9.]*% of the target's CPU: " "$1" || true; }

# the duty (percent), windows and forgotten writes of a budget line
budget_duty() { sed -nE 's/.* the probes attached ([0-9.]+)% of the time in ([0-9]+) windows.*/\1/p' <<<"$1"; }
budget_windows() { sed -nE 's/.* in ([0-9]+) windows.*/\1/p' <<<"$1"; }
budget_forgotten() { sed -nE 's/.*; ([0-9]+) writes inside when their window closed.*/\1/p' <<<"$1"; }

# --max-overhead 1 on code busy with map writes, the default period: it
# times a probe hit, says when it starts sampling, traces a small share of the time in more
# than one window, and the target runs to its end, its output whole.
t_budget_sampling() {
	local fx=$1 line
	expect_status 0 "$GMW" --max-overhead 1 -v --json -o "$T/ev" -- "$fx/locked" -seconds 25 \
		>"$T/out" 2>"$T/err"
	grep -q '^ok writes=' "$T/out" || die "locked did not finish: $(tail -2 "$T/out")"
	valid_ndjson "$T/ev"
	# the hit cost it budgets with was timed on this machine
	grep -qE '^gomapwatch: a probe hit costs [0-9.]+ us emulated, [0-9.]+ us single-stepped \(timed here\)' \
		"$T/err" || die "no hit cost timed: $(grep -m3 '^gomapwatch' "$T/err")"
	grep -qE "^gomapwatch: over budget \(full tracing costs ~[0-9.]+% of the target's CPU, budget 1%\): tracing [0-9.]+ s of every 10 s" \
		"$T/err" || die "no word of sampling: $(grep '^gomapwatch' "$T/err")"
	line=$(budget_line "$T/err")
	[[ $line == *": sampled, "* ]] || die "-v: $line"
	awk -v d="$(budget_duty "$line")" -v w="$(budget_windows "$line")" 'BEGIN { exit !(d < 100 && w > 1) }' ||
		die "duty and windows: $line"
	[ -z "$(events "$T/ev" conflict)" ] || die "conflict on locked code: $(events "$T/ev" conflict | sed -n 1p)"
	echo "$line"
}

# The default budget: on where nothing ends the run (-p, -b without -d),
# off with -d or a command; off and 0 turn it off, bad values are refused.
t_budget_defaults() {
	local fx=$1 pid g s
	"$fx/locked" -seconds 20 >"$T/out" 2>&1 &
	wait_line "$T/out" '^pid '
	pid=$(awk '$1 == "pid" { print $2 }' "$T/out")
	"$GMW" -v -p "$pid" --json -o "$T/ev.p" 2>"$T/err.p" &
	g=$!
	wait_line "$T/err.p" '^gomapwatch: watching pid'
	sleep 2
	kill -INT "$g"
	expect_status 0 wait "$g"
	[[ $(budget_line "$T/err.p") == "gomapwatch: budget 5% "* ]] || die "-p: $(grep '^gomapwatch' "$T/err.p")"
	expect_status 0 "$GMW" -v -p "$pid" -d 1 --json -o "$T/ev.d" 2>"$T/err.d"
	[ -z "$(budget_line "$T/err.d")" ] || die "-d: $(budget_line "$T/err.d")"
	expect_status 0 "$GMW" -v -p "$pid" -d 1 --max-overhead 2.5% --json -o "$T/ev.d" 2>"$T/err.d"
	[[ $(budget_line "$T/err.d") == "gomapwatch: budget 2.5% "* ]] || die "2.5%: $(budget_line "$T/err.d")"
	for s in off 0; do
		"$GMW" -v -p "$pid" --max-overhead "$s" --json -o "$T/ev.$s" 2>"$T/err.$s" &
		g=$!
		wait_line "$T/err.$s" '^gomapwatch: watching pid'
		kill -INT "$g"
		expect_status 0 wait "$g"
		[ -z "$(budget_line "$T/err.$s")" ] || die "--max-overhead $s: $(budget_line "$T/err.$s")"
	done
	expect_status 0 "$GMW" -v --json -o "$T/ev.c" -- "$fx/locked" -seconds 1 >/dev/null 2>"$T/err.c"
	[ -z "$(budget_line "$T/err.c")" ] || die "-- CMD: $(budget_line "$T/err.c")"
	kill "$pid"
	for s in abc -5 101 5x 1e999 nan; do
		expect_status 64 "$GMW" -p 1 --max-overhead "$s" 2>"$T/err"
		grep -qF -- "--max-overhead: expected a percentage of the target's CPU time from 0 to 100, or off; got $s" \
			"$T/err" || die "--max-overhead $s: $(cat "$T/err")"
	done
}

# Windows on correctly locked code: every map operation, reads too, a
# window every second (GOMAPWATCH_WINDOWS=1,0: no grace) for 20 s, and
# writes that stay inside for a tenth of a second (locked -slow: two
# goroutines take turns), so that windows close on writes still inside.
# Their records must not accuse the next window's writers: no conflict,
# and every recorded write left, panicked or was forgotten.
t_budget_locked() {
	local fx=$1 line
	GOMAPWATCH_WINDOWS=1,0 expect_status 0 "$GMW" --max-overhead 1 --reads -v --json -o "$T/ev" \
		-- "$fx/locked" -slow -seconds 20 >"$T/out" 2>"$T/err"
	grep -q '^ok writes=' "$T/out" || die "locked did not finish"
	[ -z "$(events "$T/ev" conflict)" ] || die "conflict on locked code across windows: $(events "$T/ev" conflict | sed -n 1p)"
	line=$(budget_line "$T/err")
	[ "$(budget_windows "$line")" -ge 10 ] || die "too few windows: $line"
	events "$T/ev" summary | jq -e --argjson f "$(budget_forgotten "$line")" \
		'.conflicts == 0 and .writes > 1000 and .reads > 1000
		and .write_exits + .cleared_by_panic + $f == .writes
		and .aged_out == 0 and .unfinished == 0 and .untracked == 0 and .lost == 0' >/dev/null ||
		die "summary: $(events "$T/ev" summary) ($line)"
	echo "$line"
}

# racy, racing from its start, under --max-overhead 1: caught while the
# tracing is still in full, before the first estimate
racy_budget_once() {
	"$GMW" --max-overhead 1 --json -o "$T/ev" -d 30 -- "$1/racy" >"$T/out" 2>"$T/err" || true
	check_racy_events "$T/ev" "$T/out"
}

# racy -every: a race that recurs every 100 ms from 6 s on, between a
# goroutine that never locks and workers that do; attached with -p,
# --max-overhead 1, a window every 2 s. Caught in a window: sampling began
# before the race did; the conflict names the racer and a worker.
recurring_once() {
	local fx=$1 pid line
	# the race begins 6 s after the workers' lines, seconds after attaching
	# even on a loaded machine, well after the first estimate (0.5 s)
	"$fx/racy" -every 100ms -sleep 6s >"$T/out" 2>"$T/racy.err" &
	pid=$!
	wait_line "$T/out" '^worker 3 goid'
	GOMAPWATCH_WINDOWS=2 expect_status 0 "$GMW" -p "$pid" --max-overhead 1 -v -d 20 --json -o "$T/ev" \
		2>"$T/err"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	grep -q '^gomapwatch: over budget' "$T/err" || die "no sampling: $(budget_line "$T/err")"
	jq -e -s --argjson r "$(awk '$1 == "racer" { print $3 }' "$T/out")" \
		--argjson w "$(goids "$T/out" | jq -s .)" '[.[] | select(.type == "conflict")
		| select(any(.sides[]; .goroutine == $r and .stack[0].function == "main.racer")
			and any(.sides[]; (.goroutine as $g | $w | index($g))
				and .stack[0].function == "main.lockedWriter"))] | length > 0' "$T/ev" >/dev/null ||
		die "no conflict naming the racer and a worker: $(events "$T/ev" conflict | head -2 | jq -c '[.sides[] | {goroutine, f: .stack[0].function}]')"
	events "$T/ev" summary | jq -e '[.maps[].pairs[].first_s] | min >= 1' >/dev/null ||
		die "caught before the race began: $(events "$T/ev" summary | jq -c '[.maps[].pairs[].first_s]')"
}

t_budget_recall() {
	rate "recurring race caught in windows" 5 4 recurring_once "$1"
}

t_budget_racy() {
	rate "racy detected under --max-overhead 1" 10 9 racy_budget_once "$1"
}
