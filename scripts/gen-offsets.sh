#!/usr/bin/env bash
# Regenerate user/offsets_table.h, the runtime struct offsets gomapwatch falls
# back on when a binary has no DWARF, from real toolchains:
#
#  - the newest patch release of every Go minor release from 1.17 on, fetched
#    by GOTOOLCHAIN through the module proxy (the go command caches them);
#  - GOEXPERIMENT=noswissmap builds where the toolchain knows it (1.24, 1.25);
#  - amd64 and arm64 builds of each, which must agree (one table for both);
#  - toolchains installed here (Debian's /usr/lib/go-*, the go in PATH) as a
#    cross-check that other patch releases of a minor release agree too.
#
# Each build is a small program using maps, range and panic; the generator
# (scripts/gen-offsets/main.go) reads the offsets from its DWARF and writes one
# row per minor release and map layout. Builds are cached in $GMW_CACHE
# (default ~/.cache/gomapwatch/gen-offsets), so a second run only reads DWARF.
#
# Usage: scripts/gen-offsets.sh [output.h]	(default user/offsets_table.h)
set -euo pipefail

MIN_MINOR=17		# register ABI on amd64: the oldest Go gomapwatch traces
ARCHES=(amd64 arm64)
NOSWISS_FROM=24		# swiss maps became the default in 1.24

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/user/offsets_table.h}
cache=${GMW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gomapwatch}/gen-offsets
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

