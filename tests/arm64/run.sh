#!/usr/bin/env bash
# The arm64 stage: Debian's arm64 kernels booted under QEMU (TCG
# emulation) from an initramfs of busybox, the arm64 gomapwatch and the
# arm64 fixtures of an old-layout and a swiss-map release; tests/arm64/guest.sh
# runs the smoke set inside and sends back what each command wrote, which
# is checked here with the integration tests' own assertions.
#   6.1   attach cookies, one perf-event link per probe: both releases,
#         and on the swiss one the no-cookie programs, -b on a PIE and
#         --max-overhead
#   6.12  uprobe_multi links: the swiss release
#   tests/arm64/run.sh OUTDIR
# Environment: GMW (the arm64 gomapwatch), HOST_GMW (the host's, which plans
# the same binaries for comparison), GMW_FIXTURES, GMW_ARM64_CACHE
# (scripts/install-arm64.sh), GMW_ARM64_RUNS (racy runs per binary).
# A guest that does not boot or does not report fails every check.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${GMW:?set GMW to the arm64 gomapwatch}" "${HOST_GMW:?set HOST_GMW}" "${GMW_FIXTURES:?set GMW_FIXTURES}"
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
RUNS=${GMW_ARM64_RUNS:-4}
# boot and the whole smoke set, with room for a loaded host
GUEST_TIMEOUT=${GMW_ARM64_TIMEOUT:-1200}

# shellcheck source=tests/integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=tests/integration/tests.sh
. "$root/tests/integration/tests.sh"

fatal() { echo "arm64: $*" >&2; exit 1; }

# tags: the newest core release with the old map layout, and the newest
tags() {
	local old
	# versions from go1.17 on compare as strings
	old=$(awk '$2 < "go1.24" { print $1 }' "$GMW_FIXTURES/toolchains.txt" | tail -n 1)
	echo "$old $(tail -n 1 "$GMW_FIXTURES/toolchains.txt" | cut -d' ' -f1)"
}

# initramfs DIR: busybox, the dynamic loader Go's PIE binaries name, the
# arm64 gomapwatch, the fixtures and guest.sh as /init, as a newc cpio
initramfs() {
	local d=$out/initramfs tag
	rm -rf "$d"
	mkdir -p "$d/bin" "$d/lib" "$d/gmw" "$d/fx"
	cp "$sysroot/bin/busybox" "$d/bin/busybox"
	ln -s busybox "$d/bin/sh"
	cp /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 "$d/lib/"
	cp "$GMW" "$d/gmw/gomapwatch"
	for tag in $TAGS; do
		mkdir -p "$d/fx/$tag"
		cp "$GMW_FIXTURES/$tag"/*.arm64* "$d/fx/$tag/"
	done
	mkdir -p "$d/fx-x86"
	cp "$GMW_FIXTURES/$swiss/racy" "$d/fx-x86/racy"
	install -m 755 "$here/guest.sh" "$d/init"
	(cd "$d" && find . | cpio -o -H newc --quiet) >"$out/initrd"
}

# boot SERIES IMAGE ARGS: the guest's console, carriage returns stripped,
# in SERIES/console.log; what it sent back unpacked in SERIES/guest
boot() {
	local d=$out/$1 st=0
	rm -rf "$d"
	mkdir -p "$d/guest"
	# -cpu max without pointer authentication emulated in software: 4x faster
	timeout -k 10 "$GUEST_TIMEOUT" qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on \
		-m 1G -smp 2 -accel tcg,thread=multi -nographic -no-reboot \
		-kernel "$2" -initrd "$out/initrd" \
		-append "console=ttyAMA0 panic=-1 quiet loglevel=3 $3" \
		</dev/null 2>&1 | tr -d '\r' >"$d/console.log" || st=$?
	[ "$st" -eq 0 ] || echo "qemu exited $st" >>"$d/console.log"
	sed -n '/^==gmw-out-begin==$/,/^==gmw-out-end==$/p' "$d/console.log" | sed '1d;$d' |
		base64 -d 2>/dev/null | tar -xzf - -C "$d/guest" 2>/dev/null
}

# racy_guest DIR: one guest run of racy, as the host's racy_once judges it
racy_guest() {
	local d=$1 st
	st=$(cat "$d/status")
	check_racy_events "$d/ev" "$d/out" || die "no conflict naming two of its goroutines at racy's line"
	[ "$(events "$d/ev" summary | wc -l)" -eq 1 ] || die "want one summary"
	if [ -n "$(events "$d/ev" fatal)" ]; then
		[ "$st" -eq 2 ] || die "racy died of a fatal error but gomapwatch exited $st"
		grep -qF "exited with status 2 after a Go fatal error: $(events "$d/ev" fatal | sed -n 1p | jq -r .message)" "$d/err" ||
			die "stderr does not say the command died of a Go fatal error"
	fi
}

# c_racy TAG RUN...: each racy run (plain, stripped, PIE; racy.arm64 as
# a kernel without attach cookies traces it) caught in at least RUNS-1 of its
# RUNS guest runs; the first conflict of each is printed
c_racy() {
	local tag=$1 b i k
	shift
	for b in "$@"; do
		k=0
		for ((i = 1; i <= RUNS; i++)); do
			T=$tmp/$b.$i
			mkdir -p "$T"
			if (racy_guest "$g/$tag/$b/$i") >"$T/log" 2>&1; then
				k=$((k + 1))
			else
				sed "s/^/run $i: /" "$T/log"
			fi
		done
		echo "$b detected: $k/$RUNS runs"
		jq -c 'select(.type == "conflict") | {kind, sides: [.sides[] | {goroutine, function,
			at: "\(.stack[0].function) \(.stack[0].file | sub(".*/tests/go/"; "")):\(.stack[0].line)"}]}' \
			"$g/$tag/$b/1/ev" 2>/dev/null | sed -n 1p
		[ "$k" -ge $((RUNS - 1)) ] || die "$b: $k/$RUNS runs"
	done
}

