#!/usr/bin/env bash
# The kernel matrix: boot Debian's 5.10, 6.1 and 6.12 kernels under QEMU
# (virtme-ng, TCG: the host's KVM cannot run stock kernels), the host's root
# filesystem shared read-only, and run tests/vm/smoke.sh in each guest with
# this build as it is. Prints one line per kernel and check, then a table.
#   tests/vm/run.sh OUTDIR
# Environment: GMW (the gomapwatch binary), GMW_FIXTURES
# (scripts/build-fixtures.sh), GMW_KERNEL_CACHE (scripts/kernels.sh).
# A kernel that cannot be fetched or booted fails all its checks: the
# matrix exists to prove gomapwatch on each of them, so none is skipped.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${GMW:?set GMW to the gomapwatch binary}" "${GMW_FIXTURES:?set GMW_FIXTURES}"
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
CHECKS=(racy-conflict locked-no-conflict fatal-event attach-detach refusal-named)
# A whole guest: boot (~30 s under TCG) and the smoke set, with room to
# spare on a loaded machine; smoke.sh times out each check on its own.
BOOT_TIMEOUT=${GMW_VM_TIMEOUT:-900}

die() { echo "vm: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (uprobes and BPF in the guest, the kernel cache)"
command -v vng >/dev/null || die "vng missing: scripts/install-vm.sh installs it"
# The newest toolchain's fixtures, as the host's lifecycle tests use.
tag=$(tail -n 1 "$GMW_FIXTURES/toolchains.txt" | cut -d' ' -f1)
fx=$GMW_FIXTURES/$tag
[ -x "$fx/racy" ] || die "no fixtures in $fx"

# vng's guest init waits for udev to name the virtio serial ports
# (/dev/virtio-ports/virtme.*) its --exec I/O goes through; this host has
# no udevd, so the init says "cannot find script I/O ports" and every
# command fails. A copy of the installed init makes the links itself, from
# the names the kernel gives the ports in sysfs. The guest sees it through
# the shared root filesystem.
make_init() {
	local py src
	# the Python vng runs with, which has its modules (not pyenv's)
	py=$(sed -n '1s/^#! *//p' "$(command -v vng)")
	src=$($py -c 'import virtme.resources as r; print(r.find_guest_tools())')/virtme-init
	[ -f "$src" ] || die "no virtme-init in vng's guest tools ($src)"
	sed '/^user_cmd=\$(sed/i\
# no udevd: name the virtio ports as its rules would (gomapwatch tests/vm)\
for p in /sys/class/virtio-ports/vport*; do\
    [[ -r $p/name ]] || continue\
    mkdir -p /dev/virtio-ports\
    ln -sf "../${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"\
done\
' "$src" >"$out/virtme-init"
	# vng changed its init: the insertion point is gone, fail loudly
	grep -q 'gomapwatch tests/vm' "$out/virtme-init" ||
		die "cannot patch $src: no 'user_cmd=\$(sed' line"
	chmod 755 "$out/virtme-init"
}

# boot SERIES KVER VMLINUZ: the smoke set in a guest of that kernel; its
# results land in $out/SERIES (the guest's only writable host directory).
boot() {
	local series=$1 kver=$2 vmlinuz=$3 res=$out/$1 t0 st=0
	rm -rf "$res"
	mkdir -p "$res"
	echo "$kver" >"$res/kver"
	t0=$(date +%s)
	# from /: vng checks that the --rwdir exists in the guest by its path
	# relative to the root, resolved against the current directory
	(cd / && timeout -k 10 "$BOOT_TIMEOUT" vng --disable-kvm --force-9p -m 2G -p 2 \
		--run "$vmlinuz" --append "init=$out/virtme-init" --rwdir="$res" \
		--exec "bash $here/smoke.sh $GMW $fx $res") </dev/null >"$res/console.log" 2>&1 || st=$?
	echo "$(($(date +%s) - t0))" >"$res/seconds"
	[ "$st" -eq 0 ] || echo "vng exited $st" >>"$res/console.log"
}

# result SERIES CHECK: PASS or FAIL; a check with no result (the guest did
# not boot, or died) is a failure
result() {
	local r
	r=$(awk -v c="$2" '$1 == c { print $2 }' "$out/$1/results" 2>/dev/null)
	echo "${r:-FAIL}"
}

make_init
t_start=$(date +%s)
# Fetching is part of the matrix: a kernel apt no longer has is a failure.
"$root/scripts/kernels.sh" >"$out/kernels.txt" || true
series_all=(5.10 6.1 6.12)
for series in "${series_all[@]}"; do
	read -r _ kver vmlinuz < <(awk -v s="$series" '$1 == s' "$out/kernels.txt") || true
	if [ -z "${vmlinuz:-}" ] || [ ! -f "$vmlinuz" ]; then
		rm -rf "${out:?}/$series"
		mkdir -p "$out/$series"
		echo "not fetched" >"$out/$series/kver"
		echo "kernel $series could not be fetched (scripts/kernels.sh)" >"$out/$series/console.log"
		continue
	fi
	echo "--- $series: booting $kver"
	boot "$series" "$kver" "$vmlinuz"
	kver='' vmlinuz=''
done

fail=0
echo
for series in "${series_all[@]}"; do
	for c in "${CHECKS[@]}"; do
		r=$(result "$series" "$c")
		printf '%-4s  %-5s %-24s %s\n' "$r" "$series" "$(cat "$out/$series/kver")" "$c"
		if [ "$r" != PASS ]; then
			fail=$((fail + 1))
			# the check's own log, else why the guest gave none
			if [ -f "$out/$series/$c.log" ]; then
				tail -15 "$out/$series/$c.log"
			else
				tail -5 "$out/$series/console.log"
			fi | sed 's/^/      | /'
		fi
	done
done

# kernel x check table, with what each kernel reported of itself
echo
printf '%-26s' kernel
printf ' %-19s' "${CHECKS[@]}"
printf ' %s\n' seconds
for series in "${series_all[@]}"; do
	printf '%-26s' "$series $(cat "$out/$series/kver")"
	for c in "${CHECKS[@]}"; do
		printf ' %-19s' "$(result "$series" "$c")"
	done
	printf ' %s\n' "$(cat "$out/$series/seconds" 2>/dev/null || echo -)"
done
for series in "${series_all[@]}"; do
	[ -s "$out/$series/features" ] && sed "s/^/  $series: /" "$out/$series/features"
done
echo "kernel matrix: $fail failed checks, $(($(date +%s) - t_start)) s (results in $out)"
[ "$fail" -eq 0 ]
