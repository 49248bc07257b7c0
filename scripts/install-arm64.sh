#!/usr/bin/env bash
# What `make arm64` and `make arm64-test` need on an x86-64 Debian 12 host:
#   the host's packages: gcc-aarch64-linux-gnu and libc6-dev-arm64-cross
#     (the cross compiler and an arm64 libc), qemu-system-arm (the arm64
#     guest) and cpio (its initramfs); installed when missing, never
#     upgrading a package
#   an arm64 sysroot in CACHE/sysroot: the static archives and headers of
#     libbpf, libelf, libdw, capstone and what they link (zlib, lzma, bz2,
#     zstd), busybox-static, and Debian's arm64 6.1 and 6.12 kernels
#     (bookworm's, trixie's), downloaded with an apt state of its own
#     (CACHE/apt) and unpacked with dpkg-deb: the host's dpkg never hears
#     of an arm64 package
# CACHE is $GMW_ARM64_CACHE, else /var/cache/gomapwatch/arm64. Prints
# "sysroot DIR" and "kernel SERIES VERSION IMAGE" per kernel. Idempotent:
# a second run downloads nothing. Run as root.
set -euo pipefail

cache=${GMW_ARM64_CACHE:-/var/cache/gomapwatch/arm64}
HOST_PKGS=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm cpio)
# the -dev packages hold the static archives, .pc files and headers
ARM64_PKGS=(libbpf-dev libelf-dev libdw-dev libcapstone-dev zlib1g-dev liblzma-dev
	    libbz2-dev libzstd-dev busybox-static)
# SERIES and the packages that carry it (the newest by version sort):
# bookworm's 6.1 (attach cookies, no uprobe_multi) and trixie's 6.12 (both)
KERNELS=(
	'6.1 ^linux-image-6\.1\.0-[0-9]+-arm64$'
	'6.12 ^linux-image-6\.12\.[0-9]+\+deb13-arm64$'
)

die() { echo "install-arm64: $*" >&2; exit 1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

host_packages() {
	local missing=() p upgrades
	for p in "${HOST_PKGS[@]}"; do
		installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	[ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; run as root to install them"
	export DEBIAN_FRONTEND=noninteractive
	# "Inst NAME [OLD] (NEW ...)": an installed package would be replaced
	upgrades=$(apt-get -s install -y --no-install-recommends "${missing[@]}" |
		awk '$1 == "Inst" && $3 ~ /^\[/ { print $2 }')
	[ -z "$upgrades" ] || die "refusing, installing ${missing[*]} would upgrade: ${upgrades//$'\n'/ }"
	apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# An apt of our own for arm64: its own lists, cache and (empty) status,
# bookworm's sources only, the archive's keyring.
apt_config() {
	local a=$cache/apt
	mkdir -p "$a/lists/partial" "$a/archives/partial" "$a/etc/apt.conf.d" "$a/etc/preferences.d" \
		"$a/etc/sources.list.d"
	touch "$a/status"
	cat >"$a/etc/sources.list" <<-'SRC'
	deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
	deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
	deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
	deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
	SRC
	# trixie only for what bookworm lacks (its kernel)
	printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' >"$a/etc/preferences.d/trixie"
	cat >"$a/apt.conf" <<-CONF
	APT::Architecture "arm64";
	APT::Architectures { "arm64"; };
	Dir::State "$a";
	Dir::State::lists "$a/lists";
	Dir::State::status "$a/status";
	Dir::Cache "$a";
	Dir::Cache::archives "$a/archives";
	Dir::Etc "$a/etc";
	Dir::Etc::sourcelist "$a/etc/sources.list";
	Dir::Etc::sourceparts "$a/etc/sources.list.d";
	Dir::Etc::parts "$a/etc/apt.conf.d";
	Dir::Etc::preferencesparts "$a/etc/preferences.d";
	Acquire::Languages "none";
	CONF
	export APT_CONFIG=$a/apt.conf
	# apt drops root to _apt for downloads
	! id _apt >/dev/null 2>&1 || chown -R _apt "$a/lists" "$a/archives"
}

# newest_kernel REGEX: the newest arm64 image package matching REGEX
newest_kernel() {
	apt-cache pkgnames linux-image-6. | { grep -E "$1" || true; } | sort -rV | sed -n 1p
}

# unpack PKG...: download and unpack into the sysroot the packages not
# unpacked yet at their candidate version
unpack() {
	local p v deb
	mkdir -p "$cache/sysroot" "$cache/unpacked"
	for p in "$@"; do
		v=$(apt-cache policy "$p" | awk '$1 == "Candidate:" { print $2 }')
		[ -n "$v" ] && [ "$v" != "(none)" ] || die "no arm64 package $p in bookworm"
		[ "$(cat "$cache/unpacked/$p" 2>/dev/null)" != "$v" ] || continue
		(cd "$cache/apt/archives" && apt-get download -qq "$p=$v") >&2 ||
			die "cannot download $p $v"
		deb=$(ls "$cache/apt/archives/${p}_"*"_arm64.deb" | sed -n 1p)
		dpkg-deb -x "$deb" "$cache/sysroot"
		rm -f "$deb"
		# the guest boots the image alone: no modules (~400 MB)
		rm -rf "$cache/sysroot/lib/modules" "$cache/sysroot/usr/lib/modules"
		echo "$v" >"$cache/unpacked/$p"
	done
}

host_packages
[ "$(id -u)" -eq 0 ] || [ -f "$cache/.done" ] || die "the arm64 sysroot needs root to fetch; run as root"
apt_config
# the lists: once per set of sources, and again when a kernel is not found
if ! cmp -s "$cache/apt/etc/sources.list" "$cache/apt/sources.updated"; then
	apt-get update -qq
	cp "$cache/apt/etc/sources.list" "$cache/apt/sources.updated"
fi
kernels=()
for k in "${KERNELS[@]}"; do
	read -r series re <<<"$k"
	pkg=$(newest_kernel "$re")
	if [ -z "$pkg" ] || [ -z "$(apt-cache madison "$pkg")" ]; then
		apt-get update -qq
		pkg=$(newest_kernel "$re")
	fi
	[ -n "$pkg" ] || die "no package matching $re in bookworm or trixie"
	kernels+=("$series $pkg")
done
pkgs=("${ARM64_PKGS[@]}")
for k in "${kernels[@]}"; do
	pkgs+=("${k#* }")
done
if ! unpack "${pkgs[@]}" 2>"$cache/unpack.err"; then
	# old lists name versions the archive dropped: refresh once
	apt-get update -qq
	unpack "${pkgs[@]}"
fi
images=()
echo "sysroot $cache/sysroot"
for k in "${kernels[@]}"; do
	kver=${k#* linux-image-}
	image=$cache/sysroot/boot/vmlinuz-$kver
	[ -f "$image" ] || die "linux-image-$kver has no /boot/vmlinuz-$kver"
	images+=("$image")
	echo "kernel ${k%% *} $kver $image"
done
# older kernel ABIs, superseded
for f in "$cache"/sysroot/boot/vmlinuz-*; do
	[[ " ${images[*]} " == *" $f "* ]] || rm -f "$f"
done
touch "$cache/.done"