# c_locked TAG RUN...: every map operation under its lock, traced in full
# (with --reads on the PIE build): no conflict, every write accounted for
c_locked() {
	local tag=$1 b d want
	shift
	for b in "$@"; do
		d=$g/$tag/$b/1
		[ "$(cat "$d/status")" -eq 0 ] || die "$b: gomapwatch exited $(cat "$d/status"): $(tail -3 "$d/err")"
		valid_ndjson "$d/ev"
		grep -q '^ok writes=' "$d/out" || die "$b did not finish: $(tail -3 "$d/out")"
		[ -z "$(events "$d/ev" conflict)" ] || die "$b: conflict on correctly locked code: $(events "$d/ev" conflict | sed -n 1p)"
		# the host's clean summary, at the guest's emulated pace
		want="${clean_summary/.writes > 10000/.writes > 1000} and .panics > 0 and .cleared_by_panic > 0"
		[ "$b" != locked.arm64.pie ] || want="$want and .reads > 1000"
		events "$d/ev" summary | jq -e "$want" >/dev/null || die "$b summary: $(events "$d/ev" summary)"
		echo "$b: $(events "$d/ev" summary | jq -c '{conflicts, writes, write_exits, cleared_by_panic, reads, panics, lost}')"
	done
}

# c_fatal TAG: fatal dies of "concurrent map writes", the fatal event names
# a goroutine it printed and a user frame
c_fatal() {
	local d=$g/$1/fatal.arm64/1 ev
	[ "$(cat "$d/status")" -eq 2 ] || die "gomapwatch exited $(cat "$d/status"), want 2"
	valid_ndjson "$d/ev"
	ev=$(events "$d/ev" fatal | sed -n 1p)
	[ -n "$ev" ] || die "no fatal event"
	jq -e '.message == "concurrent map writes"' <<<"$ev" >/dev/null || die "message: $ev"
	goids "$d/out" | grep -qx "$(jq -r .goroutine <<<"$ev")" || die "fatal goroutine not one the fixture printed"
	jq -e '[.stack[].function] | any(startswith("main."))' <<<"$ev" >/dev/null || die "no user frame: $ev"
	grep -q 'Go fatal error: concurrent map writes' "$d/err" || die "stderr does not name the fatal error"
	jq -c '{message, goroutine, frames: [.stack[].function]}' <<<"$ev"
}

# c_text TAG: the terminal's report of racy names both sides and the line
c_text() {
	local f=$g/$1/racy-text/1/out
	grep -q '^=== CONFLICT write/write on map 0x' "$f" || die "no conflict block"
	grep -qE "^  entering: goroutine [0-9]+ \[pid [0-9]+ tid [0-9]+\] in runtime.mapassign_fast64" "$f" || die "no entering side"
	grep -qE "^  already inside: goroutine [0-9]+ \[pid [0-9]+ tid [0-9]+\] in runtime.mapassign_fast64" "$f" || die "no already-inside side"
	grep -qE "^      main.writer /.*tests/go/racy/main.go:$(racy_line)\$" "$f" || die "the map-writing line is not symbolized"
	grep -q '^--- gomapwatch summary' "$f" || die "no summary"
	sed -n '/^=== CONFLICT/,/^$/p' "$f" | sed -n 1,12p
}

