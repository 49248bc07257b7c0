#!/usr/bin/env bash
# Build the test fixtures into OUTDIR:
#   OUTDIR/<tag>/<prog>          every program in tests/go, per toolchain
#   OUTDIR/<tag>/racy.stripped   -ldflags="-s -w": no symtab, no DWARF
#   OUTDIR/<tag>/deepinline.stripped  the same (inlined frames from the
#                                pclntab's inline trees alone)
#   OUTDIR/<tag>/racy.pie        -buildmode=pie: needs the load bias
#   OUTDIR/<tag>/inlinetab.{stripped,pie}  the same for the inline tree's test
#   OUTDIR/<tag>/{racy,locked,inlinetab,fatal}.arm64, racy.arm64.stripped,
#                                {racy,locked}.arm64.pie  cross-built for arm64
#   OUTDIR/nomaps                C, see tests/go/nomaps/nomaps.c
#   OUTDIR/toolchains.txt        <tag> <version the toolchain reports>
# and the release matrix (tests/integration/matrix.sh), every release from
# go1.17 on (scripts/go-toolchains.sh --matrix):
#   OUTDIR/<tag>/{racy,locked,inlinetab}[.<mode>]  mode: stripped, pie,
#                                trimpath, and cgo (from racycgo, lockedcgo,
#                                inlinetabcgo: linked by the external linker)
#   OUTDIR/matrix.txt            <tag> <version> <hmap|swiss> <modes...>
# `make test` runs this every time, so outputs newer than their sources are
# kept. No -trimpath but in the .trimpath builds: the tests check the source
# paths in the binaries.
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
	# -L: the cgo fixtures' main.go are links to racy's and locked's
	[ ! -e "$o" ] || [ -n "$(find -L "$@" "$0" -newer "$o" -print -quit)" ]
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
		[[ $prog != *cgo ]] || continue # the matrix's, built below
		build "$go" "$tag" "$out/$tag/$prog" "$prog"
	done
	build "$go" "$tag" "$out/$tag/racy.stripped" racy -ldflags="-s -w"
	build "$go" "$tag" "$out/$tag/deepinline.stripped" deepinline -ldflags="-s -w"
	build "$go" "$tag" "$out/$tag/racy.pie" racy -buildmode=pie
	build "$go" "$tag" "$out/$tag/inlinetab.stripped" inlinetab -ldflags="-s -w"
	build "$go" "$tag" "$out/$tag/inlinetab.pie" inlinetab -buildmode=pie
	# arm64, cross-compiled: planned here (test_plan_arm64, test_inline),
	# run in the arm64 guest (tests/arm64)
	for p in racy locked inlinetab fatal; do
		GOARCH=arm64 build "$go" "$tag" "$out/$tag/$p.arm64" "$p"
	done
	GOARCH=arm64 build "$go" "$tag" "$out/$tag/racy.arm64.stripped" racy -ldflags="-s -w"
	GOARCH=arm64 build "$go" "$tag" "$out/$tag/racy.arm64.pie" racy -buildmode=pie
	GOARCH=arm64 build "$go" "$tag" "$out/$tag/locked.arm64.pie" locked -buildmode=pie
done <<<"$toolchains"
mv -f "$out/toolchains.txt.tmp.$$" "$out/toolchains.txt"

MODES="default stripped pie cgo trimpath"

# matrix_row TAG VERSION GO GOEXPERIMENT|-: racy and locked in every mode
matrix_row() {
	local tag=$1 version=$2 go=$3 stamp=$2 p
	export GOEXPERIMENT=${4#-}
	[ -z "$GOEXPERIMENT" ] || stamp="$version $GOEXPERIMENT"
	# go1.17 rejects -buildvcs (and has no VCS stamping to turn off)
	case $version in go1.17*) export GOFLAGS=-mod=mod ;; esac
	mkdir -p "$out/$tag"
	if [ "$(cat "$out/$tag/.version" 2>/dev/null)" != "$stamp" ]; then
		find "$out/$tag" -mindepth 1 -delete
		echo "$stamp" >"$out/$tag/.version"
	fi
	for p in racy locked inlinetab; do
		build "$go" "$tag" "$out/$tag/$p" "$p"
		build "$go" "$tag" "$out/$tag/$p.stripped" "$p" -ldflags="-s -w"
		build "$go" "$tag" "$out/$tag/$p.pie" "$p" -buildmode=pie
		build "$go" "$tag" "$out/$tag/$p.trimpath" "$p" -trimpath
		CGO_ENABLED=1 CC=${CC:-cc} build "$go" "$tag" "$out/$tag/$p.cgo" "${p}cgo" \
			-ldflags=-linkmode=external
	done
}

# Without network and nothing cached a developer still gets the core set;
# CI must have the matrix.
if ! rows=$("$root/scripts/go-toolchains.sh" --matrix); then
	[ "${CI:-}" != true ] || exit 1
	echo "build-fixtures: no release matrix (see above); matrix.sh will skip it" >&2
	rm -f "$out/matrix.txt"
	rows=
fi
# A row per core at a time: one toolchain links or waits on the disk while
# another compiles.
: >"$out/matrix.txt.tmp.$$"
jobs=0 failed=0
while read -r tag version layout go exp; do
	[ -n "$tag" ] || continue
	echo "$tag $version $layout $MODES" >>"$out/matrix.txt.tmp.$$"
	if [ "$jobs" -ge "$(nproc)" ]; then
		wait -n || failed=1
		jobs=$((jobs - 1))
	fi
	matrix_row "$tag" "$version" "$go" "$exp" </dev/null &
	jobs=$((jobs + 1))
done <<<"$rows"
for (( ; jobs > 0; jobs--)); do wait -n || failed=1; done
[ "$failed" -eq 0 ] || { rm -f "$out/matrix.txt.tmp.$$"; exit 1; }
if [ -n "$rows" ]; then
	mv -f "$out/matrix.txt.tmp.$$" "$out/matrix.txt"
else
	rm -f "$out/matrix.txt.tmp.$$"
fi

if stale "$out/nomaps" "$src/nomaps"; then
	echo "  CC       nomaps"
	"${CC:-cc}" -O2 -Wall -Wextra -o "$out/nomaps.tmp.$$" "$src/nomaps/nomaps.c"
	mv -f "$out/nomaps.tmp.$$" "$out/nomaps"
fi
