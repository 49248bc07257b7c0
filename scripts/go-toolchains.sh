#!/usr/bin/env bash
# Print the Go toolchains the tests build fixtures with, one per line:
#   <tag> <path to its go binary>
# go1.19  Debian's golang-1.19: old map layout, goid at 152
# go1.23  go1.23.12 fetched by the go command: old map layout, goid at 160
# goX.Y   the machine's own go (swiss maps from 1.24 on)
# Fetched toolchains stay in the Go module cache, so later runs are offline.
set -euo pipefail

GO123=go1.23.12
# The toolchain each binary reports must be its own: never switch silently.
export GOTOOLCHAIN=local
unset GOROOT

die() { echo "go-toolchains: $*" >&2; exit 1; }

# The machine's go: on PATH, or where install-deps.sh may have left it.
local_go=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$local_go" ] || die "no go on PATH; run scripts/install-deps.sh"
local_go=$("$local_go" env GOROOT)/bin/go
local_tag=$("$local_go" env GOVERSION | sed -E 's/^(go[0-9]+\.[0-9]+).*/\1/')
[[ "$local_tag" =~ ^go[0-9]+\.[0-9]+$ ]] || die "cannot tell the version of $local_go"

go119=/usr/lib/go-1.19/bin/go
[ -x "$go119" ] || die "$go119 missing; apt-get install golang-1.19-go"

# GOTOOLCHAIN makes the go command download the release from the module
# proxy into the module cache and run it; its GOROOT is where it landed.
# Run from / so no go.mod or go.work can get in the way.
go123=$(cd / && GOTOOLCHAIN=$GO123 "$local_go" env GOROOT)/bin/go || true
if [ "$("$go123" env GOVERSION 2>/dev/null)" != "$GO123" ]; then
	# Debian's own 1.23 (bookworm-backports) has the same layout.
	go123=/usr/lib/go-1.23/bin/go
	[ -x "$go123" ] || die "cannot fetch $GO123 (module proxy unreachable?) and golang-1.23-go is not installed"
fi

echo "go1.19 $go119"
echo "go1.23 $go123"
case "$local_tag" in
go1.19 | go1.23)
	# install-deps.sh may have made Debian's 1.23 the machine's go.
	echo "go-toolchains: the machine's go is $local_tag: no swiss-map toolchain" >&2 ;;
*) echo "$local_tag $local_go" ;;
esac