# c_attach TAG: -p on a running locked fixture: writes traced, no
# conflict, gomapwatch exits 0 after -d, the target runs on to its end
c_attach() {
	local d=$g/$1/attach-detach/1
	[ "$(cat "$d/status")" -eq 0 ] || die "gomapwatch -p exited $(cat "$d/status"): $(tail -3 "$d/err")"
	[ "$(cat "$d/target.after")" = alive ] || die "the target is gone after detach: $(tail -3 "$d/target.out")"
	events "$d/ev" summary | jq -e '.writes > 0 and .conflicts == 0' >/dev/null || die "summary: $(events "$d/ev" summary)"
	[ "$(cat "$d/target.status")" -eq 0 ] && grep -q '^ok writes=' "$d/target.out" ||
		die "the target did not finish normally: $(tail -3 "$d/target.out")"
	events "$d/ev" summary | jq -c '{writes, write_exits, conflicts}'
}

# c_inspect TAG: the guest planned each binary as the host plans it (the
# same probe points, emulated or single-stepped alike), and most of them are
# emulated
c_inspect() {
	local b f
	for b in racy.arm64 racy.arm64.stripped racy.arm64.pie locked.arm64 locked.arm64.pie; do
		f=$g/$1.inspect.$b
		jq -e '.arch == "arm64"' "$f.json" >/dev/null || die "$b: $(head -3 "$f.json")"
		diff <(jq -S 'del(.binary)' "$f.json") \
			<("$HOST_GMW" inspect --json "$GMW_FIXTURES/$1/$b" | jq -S 'del(.binary)') >"$tmp/inspect.diff" ||
			die "$b: the guest's plan differs from the host's: $(head -20 "$tmp/inspect.diff")"
		jq -e '[.functions[].points[] | select(.emulated)] | length > 0' "$f.json" >/dev/null ||
			die "$b: no emulated probe"
		grep -qE '^probes +[0-9]+ functions, [0-9]+ points \([0-9]+ emulated, [0-9]+ single-stepped\)' "$f.txt" ||
			die "$b: inspect's text has no probe count"
		echo "$b: $(grep '^probes' "$f.txt")"
	done
}

# c_binary TAG: -b on the PIE racy caught the process started under it in
# at least RUNS-1 of RUNS runs, its load bias taken from the probed
# instruction, and stopped cleanly on SIGINT
c_binary() {
	local i k=0 d
	for ((i = 1; i <= RUNS; i++)); do
		d=$g/$1/binary-pie/$i
		T=$tmp/binary.$i
		mkdir -p "$T"
		if (set -e
		    [ "$(cat "$d/status")" -eq 0 ] || die "gomapwatch -b exited $(cat "$d/status"): $(tail -3 "$d/err")"
		    check_racy_events "$d/ev" "$d/out" || die "no conflict naming two of its goroutines at racy's line") \
			>"$T/log" 2>&1; then
			k=$((k + 1))
		else
			sed "s/^/run $i: /" "$T/log"
		fi
	done
	echo "-b racy.arm64.pie detected: $k/$RUNS runs"
	[ "$k" -ge $((RUNS - 1)) ] || die "-b: $k/$RUNS runs"
}

# c_budget TAG: --max-overhead timed a hit on this kernel (an emulated
# branch, a single-stepped add) and traced the locked fixture within it
c_budget() {
	local d=$g/$1/budget/1
	[ "$(cat "$d/status")" -eq 0 ] || die "gomapwatch exited $(cat "$d/status"): $(tail -3 "$d/err")"
	grep -qE '^gomapwatch: a probe hit costs [0-9.]+ us emulated, [0-9.]+ us single-stepped \(timed here\)' "$d/err" ||
		die "no hit cost timed: $(grep -m3 gomapwatch "$d/err")"
	grep -q '^ok writes=' "$d/out" || die "locked did not finish: $(tail -3 "$d/out")"
	[ -z "$(events "$d/ev" conflict)" ] || die "conflict on locked code: $(events "$d/ev" conflict | sed -n 1p)"
	events "$d/ev" summary | jq -e '.conflicts == 0 and .lost == 0' >/dev/null || die "summary: $(events "$d/ev" summary)"
	grep -m1 'a probe hit costs' "$d/err"
	events "$d/ev" summary | jq -c '{writes, write_exits, conflicts}'
}

# c_foreign: an x86-64 binary is refused by name, in one line, not started
c_foreign() {
	local d=$g/foreign/1
	[ "$(cat "$d/status")" -eq 1 ] || die "gomapwatch exited $(cat "$d/status"), want 1"
	[ "$(wc -l <"$d/err")" -eq 1 ] || die "want one line on stderr: $(cat "$d/err")"
	grep -qx 'gomapwatch: /fx-x86/racy: an x86-64 binary; this machine is arm64 (use the x86-64 build of gomapwatch on an x86-64 machine)' \
		"$d/err" || die "stderr: $(cat "$d/err")"
	[ ! -s "$d/out" ] || die "output: $(cat "$d/out")"
	cat "$d/err"
}