say() { printf 'gen-offsets: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# The user's go env file may hold flags older toolchains reject (go1.17 fails
# on GOFLAGS=-buildvcs=false), so builds ignore it; GOPROXY etc. from the
# environment still apply.
gocmd() {
	local go=$1
	shift
	env GOENV=off GOFLAGS= GOTOOLCHAIN="${GOTOOLCHAIN_USE:-local}" "$go" "$@"
}

check_driver() {
	local v
	[ -x "$GO" ] || die "no go command (set GO=/path/to/go, Go >= 1.21)"
	v=$(gocmd "$GO" env GOVERSION)
	case $v in
	go1.[0-9].* | go1.1[0-9].* | go1.20*)
		die "$GO is $v: GOTOOLCHAIN needs Go >= 1.21" ;;
	esac
	say "driver $GO ($v), cache $cache"
}

write_program() {
	mkdir -p "$cache/src"
	cat >"$cache/src/main.go.new" <<'EOF'
// Built by scripts/gen-offsets.sh with each toolchain. Assigning, ranging
// and a recovered panic link in every runtime struct gomapwatch reads.
package main

func main() {
	m := map[int]int{}
	for i := 0; i < 8; i++ {
		m[i] = i
	}
	s := 0
	for k, v := range m {
		s += k + v
	}
	defer func() { println(recover() != nil, s) }()
	var n map[string]int
	n["x"] = 1
}
EOF
	printf 'module gmwoffsets\n\ngo 1.17\n' >"$cache/src/go.mod"
	# keep the old file (and mtime) when nothing changed
	if cmp -s "$cache/src/main.go.new" "$cache/src/main.go"; then
		rm "$cache/src/main.go.new"
	else
		mv "$cache/src/main.go.new" "$cache/src/main.go"
	fi
	srckey=$(cat "$cache/src/main.go" "$cache/src/go.mod" | sha256sum | cut -c1-16)
}

build_generator() {
	local src=$root/scripts/gen-offsets/main.go gen=$cache/gen-offsets
	if [ ! -x "$gen" ] || [ "$src" -nt "$gen" ]; then
		say "build scripts/gen-offsets"
		gocmd "$GO" build -o "$gen" "$src"
	fi
}

# The newest patch release of each minor release >= MIN_MINOR, one a line.
# The list is cached so that a run without network still works.
latest_toolchains() {
	local list=$cache/toolchains.list host
	host=$(gocmd "$GO" env GOHOSTOS)-$(gocmd "$GO" env GOHOSTARCH)
	say "list golang.org/toolchain versions"
	if (cd "$cache" && gocmd "$GO" list -m -versions golang.org/toolchain) \
		>"$list.new" 2>"$cache/list.err"; then
		mv "$list.new" "$list"
	elif [ -s "$list" ]; then
		say "listing failed ($(head -1 "$cache/list.err")); using the cached list"
	else
		cat "$cache/list.err" >&2
		die "cannot list toolchains"
	fi
	tr ' ' '\n' <"$list" |
		sed -n "s/^v0\.0\.1-\(go1\.[0-9]*\(\.[0-9]*\)\{0,1\}\)\.$host\$/\1/p" |
		awk -F. -v min="$MIN_MINOR" '
			$2 >= min && ($2 > 0) {
				p = ($3 == "") ? 0 : $3
				if (!($2 in best) || p > best[$2]) { best[$2] = p; name[$2] = $0 }
			}
			END { for (m in name) print m, name[m] }' |
		sort -n | cut -d' ' -f2
}

# build NAME TOOLCHAIN GOEXPERIMENT GOARCH [GO]: add the binary to bins, or
# nothing when the toolchain does not know the experiment. Cached by NAME
# and the program's hash.
build() {
	local name=$1 tc=$2 exp=$3 arch=$4 go=${5:-$GO}
	local dir=$cache/build/$name${exp:+-$exp}-$arch
	if [ "$(cat "$dir/key" 2>/dev/null)" = "$srckey" ]; then
		[ ! -f "$dir/prog" ] || bins+=("$dir/prog")
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	say "build with $name${exp:+ GOEXPERIMENT=$exp} GOARCH=$arch"
	# fetch the toolchain first, with its "downloading" message shown
	GOTOOLCHAIN_USE=$tc gocmd "$go" version >/dev/null
	if ! (cd "$cache/src" && GOTOOLCHAIN_USE=$tc GOEXPERIMENT=$exp GOARCH=$arch \
		CGO_ENABLED=0 gocmd "$go" build -o "$dir/prog" main.go) 2>"$dir/err"; then
		if [ -n "$exp" ] && grep -q "unknown GOEXPERIMENT" "$dir/err"; then
			say "  $name has no GOEXPERIMENT=$exp"
			echo "$srckey" >"$dir/key"
			return 0
		fi
		cat "$dir/err" >&2
		die "build with $name failed"
	fi
	echo "$srckey" >"$dir/key"
	bins+=("$dir/prog")
}

# build_release TOOLCHAIN: every architecture, and noswiss where it exists
build_release() {
	local tc=$1 minor arch
	minor=$(echo "$tc" | cut -d. -f2)
	for arch in "${ARCHES[@]}"; do
		build "$tc" "$tc" "" "$arch"
		[ "$minor" -lt "$NOSWISS_FROM" ] || build "$tc" "$tc" noswissmap "$arch"
	done
}

# Installed releases other than the ones fetched, as checks that other patch
# releases agree; only for minor releases the table has, so that what is
# installed here never changes which releases the table covers.
build_local() {
	local go v minor
	for go in /usr/lib/go-*/bin/go "$GO"; do
		[ -x "$go" ] || continue
		v=$(gocmd "$go" env GOVERSION 2>/dev/null) || continue
		[[ $v =~ ^go1\.([0-9]+)(\.[0-9]+)?$ ]] || continue
		minor=${BASH_REMATCH[1]}
		case " ${fetched[*]} " in *" go1.$minor "* | *" go1.$minor."*) ;; *) continue ;; esac
		case " ${fetched[*]} ${seen[*]} " in *" $v "*) continue ;; esac
		seen+=("$v")
		build "$v-local" local "" amd64 "$go"
	done
}

main() {
	local start=$SECONDS list tc
	mkdir -p "$cache"
	check_driver
	write_program
	build_generator
	list=$(latest_toolchains)
	[ -n "$list" ] || die "no toolchains >= go1.$MIN_MINOR listed"
	mapfile -t fetched <<<"$list"
	say "toolchains: ${fetched[*]}"
	bins=()
	for tc in "${fetched[@]}"; do
		build_release "$tc"
	done
	seen=()
	build_local
	say "read DWARF of ${#bins[@]} builds"
	"$cache/gen-offsets" -o "$out.new" "${bins[@]}"
	if cmp -s "$out.new" "$out"; then
		rm "$out.new"
		say "$out unchanged ($((SECONDS - start)) s)"
	else
		mv "$out.new" "$out"
		say "wrote $out ($((SECONDS - start)) s)"
	fi
}

main
