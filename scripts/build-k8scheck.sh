#!/usr/bin/env bash
# Build the Kubernetes manifest checker (tests/k8scheck) into OUTDIR/k8scheck.
# The first build fetches its modules through the Go module proxy; later
# ones are skipped while it is current.
# Usage: scripts/build-k8scheck.sh OUTDIR
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/build-gomod.sh" "$here/../tests/k8scheck" k8scheck "$1"
