#!/usr/bin/env bash
# gen-man.sh GOMAPWATCH OUT: the manual page gomapwatch(8), made by help2man
# from --help and --version, with scripts/gomapwatch.h2m's sections. The
# EXAMPLES block of --help is set as it is printed (one command per line,
# comments aligned) instead of being filled into a paragraph.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 GOMAPWATCH OUT" >&2; exit 2; }
gmw=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)

examples() {
	"$gmw" --help | awk '/^EXAMPLES:/ { on = 1; next } on && /^$/ { exit } on' |
		sed -e 's/\\/\\e/g' -e 's/^ *//' -e 's/-/\\-/g'
}

help2man -N -s 8 -S gomapwatch -m "System Administration Utilities" \
	-n "catch concurrent Go map writes in a live process" \
	-i "$here/gomapwatch.h2m" -o "$out.tmp" "$gmw"
# help2man's rendering of the block: from its heading to the next paragraph
awk -v ex="$(examples)" '
	/^\.SS "EXAMPLES:"/ { print ".SS EXAMPLES"; print ".nf"; print ex; print ".fi"; skip = 1; next }
	skip && /^\.PP/ { skip = 0 }
	!skip' "$out.tmp" >"$out.tmp2"
grep -q '^\.SS EXAMPLES' "$out.tmp2" || { echo "$0: no EXAMPLES in --help" >&2; exit 1; }
rm -f "$out.tmp"
mv -f "$out.tmp2" "$out"
