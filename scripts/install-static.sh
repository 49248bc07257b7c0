#!/usr/bin/env bash
# What `make static` links against, on Debian 12, into OUTDIR:
#   the static archives of libbpf, libelf, libdw, capstone and zlib, and
#   those libdw.a needs (pkg-config --static --libs libdw: lzma, bz2):
#   installed from bookworm when missing, never upgrading a package
#   OUTDIR/libyyjson.a, OUTDIR/yyjson.h: Debian ships no static yyjson, so
#   it is compiled from Debian's own source package (trixie, as the
#   shared one in install-deps.sh), fetched once into the cache
# CC and DEB_HOST_ARCH choose the target (make arm64 cross-compiles).
# Idempotent: a second run installs, fetches and builds nothing. Installing
# needs root; with everything present it does not.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
cache=${GMW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gomapwatch}/yyjson

die() { echo "install-static: $*" >&2; exit 1; }

PKGS=(libbpf-dev libelf-dev libdw-dev libcapstone-dev zlib1g-dev liblzma-dev
      libbz2-dev libyyjson-dev dpkg-dev)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${PKGS[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; run as root to install them"
	# libyyjson-dev comes from trixie (scripts/install-deps.sh)
	[[ " ${missing[*]} " != *" libyyjson-dev "* ]] || die "run scripts/install-deps.sh first"
	# A package already on the host stays at its version: asked first
	# (a -dev package can want its runtime library upgraded), refused then.
	upgrades=$(apt-get install -s --no-upgrade "${missing[@]}" | sed -n 's/^Inst \([^ ]*\) \[.*/\1/p')
	[ -z "$upgrades" ] || die "installing ${missing[*]} would upgrade ${upgrades//$'\n'/ }; install them by hand"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade "${missing[@]}" >/dev/null
fi

# The source version of the shared library the dynamic build uses: the
# same yyjson.h either way.
version=$(dpkg-query -W -f='${source:Version}' libyyjson-dev)
# per target: CC may be a cross compiler (make arm64), with DEB_HOST_ARCH
# set for Debian's flags of that architecture
lib=$cache/$version/$("${CC:-cc}" -dumpmachine)

if [ ! -f "$lib/libyyjson.a" ]; then
	# The deb-src index, signed like the rest of the archive: apt checks
	# every file it fetches against the hashes it lists.
	srcs=/etc/apt/sources.list.d/gomapwatch-trixie-src.sources
	if ! apt-cache showsrc yyjson 2>/dev/null | grep -qx "Version: $version"; then
		[ "$(id -u)" -eq 0 ] || die "no deb-src entry for yyjson $version; run as root to add one"
		if [ ! -f "$srcs" ]; then
			cat >"$srcs" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		fi
		apt-get update -qq
		apt-cache showsrc yyjson | grep -qx "Version: $version" ||
			die "the archive no longer has the yyjson $version source; upgrade libyyjson-dev/trixie"
	fi

	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# apt drops root to _apt for downloads: let it write here
	! id _apt >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ] || chown _apt "$tmp"
	cd "$tmp"
	apt-get source --print-uris -qq "yyjson=$version" >uris
	orig=$(awk '$2 ~ /\.orig\.tar\./ { print $2 }' uris)
	[ -n "$orig" ] || die "no upstream tarball in the yyjson $version source: $(cat uris)"
	# A mirror may serve part of a source package: what arrives is
	# checked below, what is missing is dealt with there.
	apt-get source --download-only -qq "yyjson=$version" >/dev/null 2>&1 || true
	while read -r _ name _ sum; do
		[ -f "$name" ] || continue
		[ "$(sha256sum <"$name" | cut -d' ' -f1)" = "${sum#SHA256:}" ] ||
			die "$name does not match the signed index"
	done <uris
	[ -f "$orig" ] || die "could not fetch $orig (apt-get source yyjson=$version)"
	dsc=$(awk '$2 ~ /\.dsc$/ { print $2 }' uris)
	if [ -f "$dsc" ] && [ -n "$(compgen -G '*.debian.tar.*')" ]; then
		dpkg-source -q -x "$dsc" src >/dev/null
	else
		# Only the upstream tarball (a partial mirror): yyjson.c as released,
		# without whatever debian/patches the .debian.tar would add.
		echo "install-static: the archive served only $orig; building yyjson without Debian's packaging" >&2
		mkdir src
		tar -xf "$orig" -C src --strip-components=1
	fi
	if [ ! -f src/src/yyjson.c ] || [ ! -f src/src/yyjson.h ]; then
		die "no src/yyjson.{c,h} in the yyjson source"
	fi
	# Debian's own hardening and optimization flags, as its package is built
	flags=$(dpkg-buildflags --get CFLAGS)
	cppflags=$(dpkg-buildflags --get CPPFLAGS)
	echo "  CC       yyjson $version ($("${CC:-cc}" -dumpmachine))"
	# shellcheck disable=SC2086 # word splitting of the flag lists
	"${CC:-cc}" $cppflags $flags -c -o yyjson.o src/src/yyjson.c
	mkdir lib
	ar rcs lib/libyyjson.a yyjson.o
	cp src/src/yyjson.h lib/
	# in place at once: an interrupted run never leaves half a library
	mkdir -p "${lib%/*}"
	mv -T lib "$lib" 2>/dev/null || [ -f "$lib/libyyjson.a" ]
fi

# Copied only when different: make relinks (and recompiles against the
# header) only when the library really changed.
for f in libyyjson.a yyjson.h; do
	cmp -s "$lib/$f" "$out/$f" || cp "$lib/$f" "$out/$f"
done
