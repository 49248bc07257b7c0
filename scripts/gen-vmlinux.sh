#!/usr/bin/env bash
# Regenerate vmlinux/<arch>/vmlinux.h from a kernel's BTF.
#   scripts/gen-vmlinux.sh               the running kernel (/sys/kernel/btf/vmlinux)
#   scripts/gen-vmlinux.sh arm64         Debian's newest arm64 kernel package, fetched
#                                        by apt-get into a private state directory:
#                                        dpkg's architectures are left alone
#   scripts/gen-vmlinux.sh arm64 FILE    that kernel instead: a linux-image .deb, an
#                                        arm64 Image (vmlinuz), an ELF vmlinux, raw BTF
# A foreign kernel's BTF is found inside its Image by the BTF header, whose
# section lengths say where it ends; bpftool then checks every type in it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
host=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
arch=${1:-$host}
kernel=${2:-}

die() { echo "gen-vmlinux: $*" >&2; exit 1; }

case $arch in
x86) debarch=amd64 ;;
arm64) debarch=arm64 ;;
*) die "unknown architecture '$arch' (x86, arm64)" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# apt-get with its own lists and cache, for one architecture only.
apt_opts=(-o "APT::Architecture=$debarch" -o "APT::Architectures::=$debarch"
	  -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache"
	  -o "Dir::State::status=/dev/null" -o "APT::Sandbox::User=root")

# fetch_kernel: download the newest linux-image-<debarch> kernel; print the
# .deb's path and record its name in $tmp/from.
fetch_kernel() {
	local meta=linux-image-$debarch ver pkg
	mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/deb"
	apt-get "${apt_opts[@]}" -qq update >&2
	ver=$(apt-cache "${apt_opts[@]}" madison "$meta" |
		awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -V | tail -n 1)
	[ -n "$ver" ] || die "no $meta package in the configured apt sources"
	pkg=$(apt-cache "${apt_opts[@]}" depends "$meta=$ver" |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	[ -n "$pkg" ] || die "$meta $ver depends on no kernel image"
	# the unsigned image is the same kernel without the EFI signature
	if apt-cache "${apt_opts[@]}" show "$pkg-unsigned" >/dev/null 2>&1; then
		pkg=$pkg-unsigned
	fi
	(cd "$tmp/deb" && apt-get "${apt_opts[@]}" -qq download "$pkg" >&2)
	echo "Debian $pkg ($ver)" >"$tmp/from"
	ls "$tmp"/deb/*.deb
}

# btf_in_image IMAGE OUT: copy the BTF blob out of a raw kernel Image. Its
# header: magic 0xeb9f, version 1, flags, hdr_len 24, then type_off,
# type_len, str_off, str_len; the types come first, the strings right after.
btf_in_image() {
	local img=$1 out=$2 at hdr size
	for at in $(LC_ALL=C grep -obUaP '\x9f\xeb\x01\x00\x18\x00\x00\x00' "$img" | cut -d: -f1); do
		read -r -a hdr <<<"$(od -An -t u4 -j $((at + 8)) -N 16 "$img")"
		[ "${hdr[0]}" -eq 0 ] && [ "${hdr[2]}" -eq "${hdr[1]}" ] || continue
		size=$((24 + hdr[2] + hdr[3]))
		tail -c +$((at + 1)) "$img" | head -c "$size" >"$out"
		return 0
	done
	die "$img: no BTF in it (a kernel built without CONFIG_DEBUG_INFO_BTF?)"
}

# btf_of FILE: a file bpftool can read BTF from.
btf_of() {
	local f=$1 magic
	case $f in *.deb)
		dpkg-deb --fsys-tarfile "$f" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
		f=$(ls "$tmp"/boot/vmlinuz-*) ;;
	esac
	magic=$(head -c 4 "$f" | od -An -t x1 | tr -d ' \n')
	case $magic in
	7f454c46 | 9feb0100) echo "$f" ;;	# ELF vmlinux, raw BTF
	1f8b*)
		gunzip -c "$f" >"$tmp/Image"
		btf_in_image "$tmp/Image" "$tmp/btf" && echo "$tmp/btf" ;;
	*)
		# arm64 Image: "ARM\x64" at byte 56
		[ "$(tail -c +57 "$f" | head -c 4 | od -An -t x1 | tr -d ' \n')" = 41524d64 ] ||
			die "$f: not an ELF vmlinux, raw BTF or arm64 Image"
		btf_in_image "$f" "$tmp/btf" && echo "$tmp/btf" ;;
	esac
}

out=$root/vmlinux/$arch/vmlinux.h
mkdir -p "$root/vmlinux/$arch"
if [ -z "$kernel" ] && [ "$arch" = "$host" ] && [ -r /sys/kernel/btf/vmlinux ]; then
	bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$tmp/vmlinux.h"
else
	[ -n "$kernel" ] || kernel=$(fetch_kernel)
	[ -e "$tmp/from" ] || echo "${kernel##*/}" >"$tmp/from"
	btf=$(btf_of "$kernel")
	{
		echo "/* BTF of $(cat "$tmp/from"), by scripts/gen-vmlinux.sh $arch */"
		bpftool btf dump file "$btf" format c
	} >"$tmp/vmlinux.h"
fi
mv -f "$tmp/vmlinux.h" "$out"
echo "wrote vmlinux/$arch/vmlinux.h"
