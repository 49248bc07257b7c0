#!/usr/bin/env bash
# make demo: run examples/racy-service, a service with a map write race,
# under gomapwatch. Usage: demo.sh BUILDDIR (holding the gomapwatch binary).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILDDIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
gmw=$build/gomapwatch
[ -x "$gmw" ] || { echo "demo: $gmw missing; run make first" >&2; exit 1; }

go=$(command -v go || echo /usr/local/go/bin/go)
mkdir -p "$build/example"
(cd "$root/examples/racy-service" &&
	GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" \
		"$go" build -o "$build/example/racy-service" .)

echo "demo: racy-service's handlers share a map, one skips the lock; gomapwatch names" \
	"both goroutines of each collision, then the runtime usually kills the service (expected)."
status=0
"$gmw" -d 15 -- "$build/example/racy-service" || status=$?
# gomapwatch exits with the service's status: 0 if it served its 10s,
# 2 if the runtime killed it. Anything else is gomapwatch's own failure.
case $status in
0 | 2) exit 0 ;;
*) echo "demo: gomapwatch exited with status $status" >&2; exit "$status" ;;
esac
