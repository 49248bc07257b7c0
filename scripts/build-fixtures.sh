#!/usr/bin/env bash
# Build the test fixtures into OUTDIR:
#   OUTDIR/<tag>/<prog>          every program in tests/go, per toolchain
#   OUTDIR/<tag>/racy.stripped   -ldflags="-s -w": no symtab, no DWARF
#   OUTDIR/<tag>/racy.pie        -buildmode=pie: needs the load bias
#   OUTDIR/nomaps                C, see tests/go/nomaps/nomaps.c
#   OUTDIR/toolchains.txt        <tag> <version the toolchain reports>
# `make test` runs this every time, so outputs newer than their sources are
# kept. No -trimpath: the tests check the source paths in the binaries.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/tests/go
mkdir -p "$1"
out=$(cd "$1" && pwd)

# Each toolchain builds with itself only; no VCS stamping (the tree may
# be a tarball, or owned by another user).
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
unset GOROOT

toolchains=$("$root/scripts/go-toolchains.sh")

# stale OUTPUT SOURCE...: OUTPUT is missing or older than a source (or than
# this script, whose flags shape every output).
stale() {
	local o=$1
	shift
	[ ! -e "$o" ] || [ -n "$(find "$@" "$0" -newer "$o" -print -quit)" ]
}

# build GO TAG OUTPUT PROG [FLAGS...]: write through a temporary file of our
# own, so an interrupted build never leaves a complete-looking output behind
# and two runs at once do not clash.
build() {
	local go=$1 tag=$2 o=$3 prog=$4
	shift 4
	stale "$o" "$src/go.mod" "$src/$prog" "$src/internal" || return 0
	echo "  GO       $tag/${o##*/}"
	(cd "$src" && "$go" build "$@" -o "$o.tmp.$$" "./$prog")
	mv -f "$o.tmp.$$" "$o"
}

: >"$out/toolchains.txt.tmp.$$"
while read -r tag go; do
	version=$("$go" env GOVERSION)
	echo "$tag $version" >>"$out/toolchains.txt.tmp.$$"
	mkdir -p "$out/$tag"
	# Same tag, new release (the machine's go was upgraded): rebuild all.
	if [ "$(cat "$out/$tag/.version" 2>/dev/null)" != "$version" ]; then
		find "$out/$tag" -mindepth 1 -delete
		echo "$version" >"$out/$tag/.version"
	fi
	for dir in "$src"/*/; do
		prog=$(basename "$dir")
		compgen -G "$dir*.go" >/dev/null || continue
		build "$go" "$tag" "$out/$tag/$prog" "$prog"
	done
	build "$go" "$tag" "$out/$tag/racy.stripped" racy -ldflags="-s -w"
	build "$go" "$tag" "$out/$tag/racy.pie" racy -buildmode=pie
done <<<"$toolchains"
mv -f "$out/toolchains.txt.tmp.$$" "$out/toolchains.txt"

if stale "$out/nomaps" "$src/nomaps"; then
	echo "  CC       nomaps"
	"${CC:-cc}" -O2 -Wall -Wextra -o "$out/nomaps.tmp.$$" "$src/nomaps/nomaps.c"
	mv -f "$out/nomaps.tmp.$$" "$out/nomaps"
fi
