#!/usr/bin/env bash
# Build a large real Go server for measuring gomapwatch's start-up: caddy
# with its standard modules, default flags (symbols and compressed DWARF),
# about 80 MB. Sources come from the Go module proxy into the module cache
# on the first run; later runs build offline.
#   OUTDIR/caddy        the binary
#   OUTDIR/server       runs it as a server that stays up (bench/attach.sh's
#                       target): loopback port $GMW_LARGE_PORT (18089), its
#                       state under OUTDIR/caddy-home
#   OUTDIR/caddy-src/   the main module (generated: main.go, go.mod, go.sum)
# Usage: scripts/build-large.sh OUTDIR
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
CADDY=github.com/caddyserver/caddy/v2
CADDY_VERSION=v2.11.9
mkdir -p "$1/caddy-src"
out=$(cd "$1" && pwd)
src=$out/caddy-src
go=$(command -v go || echo /usr/local/go/bin/go)
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
unset GOROOT

# server: exec, so that the pid it was started as is caddy's
cat >"$out/server.tmp.$$" <<'SH'
#!/bin/sh
dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/caddy-home"
cat >"$dir/caddy-home/Caddyfile" <<CADDY
{
	admin off
	auto_https off
	persist_config off
}
http://127.0.0.1:${GMW_LARGE_PORT:-18089} {
	respond "ok"
}
CADDY
export HOME="$dir/caddy-home" XDG_DATA_HOME="$dir/caddy-home" XDG_CONFIG_HOME="$dir/caddy-home"
exec "$dir/caddy" run --config "$dir/caddy-home/Caddyfile" --adapter caddyfile "$@"
SH
chmod +x "$out/server.tmp.$$"
mv -f "$out/server.tmp.$$" "$out/server"

stamp="$CADDY@$CADDY_VERSION $("$go" env GOVERSION)"
if [ -x "$out/caddy" ] && [ "$(cat "$out/caddy.stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi
cat >"$src/main.go" <<'GO'
// caddy as its own cmd/caddy builds it: every standard module linked in.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
GO
rm -f "$src/go.mod" "$src/go.sum"
echo "  GO       caddy $CADDY_VERSION (first run: fetches its modules)"
(
	cd "$src"
	"$go" mod init gomapwatch/large >/dev/null 2>&1
	"$go" get "$CADDY@$CADDY_VERSION" >/dev/null 2>&1 ||
		"$go" get "$CADDY@$CADDY_VERSION"
	"$go" mod tidy >/dev/null 2>&1 || "$go" mod tidy
	"$go" build -o "$out/caddy.tmp.$$" .
)
mv -f "$out/caddy.tmp.$$" "$out/caddy"
echo "$stamp" >"$out/caddy.stamp"
size=$(stat -c %s "$out/caddy")
echo "  caddy    $((size / 1000000)) MB, $(readelf -S -W "$out/caddy" | grep -c ' \.debug_') DWARF sections"
[ "$size" -ge 60000000 ] || echo "build-large: caddy is only $size bytes" >&2
