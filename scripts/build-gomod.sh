#!/usr/bin/env bash
# Build a test tool that is its own Go module (tests/otelcol, tests/k8scheck)
# into OUTDIR/NAME. Its go.mod and go.sum are committed: a fresh machine
# fetches exactly those versions through the Go module proxy, nothing else.
# A binary newer than the module's sources (and this script) is kept.
# Usage: scripts/build-gomod.sh MODDIR NAME OUTDIR
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 MODDIR NAME OUTDIR" >&2; exit 2; }
src=$(cd "$1" && pwd)
name=$2
mkdir -p "$3"
out=$(cd "$3" && pwd)/$name

# The machine's own Go, never a toolchain go.mod would ask for; go.mod and
# go.sum as committed (readonly: a build never rewrites the tree); no VCS
# stamping (the tree may be a tarball, or owned by another user); no
# go.work above the module.
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off
unset GOROOT
go=$(command -v go || echo /usr/local/go/bin/go)

# stale: the binary is missing or older than a source or this script
stale() {
	[ ! -e "$out" ] ||
		[ -n "$(find "$src" "$0" "${BASH_SOURCE[0]}" -newer "$out" -type f -print -quit)" ]
}

# need_go: say which Go the module wants when the machine's is older,
# rather than leave it to a compile error deep in a dependency
need_go() {
	local want have
	want=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$src/go.mod")
	have=$("$go" env GOVERSION)
	have=${have#go}
	[ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n 1)" = "$want" ] || {
		echo "build-gomod: $name needs Go $want, $go is $have" >&2
		exit 1
	}
}

stale || exit 0
need_go
echo "  GO       $name"
# through a temporary file: an interrupted build leaves no complete-looking
# binary behind
(cd "$src" && "$go" build -ldflags="-s -w" -o "$out.tmp.$$" .)
mv -f "$out.tmp.$$" "$out"
