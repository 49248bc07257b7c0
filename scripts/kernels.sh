#!/usr/bin/env bash
# Fetch the kernels the VM matrix boots (tests/vm) into a cache directory
# and unpack them there; they are never installed as the host's kernel.
#   scripts/kernels.sh [CACHE]     (default $GMW_KERNEL_CACHE, else
#                                   /var/cache/gomapwatch/kernels)
# Prints one line per kernel: SERIES KERNEL-RELEASE VMLINUZ. Each series is
# the newest package apt knows of (no patch version is hard-coded: the
# archive drops old ABIs). Needs the apt sources of scripts/install-vm.sh.
# Exits non-zero if any kernel cannot be fetched.
set -euo pipefail

cache=${1:-${GMW_KERNEL_CACHE:-/var/cache/gomapwatch/kernels}}
# SERIES and the package names that carry it, newest chosen by version sort
SERIES=(
	'5.10 ^linux-image-5\.10\.0-[0-9]+-amd64$'
	'6.1 ^linux-image-6\.1\.0-[0-9]+-amd64$'
	'6.12 ^linux-image-6\.12\.[0-9]+\+deb13-amd64$'
)

log() { echo "kernels: $*" >&2; }

# newest REGEX: the newest package matching REGEX that has a candidate
newest() {
	local p
	for p in $(apt-cache pkgnames linux-image- | grep -E "$1" | sort -rV); do
		if [ -n "$(apt-cache madison "$p")" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# unpack PKG DIR: download PKG's .deb and unpack it into DIR/root, once;
# DIR/.done marks a complete unpack (an interrupted one is redone)
unpack() {
	local pkg=$1 dir=$2 deb
	[ -f "$dir/.done" ] && return 0
	rm -rf "$dir"
	mkdir -p "$dir"
	# apt's sandbox user writes the download: let it into the directory
	chown _apt "$dir" 2>/dev/null || true
	(cd "$dir" && apt-get download -qq "$pkg") >&2 || return 1
	deb=$(ls "$dir"/*.deb)
	dpkg-deb -x "$deb" "$dir/root"
	# trixie's packages keep modules under usr/lib/modules (merged /usr);
	# vng looks for lib/modules next to boot/
	if [ ! -e "$dir/root/lib" ] && [ -d "$dir/root/usr/lib/modules" ]; then
		ln -s usr/lib "$dir/root/lib"
	fi
	# the package leaves modules.dep to its postinst; vng's initramfs
	# needs it to find the virtio and 9p modules
	depmod -a -b "$dir/root" "${pkg#linux-image-}"
	rm -f "$deb"
	touch "$dir/.done"
}

mkdir -p "$cache"
fail=0
for s in "${SERIES[@]}"; do
	read -r series re <<<"$s"
	pkg=$(newest "$re") || {
		# the lists may be old or missing: refresh once and retry
		apt-get update -qq >&2 || true
		pkg=$(newest "$re")
	} || { log "$series: no package matching $re (scripts/install-vm.sh adds the sources)"; fail=1; continue; }
	kver=${pkg#linux-image-}
	if ! unpack "$pkg" "$cache/$kver"; then
		log "$series: cannot download $pkg"
		fail=1
		continue
	fi
	echo "$series $kver $cache/$kver/root/boot/vmlinuz-$kver"
	# an older ABI of the series, superseded: about 300 MB each
	for d in "$cache"/*; do
		[ "$d" = "$cache/$kver" ] || ! [[ linux-image-${d##*/} =~ $re ]] || rm -rf "$d"
	done
done
exit "$fail"
