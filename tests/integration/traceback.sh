#!/usr/bin/env bash
# shellcheck disable=SC2016 # the jq programs in single quotes are jq's
# The Go runtime's own traceback against gomapwatch's event, frame by frame.
#
# traceback.sh parse FILE HEADER
#   The traceback the runtime printed (a program's stderr, FILE) of the
#   goroutine that died: the first "goroutine N [running]:" block after the
#   line HEADER ("fatal error: concurrent map writes", "panic: ..."), as
#   one JSON object:
#     {"goroutine": N, "elided": false,
#      "frames": [{"function", "inlined", "file", "line"}, ...],
#      "created_by": {"function", "file", "line"[, "goroutine"]} or null}
#   A frame is a "func(args)" line, "func(...)" when inlined, then
#   "\t<file>:<line>[ +0x..]"; the arguments are dropped from the name.
#   The goroutine's creator is "created by F[ in goroutine M]" (the
#   goroutine from Go 1.21 on) then its "\t<file>:<line> +0x.." line.
#   "elided": the runtime cut the list ("...additional frames elided...",
#   after 100 frames). Exits 1 when there is no such block.
#
# traceback.sh list RUNTIME
#   parse's object as compare reads it, one a line: the frames from the
#   first of package main on, "function[ (inlined)] file:line", then
#   "created by F[ in goroutine M] file:line".
#
# traceback.sh compare LABEL RUNTIME EVENT
#   RUNTIME (parse's object) against EVENT (one gomapwatch JSON event with
#   "stack" and "created_by"), from the first frame of package main on in
#   both: function, file, line and whether the frame is inlined, for every
#   frame of the runtime's list, then the creator (and its goroutine where
#   the runtime printed one). gomapwatch's stack may be shorter only if it
#   says "stack_truncated": true, longer only where the runtime elided
#   frames, or by one frame: a last runtime.goexit, which the runtime does
#   not print at the default GOTRACEBACK (since Go 1.19, a fatal error
#   too; an older throw printed every runtime frame). Prints "traceback LABEL: ..." and,
#   when they differ, both lists as a diff; exits 1 then.
set -euo pipefail

die() { echo "traceback: $*" >&2; exit 1; }

parse() {
	local file=$1 header=$2
	awk -v header="$header" '
		function location(s) {
			sub(/^\t/, "", s)
			sub(/ (\+0x[0-9a-f]+|fp=).*$/, "", s)
			if (!match(s, /:[0-9]+$/))
				return ""
			return substr(s, 1, RSTART - 1) "\t" substr(s, RSTART + 1)
		}
		state == 0 { if ($0 == header) state = 1; next }
		state == 1 {
			if ($0 ~ /^goroutine [0-9]+ \[running\]:$/) {
				print "goroutine\t" $2
				state = 2
			}
			next
		}
		# an empty line ends the block
		$0 == "" { exit }
		$0 == "...additional frames elided..." { print "elided"; next }
		/^created by / {
			split(substr($0, 12), w, " ")
			# "created by F in goroutine M"
			pending = "created\t" w[1] "\t" (w[2] == "in" && w[3] == "goroutine" ? w[4] : "")
			next
		}
		/^\t/ {
			loc = location($0)
			if (pending != "" && loc != "")
				print pending "\t" loc
			pending = ""
			next
		}
		{
			# "main.(*store).put(...)": the name, then its arguments
			if (!match($0, /\([^()]*\)$/)) {
				pending = ""
				next
			}
			pending = "frame\t" substr($0, 1, RSTART - 1) "\t" \
				(substr($0, RSTART) == "(...)" ? 1 : 0)
		}' "$file" |
		jq -R -s '[split("\n")[] | select(length > 0) | split("\t")] as $r
			| ([$r[] | select(.[0] == "goroutine") | .[1] | tonumber] | first) as $g
			| if $g == null then null else {
				goroutine: $g,
				elided: any($r[]; .[0] == "elided"),
				frames: [$r[] | select(.[0] == "frame")
					| {function: .[1], inlined: (.[2] == "1"), file: .[3], line: (.[4] | tonumber)}],
				created_by: ([$r[] | select(.[0] == "created")
					| {function: .[1], file: .[3], line: (.[4] | tonumber)}
						+ (if .[2] == "" then {} else {goroutine: (.[2] | tonumber)} end)]
					| first)
			} end' | jq -e -c 'select(. != null)' ||
		die "$file: no goroutine block after '$header'"
}

# from_main: the frames from the first one of package main on
from_main='(map(.function | startswith("main.")) | index(true)) as $i
	| if $i == null then [] else .[$i:] end'
