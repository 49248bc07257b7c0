#!/usr/bin/env bash
# shellcheck disable=SC2317 # the tests are called through run and rate
# The static build (`make static`): the file says so, and it does its job in
# a root holding nothing but itself and a Go fixture, with /proc and /sys
# bound in: no loader, no libc, no /lib at all. Needs root.
# Environment: GMW (the static gomapwatch), GMW_FIXTURES (scripts/build-fixtures.sh).
# Under CI=true a skipped test is a failure: CI machines can run them all.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2034 # read by tests.sh's racy_line
root=$(cd "$here/../.." && pwd)
: "${GMW:?set GMW to the static gomapwatch}" "${GMW_FIXTURES:?set GMW_FIXTURES}"
work=$(mktemp -d /tmp/gmw-static.XXXXXX)
# The binds live in the tests' own mount namespaces and die with them;
# --one-file-system all the same, should one ever outlive its namespace.
trap 'kill $(jobs -p) 2>/dev/null; rm -rf --one-file-system "$work"' EXIT
pass=0 fail=0 skip=0
failed=()

# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
# check_racy_events, racy_line: the host tests' assertions on a racy run
# shellcheck source=tests/integration/tests.sh
. "$here/tests.sh"

finish() {
	echo "static: $pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ] || { printf '  failed: %s\n' "${failed[@]}"; exit 1; }
	exit 0
}

