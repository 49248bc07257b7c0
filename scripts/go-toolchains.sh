#!/usr/bin/env bash
# Print the Go toolchains the tests build fixtures with, fetching what is
# missing into the Go module cache (later runs are offline).
#
# go-toolchains.sh            the core set, one per line: <tag> <go binary>
#   go1.19  Debian's golang-1.19: old map layout, goid at 152
#   go1.23  go1.23.12 fetched by the go command: old map layout, goid at 160
#   goX.Y   the machine's own go (swiss maps from 1.24 on)
#
# go-toolchains.sh --matrix   the release matrix, one per line:
#   <tag> <version> <map layout: hmap|swiss> <go binary> <GOEXPERIMENT or ->
#   the newest patch of every minor release from go1.17 on (Debian's 1.19
#   for 1.19), plus GOEXPERIMENT=noswissmap for 1.24 and 1.25. A row built
#   by the same toolchain as a core tag shares that tag; a core tag of
#   another patch release (the machine's go) makes the row's tag the full
#   version, e.g. go1.26.11.
set -euo pipefail

GO123=go1.23.12
MIN_MINOR=17      # register ABI on amd64: the oldest Go gomapwatch traces
NOSWISS=(24 25)   # swiss maps by default (from 1.24), the old layout still buildable
cache=${GMW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gomapwatch}
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

# fetched VERSION: the go binary of a release, downloaded by the go command
# from the module proxy into the module cache on first use (its GOROOT is
# where it landed). Run from / so no go.mod or go.work can get in the way;
# GOFLAGS is set because the user's go env file may hold flags older
# releases reject (go1.17 fails on -buildvcs=false).
fetched() {
	local root
	root=$(cd / && GOTOOLCHAIN=$1 GOFLAGS=-mod=mod "$local_go" env GOROOT) || return 1
	[ "$(GOFLAGS=-mod=mod "$root/bin/go" env GOVERSION 2>/dev/null)" = "$1" ] || return 1
	echo "$root/bin/go"
}

core() {
	go123=$(fetched "$GO123") || {
		# Debian's own 1.23 (bookworm-backports) has the same layout.
		go123=/usr/lib/go-1.23/bin/go
		[ -x "$go123" ] || die "cannot fetch $GO123 (module proxy unreachable?) and golang-1.23-go is not installed"
	}
	echo "go1.19 $go119"
	echo "go1.23 $go123"
	case "$local_tag" in
	go1.19 | go1.23)
		# install-deps.sh may have made Debian's 1.23 the machine's go.
		echo "go-toolchains: the machine's go is $local_tag: no swiss-map toolchain" >&2 ;;
	*) echo "$local_tag $local_go" ;;
	esac
}

# newest HOST: the newest patch release of each minor release >= MIN_MINOR, one
# a line, from the proxy's list of toolchain modules; the list is kept so
# that a run without network still works.
newest() {
	local host=$1 list=$cache/toolchains.list
	mkdir -p "$cache"
	if (cd / && "$local_go" list -m -versions golang.org/toolchain) >"$list.tmp.$$" 2>/dev/null; then
		mv -f "$list.tmp.$$" "$list"
	else
		rm -f "$list.tmp.$$"
		[ -s "$list" ] || die "cannot list golang.org/toolchain (module proxy unreachable?)"
		echo "go-toolchains: module proxy unreachable; using the list of $(date -r "$list" +%F)" >&2
	fi
	# release tags only (no rc, beta); 1.20 and older have no .0 on the first
	tr ' ' '\n' <"$list" |
		sed -nE "s/^v0\.0\.1-(go1\.[0-9]+(\.[0-9]+)?)\.$host\$/\1/p" |
		awk -F. -v min="$MIN_MINOR" '$2 >= min {
				p = $3 + 0
				if (!($2 in best) || p > best[$2]) { best[$2] = p; name[$2] = $0 }
			}
			END { for (m in name) print m, name[m] }' |
		sort -n | cut -d' ' -f2
}

matrix() {
	local -A core_go core_version
	local tag go v minor mods=() rows=() exp host modcache list
	host=$("$local_go" env GOHOSTOS)-$("$local_go" env GOHOSTARCH)
	modcache=$("$local_go" env GOMODCACHE)
	# (assignments, not < <(...), so that a failure stops the script)
	list=$(core)
	while read -r tag go; do
		core_go[$tag]=$go
		core_version[$tag]=$(GOFLAGS=-mod=mod "$go" env GOVERSION)
	done <<<"$list"
	list=$(newest "$host")
	mapfile -t releases <<<"$list"
	[ -n "$list" ] || die "no release >= go1.$MIN_MINOR listed"
	for v in "${releases[@]}"; do
		minor=$(echo "$v" | cut -d. -f2)
		[ "$minor" != 19 ] || continue # Debian's, not fetched
		[ -d "$modcache/golang.org/toolchain@v0.0.1-$v.$host" ] ||
			mods+=("golang.org/toolchain@v0.0.1-$v.$host")
	done
	# One go mod download fetches them all at once, much faster than one
	# toolchain switch after the other on a fresh machine.
	if [ ${#mods[@]} -gt 0 ]; then
		echo "go-toolchains: fetching ${#mods[@]} toolchains" >&2
		(cd / && "$local_go" mod download "${mods[@]}") >&2 ||
			die "cannot fetch ${mods[*]}"
	fi
	for v in "${releases[@]}"; do
		minor=$(echo "$v" | cut -d. -f2)
		if [ "$minor" = 19 ]; then
			go=$go119 v=${core_version[go1.19]}
		else
			go=$(fetched "$v") || die "cannot run the fetched $v"
		fi
		tag=go1.$minor
		# share a core tag's directory only when it is the same release
		if [ -n "${core_go[$tag]:-}" ] && [ "${core_version[$tag]}" != "$v" ]; then
			tag=$v
		fi
		rows+=("$tag $v $([ "$minor" -ge 24 ] && echo swiss || echo hmap) $go -")
		for exp in "${NOSWISS[@]}"; do
			[ "$minor" != "$exp" ] || rows+=("go1.$minor-noswiss $v hmap $go noswissmap")
		done
	done
	printf '%s\n' "${rows[@]}"
}

case ${1:-} in
"") core ;;
--matrix) matrix ;;
*) echo "usage: $0 [--matrix]" >&2; exit 2 ;;
esac