# one a line: "function[ (inlined)] file:line"
frame_line='"\(.function)\(if .inlined == true then " (inlined)" else "" end) \(.file):\(.line)"'
# "created by F[ in goroutine M] file:line"; M where $in (the runtime printed one)
creator_line='.created_by // empty | "created by \(.function)\(if $in
	then " in goroutine \(.goroutine // "(none)")" else "" end) \(.file):\(.line)"'

# runtime_list RUNTIME: parse's object as compare lists it, frames then creator
runtime_list() {
	jq -r ".frames | $from_main | .[] | $frame_line" "$1"
	jq -r "(.created_by // {} | has(\"goroutine\")) as \$in | $creator_line" "$1"
}

compare() {
	local label=$1 rt=$2 ev=$3 dir nr ng k in goexit
	dir=$(mktemp -d /tmp/gmw-traceback.XXXXXX)
	# shellcheck disable=SC2064 # the directory is known now
	trap "rm -rf '$dir'" EXIT
	runtime_list "$rt" >"$dir/runtime"
	in=$(jq '.created_by // {} | has("goroutine")' "$rt")
	grep -v '^created by ' "$dir/runtime" >"$dir/rt.frames" || true
	grep '^created by ' "$dir/runtime" >"$dir/rt.created" || true
	# runtime.goexit, where the runtime did not print it (before Go 1.19 a
	# throw showed every runtime frame, goexit too)
	goexit=$(jq '.frames | length > 0 and last.function == "runtime.goexit"' "$rt")
	jq -r --argjson goexit "$goexit" ".stack | $from_main
		| if length > 0 and last.function == \"runtime.goexit\" and (\$goexit | not)
			then .[:-1] else . end
		| .[] | $frame_line" "$ev" >"$dir/gmw.frames"
	jq -r --argjson in "$in" "$creator_line" "$ev" >"$dir/gmw.created"
	nr=$(wc -l <"$dir/rt.frames")
	ng=$(wc -l <"$dir/gmw.frames")
	[ "$nr" -gt 0 ] || die "$label: the runtime's traceback has no frame of package main"
	if [ "$ng" -lt "$nr" ] && jq -e '.stack_truncated == true' "$ev" >/dev/null; then
		head -n "$ng" "$dir/rt.frames" >"$dir/r" && mv "$dir/r" "$dir/rt.frames"
		echo "traceback $label: gomapwatch's stack is truncated: $ng of the runtime's $nr frames compared"
		nr=$ng
	fi
	if [ "$ng" -gt "$nr" ] && jq -e '.elided' "$rt" >/dev/null; then
		head -n "$nr" "$dir/gmw.frames" >"$dir/g" && mv "$dir/g" "$dir/gmw.frames"
		echo "traceback $label: the runtime elided frames: its $nr frames compared"
		ng=$nr
	fi
	k=$(awk 'NR == FNR { r[FNR] = $0; next } FNR in r && r[FNR] == $0 { k++ } END { print k + 0 }' \
		"$dir/rt.frames" "$dir/gmw.frames")
	cat "$dir/rt.frames" "$dir/rt.created" >"$dir/runtime"
	cat "$dir/gmw.frames" "$dir/gmw.created" >"$dir/gomapwatch"
	if cmp -s "$dir/runtime" "$dir/gomapwatch"; then
		echo "traceback $label: $k/$nr frames agree, and the creator"
		return 0
	fi
	echo "traceback $label: $k/$nr frames agree (gomapwatch has $ng)," \
		"the creator $(cmp -s "$dir/rt.created" "$dir/gmw.created" && echo agrees || echo differs)"
	diff -u --label "runtime (goroutine $(jq .goroutine "$rt"))" \
		--label "gomapwatch ($(jq -r '"\(.type) event, goroutine \(.goroutine)"' "$ev"))" \
		"$dir/runtime" "$dir/gomapwatch" | sed 's/^/    /' || true
	return 1
}

case ${1:-} in
parse) [ $# -eq 3 ] || die "usage: $0 parse FILE HEADER"; parse "$2" "$3" ;;
list) [ $# -eq 2 ] || die "usage: $0 list RUNTIME"; runtime_list "$2" ;;
compare) [ $# -eq 4 ] || die "usage: $0 compare LABEL RUNTIME EVENT"; compare "$2" "$3" "$4" ;;
*) echo "usage: $0 parse FILE HEADER | list RUNTIME | compare LABEL RUNTIME EVENT" >&2; exit 2 ;;
esac