# bare_root DIR FILE...: DIR holds the FILEs, mount points for /proc and
# /sys, and nothing else
bare_root() {
	local r=$1 f
	shift
	mkdir -p "$r/proc" "$r/sys"
	for f in "$@"; do
		cp "$f" "$r/"
	done
	[ "$(cd "$r" && find . -mindepth 1 -printf '%p\n' | sort | tr '\n' ' ')" = \
		"$(printf './%s\n' proc sys "${@##*/}" | sort | tr '\n' ' ')" ] ||
		die "$r holds more than it should: $(cd "$r" && find .)"
}

# in_root DIR CMD...: CMD run chrooted into DIR with the host's /proc and
# /sys (BTF, the uprobe PMU, tracefs) bound in, in a mount namespace of its
# own so the binds go away with it
in_root() {
	# shellcheck disable=SC2016 # expanded by that sh
	unshare --mount --propagation private sh -c '
		r=$1; shift
		mount --rbind /proc "$r/proc" && mount --rbind /sys "$r/sys" &&
		exec chroot "$r" "$@"' sh "$@"
}

# The file: no dynamic section (so no NEEDED), no interpreter.
t_static_elf() {
	file -L "$GMW" | tee "$T/file"
	grep -q 'ELF 64-bit .* statically linked' "$T/file" || die "file does not call it static"
	readelf -d "$GMW" >"$T/dynamic"
	grep -q 'There is no dynamic section' "$T/dynamic" || die "dynamic section: $(cat "$T/dynamic")"
	readelf -lW "$GMW" >"$T/phdrs"
	! grep -q INTERP "$T/phdrs" || die "it asks for an interpreter: $(grep -A1 INTERP "$T/phdrs")"
	ls -l "$GMW"
}

# The control: in such a root a dynamically linked program cannot even
# start (so the tests below prove what they claim).
t_bare_control() {
	bare_root "$T/root" "$(type -P true)"
	file -L "$T/root/true" | grep -q 'dynamically linked' || die "the control is not dynamic"
	! in_root "$T/root" /true 2>"$T/err" || die "a dynamic program ran in the bare root"
	# its loader is missing, and nothing else went wrong
	grep -q "/true.*: No such file or directory" "$T/err" || die "$(cat "$T/err")"
	cat "$T/err"
}

t_bare_help() {
	bare_root "$T/root" "$GMW"
	in_root "$T/root" /gomapwatch --help >"$T/out"
	grep -q -- '-p, --pid=PID' "$T/out" && grep -q EXAMPLES "$T/out" && grep -q -- '-- CMD' "$T/out"
}

t_bare_inspect() {
	local fx=$1 version=$2
	bare_root "$T/root" "$GMW" "$fx/racy"
	in_root "$T/root" /gomapwatch inspect --json ./racy >"$T/json"
	jq -e --arg v "$version" '.go_version == $v
		and .offsets["runtime.g.goid"].source == "dwarf"
		and ([.functions[] | select(.name == "runtime.mapassign_fast64")][0]
			| .exit == "flag-check" and all(.points[]; .emulated))' \
		"$T/json" >/dev/null || die "inspect --json racy: $(cat "$T/json")"
	in_root "$T/root" /gomapwatch inspect ./racy >"$T/text"
	grep -qE '^    write-entry +0x[0-9a-f]+ .* emulated$' "$T/text" || die "text inspect: $(cat "$T/text")"
	grep -m1 -E '^go ' "$T/text"
}

# What the kernel offers, as seen from the bare root: the same as outside.
t_bare_kernel() {
	bare_root "$T/root" "$GMW"
	"$GMW" inspect --kernel --json >"$T/host"
	in_root "$T/root" /gomapwatch inspect --kernel --json >"$T/bare"
	jq -e '.probed and .features.btf and .features.ringbuf' "$T/bare" >/dev/null ||
		die "inspect --kernel in the bare root: $(cat "$T/bare")"
	diff "$T/host" "$T/bare" || die "the bare root sees another kernel"
	cat "$T/bare"
}

# --otlp needs libcurl, which the static build leaves out: refused before
# anything starts, saying which build can, and the command never runs.
t_bare_otlp() {
	bare_root "$T/root" "$GMW"
	local rc=0
	in_root "$T/root" /gomapwatch --otlp http://127.0.0.1:4318 -- /nothing-here \
		>"$T/out" 2>"$T/err" || rc=$?
	cat "$T/err"
	[ "$rc" -eq 64 ] || die "exit status $rc, wanted 64 (usage)"
	grep -q -- "--otlp: not in this static build.*dynamic" "$T/err" || die "no reason given"
	! grep -q "nothing-here" "$T/err" || die "it tried to start the command"
	[ ! -s "$T/out" ] || die "stdout: $(cat "$T/out")"
}

# One traced run of racy in the bare root: a conflict naming two goroutines
# racy printed, each side at the user's map-writing line; one summary; and
# racy's own exit status passed on. ARGS go to gomapwatch.
bare_racy_once() {
	local fx=$1 status=0
	shift
	bare_root "$T/root" "$GMW" "$fx/racy"
	in_root "$T/root" /gomapwatch "$@" --json -o /ev -d 30 -- ./racy >"$T/out" 2>"$T/err" || status=$?
	check_racy_events "$T/root/ev" "$T/out"
	[ "$(events "$T/root/ev" summary | wc -l)" -eq 1 ] || die "want one summary"
	if [ -n "$(events "$T/root/ev" fatal)" ]; then
		[ "$status" -eq 2 ] || die "racy died of a fatal error but gomapwatch exited $status"
	fi
}

# The same, as text: what a user reading the terminal sees.
bare_racy_text_once() {
	local fx=$1
	bare_root "$T/root" "$GMW" "$fx/racy"
	in_root "$T/root" /gomapwatch -d 30 -- ./racy >"$T/out" 2>"$T/err" || true
	grep -qE "^  entering: goroutine [0-9]+ \[pid [0-9]+ tid [0-9]+\] in runtime.mapassign_fast64" "$T/out" ||
		die "no entering side: $(head -20 "$T/out")"
	grep -qE "^  already inside: goroutine [0-9]+ \[pid [0-9]+ tid [0-9]+\] in runtime.mapassign_fast64" "$T/out" ||
		die "no already-inside side"
	grep -qE "^      main.writer /.*tests/go/racy/main.go:$(racy_line)\$" "$T/out" ||
		die "the user's map-writing line is not symbolized"
	grep -q '^--- gomapwatch summary' "$T/out" || die "no summary"
}

# As the host tests: the runtime can kill racy before two writes overlap,
# so the rate over several runs is the assertion.
t_bare_racy() {
	rate "racy detected in a bare root" 5 4 bare_racy_once "$1"
	jq -c 'select(.type == "conflict") | {kind, sides: [.sides[] | {goroutine, function}]}' "$T/1/root/ev" | head -1
}

# The attach paths of a kernel before 5.15 (no attach cookies) and 6.6 (no
# uprobe_multi), forced: perf-event uprobes found through /sys.
bare_racy_fallback_once() {
	GOMAPWATCH_DISABLE_FEATURES=attach_cookie,uprobe_multi bare_racy_once "$1" -v
	grep -q 'attach cookies no' "$T/err" || die "-v does not say how it attached: $(head -3 "$T/err")"
}

t_bare_racy_fallback() {
	rate "racy detected in a bare root, kernel fallbacks" 3 2 bare_racy_fallback_once "$1"
}

t_bare_racy_text() {
	rate "racy detected in a bare root, text" 3 2 bare_racy_text_once "$1"
}

run static-elf t_static_elf
if [ "$(id -u)" -ne 0 ]; then
	skip_or_fail "the bare-root tests need root (chroot, mounts, uprobes)"
	finish
fi
if ! unshare --mount true 2>"$work/unshare"; then
	skip_or_fail "no mount namespace here: $(cat "$work/unshare")"
	finish
fi
# the machine's own toolchain, as the host's lifecycle tests
read -r tag version < <(tail -n 1 "$GMW_FIXTURES/toolchains.txt")
fx=$GMW_FIXTURES/$tag
echo "--- bare root ($tag, $version)"
run control-dynamic-fails t_bare_control
run help t_bare_help
run inspect t_bare_inspect "$fx" "$version"
run inspect-kernel t_bare_kernel
run otlp-refused t_bare_otlp
run racy-conflicts t_bare_racy "$fx"
run racy-kernel-fallbacks t_bare_racy_fallback "$fx"
run racy-text t_bare_racy_text "$fx"
finish
