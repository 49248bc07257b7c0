#!/usr/bin/env bash
# Build the tests' OpenTelemetry Collector (tests/otelcol: OTLP receiver,
# file exporter) into OUTDIR/otelcol. The first build fetches its modules
# through the Go module proxy; later ones are skipped while it is current.
# Usage: scripts/build-otelcol.sh OUTDIR
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/build-gomod.sh" "$here/../tests/otelcol" otelcol "$1"