# c_kernel SERIES: it ran on that arm64 kernel, and says what it offers
# (uprobe_multi from 6.6 on)
c_kernel() {
	local multi=false
	grep -q "^Linux (none) $1[.-].* aarch64" "$g/uname" || die "not an arm64 $1 guest: $(cat "$g/uname")"
	[ "$1" = 6.1 ] || multi=true
	jq -e --argjson m $multi '.features.ringbuf and .features.attach_cookie and .features.uprobe_multi == $m' \
		"$g/kernel.json" >/dev/null || die "kernel: $(head -5 "$g/kernel.json")"
	cat "$g/uname"
	sed -n 1,20p "$g/kernel.txt"
}

[ "$(id -u)" -eq 0 ] || fatal "needs root (the kernel cache)"
command -v qemu-system-aarch64 >/dev/null || fatal "qemu-system-aarch64 missing: scripts/install-arm64.sh installs it"
paths=$("$root/scripts/install-arm64.sh") || fatal "scripts/install-arm64.sh failed"
sysroot=$(awk '$1 == "sysroot" { print $2 }' <<<"$paths")
read -r old swiss <<<"$(tags)"
tmp=$out/tmp
rm -rf "$tmp"
mkdir -p "$tmp"
TAGS="$old $swiss"
initramfs

fail=0
results=()
# check NAME FUNC ARGS...: one check against the guest's results in $g,
# its output indented
check() {
	local name=$1 st=0 r
	shift
	T=$tmp/$series/$name
	mkdir -p "$T"
	if [ -s "$g/uname" ]; then
		( set -e; "$@" ) >"$T.log" 2>&1 || st=$?
	else
		echo "no result: the guest sent nothing back" >"$T.log"
		st=1
	fi
	[ "$st" -eq 0 ] && r=PASS || r=FAIL
	[ "$st" -eq 0 ] || fail=$((fail + 1))
	results+=("$(printf '%-4s  %-5s %-28s %s' $r "$series" "$kver" "$name")")
	echo "--- $series $name: $r"
	sed 's/^/      | /' "$T.log"
}

# tagchecks TAG: the smoke set on one release's fixtures
tagchecks() {
	check "$1 inspect" c_inspect "$1"
	check "$1 racy-conflict" c_racy "$1" racy.arm64 racy.arm64.stripped racy.arm64.pie
	check "$1 racy-text" c_text "$1"
	check "$1 locked-no-conflict" c_locked "$1" locked.arm64 locked.arm64.pie
	check "$1 fatal-event" c_fatal "$1"
	check "$1 attach-detach" c_attach "$1"
}

t_start=$(date +%s)
while read -r _ series kver image; do
	[ -n "$series" ] || continue
	case $series in
	6.1) args="gmw.tags=$old,$swiss gmw.extra=$swiss gmw.runs=$RUNS" ;;
	*) args="gmw.tags=$swiss gmw.runs=$RUNS" ;;
	esac
	echo "--- arm64 $series: booting $kver under QEMU ($args, $(du -h "$out/initrd" | cut -f1) initramfs)"
	t0=$(date +%s)
	boot "$series" "$image" "$args"
	echo "--- arm64 $series: the guest ran $(($(date +%s) - t0)) s"
	g=$out/$series/guest
	grep '^gmw-arm64:' "$out/$series/console.log"
	if [ ! -s "$g/uname" ]; then
		echo "arm64 $series: the guest did not boot or sent nothing back; its console:"
		tail -n 30 "$out/$series/console.log" | sed 's/^/      | /'
	fi
	check kernel c_kernel "$series"
	check foreign-arch c_foreign
	[ "$series" != 6.1 ] || tagchecks "$old"
	tagchecks "$swiss"
	if [ "$series" = 6.1 ]; then
		check "$swiss no-cookie racy" c_racy "$swiss" nocookie-racy
		check "$swiss no-cookie locked" c_locked "$swiss" nocookie-locked
		check "$swiss binary-wide pie" c_binary "$swiss"
		check "$swiss max-overhead" c_budget "$swiss"
	fi
done < <(grep '^kernel ' <<<"$paths")
echo
printf '%s\n' "${results[@]}"
echo "arm64 guests: $fail failed checks of ${#results[@]}, $(($(date +%s) - t_start)) s; gomapwatch $(stat -c %s "$GMW") bytes (consoles in $out/*/console.log)"
[ "$fail" -eq 0 ] && [ ${#results[@]} -gt 0 ]
