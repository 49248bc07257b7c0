#!/usr/bin/env bash
# Seed corpora for the libFuzzer targets (tests/fuzz), cut from the fixtures
# of every release in the matrix: fuzz-seeds.sh FIXTURES OUT.
#   OUT/buildinfo  the .go.buildinfo sections
#   OUT/pclntab    the .gopclntab sections (and one with Go 1.2-1.15's magic)
#   OUT/elf        whole stripped, PIE and arm64 binaries
#   OUT/plan       map function bodies, behind fuzz_plan.c's selector byte
# Generated each time from what the fixtures hold; never committed.
set -euo pipefail

fx=$1 out=$2
objcopy=${OBJCOPY:-llvm-objcopy}
nm=${NM:-llvm-nm}
readelf=${READELF:-llvm-readelf}
mkdir -p "$out"/{buildinfo,pclntab,elf,plan}

# Must match fuzz_plan.c: its hosts and its function list, in order.
hosts=(go1.23/racy go1.26/racy go1.23/racy.arm64 go1.26/racy.arm64)
fns=(runtime.mapassign runtime.mapassign_fast32 runtime.mapassign_fast64
     runtime.mapassign_faststr runtime.mapdelete runtime.mapdelete_fast64
     runtime.mapclear runtime.mapaccess1_fast64 runtime.mapiternext)

section() {	# section() FILE NAME OUT: its bytes, if it has it
	"$objcopy" -O binary --only-section="$2" "$1" "$3.tmp" 2>/dev/null &&
		[ -s "$3.tmp" ] && mv "$3.tmp" "$3" || rm -f "$3.tmp"
}

# sym FILE NAME: "vaddr size" of a function symbol (hex); nm run once a file
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sym() {
	local c=$tmp/${1//\//_}
	[ -f "$c" ] || "$nm" -S "$1" >"$c" 2>/dev/null || true
	awk -v n="$2" '$4 == n && ($3 == "T" || $3 == "t") && !f { print $1, $2; f = 1 }' "$c"
}

# body FILE NAME OUT SELECTOR: the selector byte, then the function's code
body() {
	local s vaddr size text toff
	s=$(sym "$1" "$2")
	[ -n "$s" ] || return 0
	read -r vaddr size <<<"$s"
	read -r text toff < <("$readelf" -SW "$1" | awk '!f { for (i = 1; i < NF; i++) if ($i == ".text") { print $(i + 2), $(i + 3); f = 1 } }')
	printf "\\x$(printf %02x "$4")" >"$3"
	dd if="$1" bs=1M iflag=skip_bytes,count_bytes status=none \
		skip=$((0x$vaddr - 0x$text + 0x$toff)) count=$((0x$size)) >>"$3"
}

# index of function NAME in host H's list (functions it lacks left out)
declare -A fnidx
for h in "${!hosts[@]}"; do
	[ -f "$fx/${hosts[$h]}" ] || { echo "fuzz-seeds: no $fx/${hosts[$h]}" >&2; exit 1; }
	k=0
	for f in "${fns[@]}"; do
		[ -n "$(sym "$fx/${hosts[$h]}" "$f")" ] || continue
		fnidx[$h,$f]=$k
		k=$((k + 1))
	done
done

for d in "$fx"/go1.*; do
	tag=${d##*/} layout=hmap
	minor=${tag#go1.}
	minor=${minor%%[.-]*}
	[ "$minor" -ge 24 ] && [ "${tag%-noswiss}" = "$tag" ] && layout=swiss
	for b in racy racy.pie racy.arm64; do
		[ -f "$d/$b" ] || continue
		section "$d/$b" .go.buildinfo "$out/buildinfo/$tag.$b"
		section "$d/$b" .gopclntab "$out/pclntab/$tag.$b"
		section "$d/$b" .data.rel.ro.gopclntab "$out/pclntab/$tag.$b"
	done
	for b in racy.stripped racy.pie racy.arm64.stripped; do
		[ -f "$d/$b" ] && cp "$d/$b" "$out/elf/$tag.$b"
	done
	# every release's bodies in the host of its architecture and layout
	for b in racy racy.arm64; do
		[ -f "$d/$b" ] || continue
		h=0
		[ "$layout" = swiss ] && h=1
		[ "$b" = racy.arm64 ] && h=$((h + 2))
		for f in "${fns[@]}"; do
			k=${fnidx[$h,$f]:-}
			[ -n "$k" ] || continue
			body "$d/$b" "$f" "$out/plan/$tag.$b.$f" $((h + ${#hosts[@]} * k))
		done
	done
done

# Go 1.2 to 1.15's header (0xfffffffb): refused, but through the same door
if [ -f "$out/pclntab/go1.17.racy" ]; then
	cp "$out/pclntab/go1.17.racy" "$out/pclntab/go1.15-magic"
	printf '\xfb\xff\xff\xff' | dd of="$out/pclntab/go1.15-magic" conv=notrunc status=none
fi
for t in buildinfo pclntab elf plan; do
	printf '  %-8s %s: %s inputs\n' SEEDS "$t" "$(find "$out/$t" -type f | wc -l)"
done
