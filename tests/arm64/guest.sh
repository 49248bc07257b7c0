#!/bin/sh
# /init of the arm64 guest (tests/arm64/run.sh): busybox's sh, nothing else
# but /gmw/gomapwatch, the fixtures in /fx/<tag> and an x86-64 racy in
# /fx-x86. Runs the smoke set and keeps each command's output in /out/<tag>/<check>/<run>/ (ev: the NDJSON,
# out and err: its standard streams, status: its exit status); prints one
# line per run as it goes, then /out as a base64 tar between markers for
# the host to check with the integration tests' assertions. No timing: the
# guest is emulated, ~50x slower than the host.
# sh has no local variables: i counts runs, n waits, d is a run's directory.
# Kernel command line: gmw.runs=N (racy runs per binary, default 4),
# gmw.tags=T1,T2 (default: every /fx/<tag>), gmw.extra=TAG (on that tag
# also: the kernel's older attach path, -b on a PIE, and --max-overhead
# timing its hits).

/bin/busybox mkdir -p /proc /sys /dev /tmp /usr/bin /sbin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t tmpfs tmpfs /tmp
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/tmp

GMW=/gmw/gomapwatch
# arg NAME DEFAULT: gmw.NAME=VALUE from the kernel command line
arg() {
	v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^gmw\.$1=//p")
	echo "${v:-$2}"
}
RUNS=$(arg runs 4)
TAGS=$(arg tags "$(ls /fx | tr '\n' ,)" | tr , ' ')
EXTRA=$(arg extra '')
# a hung command fails its run, not the guest
LIMIT=600

# run DIR CMD...: CMD under a time limit, its streams and status in DIR
run() {
	d=$1
	shift
	mkdir -p "$d"
	echo "$*" >"$d/cmd"
	st=0
	timeout -s KILL "$LIMIT" "$@" >"$d/out" 2>"$d/err" || st=$?
	echo "$st" >"$d/status"
	conflicts=$(grep -c '"type":"conflict"' "$d/ev" 2>/dev/null)
	echo "gmw-arm64: ${d#/out/} status $st conflicts ${conflicts:-0}"
}

# wait_for FILE PATTERN: until a line of FILE matches, at most 60 s
wait_for() {
	n=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $n -lt 600 ]; do
		sleep 0.1
		n=$((n + 1))
	done
}

# attach TAG: -p on a running locked fixture, detached after 20 s; the
# target's own end is waited for and kept. The window is long because
# locked works through its stack-local maps alone before its workers start,
# and on a loaded host the emulated guest can spend seconds there.
attach() {
	d=/out/$1/attach-detach/1
	mkdir -p "$d"
	"/fx/$1/locked.arm64" -seconds 60 >"$d/target.out" 2>&1 &
	tp=$!
	wait_for "$d/target.out" '^pid '
	run "$d" "$GMW" -p "$tp" -d 20 --json -o "$d/ev"
	if kill -0 "$tp" 2>/dev/null; then echo alive; else echo gone; fi >"$d/target.after"
	wait "$tp"
	echo $? >"$d/target.status"
}

# binary_wide TAG I: -b on the PIE racy, a racy process started under it,
# gomapwatch stopped by SIGINT after the process is gone
binary_wide() {
	d=/out/$1/binary-pie/$2
	mkdir -p "$d"
	"$GMW" -b "/fx/$1/racy.arm64.pie" --json -o "$d/ev" >"$d/gmw.out" 2>"$d/err" &
	gp=$!
	wait_for "$d/err" '^gomapwatch: watching every process'
	timeout -s KILL "$LIMIT" "/fx/$1/racy.arm64.pie" >"$d/out" 2>"$d/racy.err"
	echo $? >"$d/racy.status"
	kill -INT "$gp"
	wait "$gp"
	echo $? >"$d/status"
	conflicts=$(grep -c '"type":"conflict"' "$d/ev" 2>/dev/null)
	echo "gmw-arm64: ${d#/out/} status $(cat "$d/status") conflicts ${conflicts:-0}"
}

# extra TAG: racy and locked as on a kernel without attach cookies (one
# program per cookie value), and --max-overhead, which times a hit first
extra() {
	o=/out/$1
	i=1
	while [ $i -le "$RUNS" ]; do
		GOMAPWATCH_DISABLE_FEATURES=attach_cookie,uprobe_multi \
			run "$o/nocookie-racy/$i" "$GMW" --json -o "$o/nocookie-racy/$i/ev" -d 60 -- "/fx/$1/racy.arm64"
		i=$((i + 1))
	done
	GOMAPWATCH_DISABLE_FEATURES=attach_cookie,uprobe_multi \
		run "$o/nocookie-locked/1" "$GMW" --json -o "$o/nocookie-locked/1/ev" -- "/fx/$1/locked.arm64" -seconds 5
	i=1
	while [ $i -le "$RUNS" ]; do
		binary_wide "$1" $i
		i=$((i + 1))
	done
	run "$o/budget/1" "$GMW" -v --max-overhead 5 --json -o "$o/budget/1/ev" -- "/fx/$1/locked.arm64" -seconds 5
}

mkdir -p /out
uname -a >/out/uname
"$GMW" inspect --kernel >/out/kernel.txt 2>&1
"$GMW" inspect --kernel --json >/out/kernel.json 2>&1
# an x86-64 binary here: refused by name
run /out/foreign/1 "$GMW" -d 1 -- /fx-x86/racy
for tag in $TAGS; do
	fx=/fx/$tag
	o=/out/$tag
	for b in racy.arm64 racy.arm64.stripped racy.arm64.pie locked.arm64 locked.arm64.pie; do
		"$GMW" inspect "$fx/$b" >"$o.inspect.$b.txt" 2>&1
		"$GMW" inspect --json "$fx/$b" >"$o.inspect.$b.json" 2>&1
	done
	for b in racy.arm64 racy.arm64.stripped racy.arm64.pie; do
		i=1
		while [ $i -le "$RUNS" ]; do
			run "$o/$b/$i" "$GMW" --json -o "$o/$b/$i/ev" -d 60 -- "$fx/$b"
			i=$((i + 1))
		done
	done
	run "$o/locked.arm64/1" "$GMW" --json -o "$o/locked.arm64/1/ev" -- "$fx/locked.arm64" -seconds 5
	run "$o/locked.arm64.pie/1" "$GMW" --reads --json -o "$o/locked.arm64.pie/1/ev" -- \
		"$fx/locked.arm64.pie" -seconds 5
	run "$o/fatal.arm64/1" "$GMW" --json -o "$o/fatal.arm64/1/ev" -- "$fx/fatal.arm64"
	# racy's report as a terminal shows it
	run "$o/racy-text/1" "$GMW" -d 60 -- "$fx/racy.arm64"
	attach "$tag"
	[ "$tag" != "$EXTRA" ] || extra "$tag"
done

echo "==gmw-out-begin=="
tar -cf - -C /out . | gzip -c | base64
echo "==gmw-out-end=="
poweroff -f
