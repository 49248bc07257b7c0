#!/usr/bin/env bash
# Per-write probe cost, side by side in one run on the same binary:
#   plain         no tracing
#   emulated      entry on the stack-check jump, exit on the write-flag check
#   entry+RET     entry on the stack-check jump, exit on every RET
# Rounds are interleaved so machine noise hits all three alike; the medians
# are reported with the cost per write (traced - plain) and their ratio.
# Usage: bench/run.sh BUILDDIR [ROUNDS]
set -euo pipefail
build=$1
rounds=${2:-5}
gmw=$build/gomapwatch
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
nsop() { awk '$1 == "writes" { print $4 }'; }

while read -r tag _; do
	bin=$build/fixtures/$tag/mapbench
	: >/tmp/gmw-bench.plain; : >/tmp/gmw-bench.emul; : >/tmp/gmw-bench.ret
	for ((i = 0; i < rounds; i++)); do
		"$bin" | nsop >>/tmp/gmw-bench.plain
		"$gmw" -- "$bin" 2>/dev/null | nsop >>/tmp/gmw-bench.emul
		"$gmw" --exit-probes=ret -- "$bin" 2>/dev/null | nsop >>/tmp/gmw-bench.ret
	done
	plain=$(median </tmp/gmw-bench.plain)
	emul=$(median </tmp/gmw-bench.emul)
	ret=$(median </tmp/gmw-bench.ret)
	awk -v t="$tag" -v p="$plain" -v e="$emul" -v r="$ret" 'BEGIN {
		printf "%s  mapassign_fast64, median of rounds (ns per write):\n", t
		printf "  plain %.1f   emulated %.1f   entry+RET %.1f\n", p, e, r
		printf "  probe cost per write: emulated %.0f ns, entry+RET %.0f ns (%.1fx)\n",
			e - p, r - p, (r - p) / (e - p)
	}'
done <"$build/fixtures/toolchains.txt"
rm -f /tmp/gmw-bench.*
