// Command gen-offsets reads the runtime struct offsets gomapwatch needs from
// the DWARF of Go binaries built with real toolchains and writes them as the
// C table user/offsets_table.h. scripts/gen-offsets.sh builds the binaries
// and runs it; see there.
//
//	gen-offsets -o user/offsets_table.h bin...
//
// Binaries of the same Go minor release and map layout (other patch
// releases, other 64-bit architectures) must give identical offsets: the
// table has one row per minor release, so a disagreement is an error.
package main

import (
	"bytes"
	"debug/buildinfo"
	"debug/dwarf"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// field is one offset the tracer needs; the order is enum offset_field's.
type field struct {
	enum           string    // C enumerator
	noswiss, swiss [2]string // struct, member for each map layout
	since          int       // first Go 1.x minor release that has it; -1 before
}

var fields = []field{
	{enum: "OFF_G_GOID", noswiss: [2]string{"runtime.g", "goid"}, swiss: [2]string{"runtime.g", "goid"}},
	{enum: "OFF_G_GOPC", noswiss: [2]string{"runtime.g", "gopc"}, swiss: [2]string{"runtime.g", "gopc"}},
	{enum: "OFF_MAP_FLAGS", noswiss: [2]string{"runtime.hmap", "flags"},
		swiss: [2]string{"internal/runtime/maps.Map", "writing"}},
	{enum: "OFF_ITER_MAP", noswiss: [2]string{"runtime.hiter", "h"},
		swiss: [2]string{"internal/runtime/maps.Iter", "m"}},
	{enum: "OFF_PANIC_ARG", noswiss: [2]string{"runtime._panic", "arg"}, swiss: [2]string{"runtime._panic", "arg"}},
	{enum: "OFF_G_PARENT_GOID", noswiss: [2]string{"runtime.g", "parentGoid"},
		swiss: [2]string{"runtime.g", "parentGoid"}, since: 21},
}

var goarch = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}

type build struct {
	path    string
	version string // as stored in the binary: "go1.24.13 X:noswissmap"
	arch    string
	major   int
	minor   int
	patch   int
	swiss   bool
	off     []int64
}

func (b *build) name() string {
	return b.version + " linux/" + b.arch
}

type rowKey struct {
	minor int
	swiss bool
}

func main() {
	out := flag.String("o", "", "write the C header here (default stdout)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: gen-offsets [-o file.h] go-binary...")
		os.Exit(2)
	}
	var builds []*build
	for _, p := range flag.Args() {
		b, err := readBuild(p)
		if err != nil {
			fatalf("%s: %v", p, err)
		}
		builds = append(builds, b)
	}
	rs, err := rows(builds)
	if err != nil {
		fatalf("%v", err)
	}
	summary(rs)
	hdr := header(rs)
	if *out == "" {
		os.Stdout.Write(hdr)
		return
	}
	if err := os.WriteFile(*out, hdr, 0o644); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gen-offsets: "+format+"\n", a...)
	os.Exit(1)
}

func readBuild(path string) (*build, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b := &build{path: path, version: bi.GoVersion}
	if err := parseVersion(b); err != nil {
		return nil, err
	}
	for _, s := range bi.Settings {
		if s.Key == "GOARCH" {
			b.arch = s.Value
		}
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if b.arch == "" { // no build settings before Go 1.18
		b.arch = goarch[f.Machine]
	}
	if b.arch == "" {
		return nil, fmt.Errorf("%s: unsupported machine", f.Machine)
	}
	d, err := f.DWARF()
	if err != nil {
		return nil, err
	}
	structs, err := findStructs(d, b.swiss)
	if err != nil {
		return nil, err
	}
	for _, fl := range fields {
		sm := fl.noswiss
		if b.swiss {
			sm = fl.swiss
		}
		off, ok := structs[sm[0]][sm[1]]
		if !ok && b.minor < fl.since {
			off, ok = -1, true
		}
		if !ok {
			return nil, fmt.Errorf("%s: no %s.%s in DWARF", b.version, sm[0], sm[1])
		}
		b.off = append(b.off, off)
	}
	return b, nil
}

// parseVersion reads "go1.24.13 X:noswissmap"; swiss maps are the default
// from Go 1.24 on (the same rule as go_version__swiss in user/gobin.c).
func parseVersion(b *build) error {
	v, exp, _ := strings.Cut(b.version, " ")
	nums := strings.Split(strings.TrimPrefix(v, "go"), ".")
	if !strings.HasPrefix(v, "go") || len(nums) < 2 {
		return fmt.Errorf("unexpected Go version %q", b.version)
	}
	var err error
	if b.major, err = strconv.Atoi(nums[0]); err != nil {
		return fmt.Errorf("unexpected Go version %q", b.version)
	}
	if b.minor, err = strconv.Atoi(nums[1]); err != nil {
		return fmt.Errorf("unexpected Go version %q (release builds only)", b.version)
	}
	if len(nums) > 2 {
		if b.patch, err = strconv.Atoi(nums[2]); err != nil {
			return fmt.Errorf("unexpected Go version %q", b.version)
		}
	}
	noswiss := strings.Contains(exp, "noswissmap")
	b.swiss = (b.major > 1 || b.minor >= 24) && !noswiss
	return nil
}

// findStructs returns member offsets of the wanted structs, stopping as soon
// as all are found.
func findStructs(d *dwarf.Data, swiss bool) (map[string]map[string]int64, error) {
	want := map[string]bool{}
	for _, fl := range fields {
		if swiss {
			want[fl.swiss[0]] = true
		} else {
			want[fl.noswiss[0]] = true
		}
	}
	found := map[string]map[string]int64{}
	r := d.Reader()
	for len(found) < len(want) {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if e.Tag != dwarf.TagStructType || !want[name] || found[name] != nil {
			if e.Tag != dwarf.TagCompileUnit {
				r.SkipChildren()
			}
			continue
		}
		m, err := members(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		found[name] = m
	}
	return found, nil
}

func members(r *dwarf.Reader) (map[string]int64, error) {
	m := map[string]int64{}
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil || e.Tag == 0 {
			return m, nil
		}
		if e.Tag != dwarf.TagMember {
			r.SkipChildren()
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		off, ok := e.Val(dwarf.AttrDataMemberLoc).(int64)
		if !ok {
			return nil, fmt.Errorf("member %s: location is not a constant", name)
		}
		m[name] = off
		r.SkipChildren()
	}
}

type row struct {
	key     rowKey
	from    *build
	checked []*build
}

// rows groups the builds by minor release and layout, checks that each
// group agrees, and picks the newest amd64 patch release as the row's source.
func rows(builds []*build) ([]*row, error) {
	byKey := map[rowKey]*row{}
	var out []*row
	for _, b := range builds {
		if b.major != 1 {
			return nil, fmt.Errorf("%s: only Go 1.x is known", b.version)
		}
		k := rowKey{b.minor, b.swiss}
		r := byKey[k]
		if r == nil {
			r = &row{key: k}
			byKey[k] = r
			out = append(out, r)
		}
		r.checked = append(r.checked, b)
	}
	for _, r := range out {
		if err := r.settle(); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].key, out[j].key
		if a.minor != b.minor {
			return a.minor < b.minor
		}
		return !a.swiss && b.swiss
	})
	return out, nil
}

func (r *row) settle() error {
	sort.SliceStable(r.checked, func(i, j int) bool {
		a, b := r.checked[i], r.checked[j]
		if (a.arch == "amd64") != (b.arch == "amd64") {
			return a.arch == "amd64"
		}
		return a.patch > b.patch
	})
	r.from = r.checked[0]
	r.checked = r.checked[1:]
	for _, b := range r.checked {
		for i, fl := range fields {
			if b.off[i] != r.from.off[i] {
				return fmt.Errorf("%s differs within go1.%d: %d in %s/%s (%s), %d in %s/%s (%s)",
					fl.enum, r.key.minor, r.from.off[i], r.from.version, r.from.arch,
					r.from.path, b.off[i], b.version, b.arch, b.path)
			}
		}
	}
	return nil
}

const preamble = `/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generated by scripts/gen-offsets.sh; never edit by hand, run it again.
 *
 * Offsets read from the DWARF of a small program (maps, range, panic) built
 * with each toolchain below. One row per Go minor release and map layout:
 * the runtime structs did not change within a minor release, and every other
 * build listed under "checked" (other patch releases, arm64) gave the same
 * offsets, or the generator would have failed.
 */
#ifndef GOMAPWATCH_OFFSETS_TABLE_H
#define GOMAPWATCH_OFFSETS_TABLE_H

#include <stdbool.h>
#include "offsets.h"

struct offsets_row {
	int major, minor;
	bool swiss;		/* internal/runtime/maps (1.24+ default) */
	const char *from;	/* the build the offsets were read from */
	const char *checked;	/* other builds that agree */
	int off[OFF__COUNT];
};

static const struct offsets_row offsets_table[] = {
`

func header(rs []*row) []byte {
	var w bytes.Buffer
	w.WriteString(preamble)
	for _, r := range rs {
		var checked []string
		for _, b := range r.checked {
			checked = append(checked, b.name())
		}
		fmt.Fprintf(&w, "\t{ .major = 1, .minor = %d, .swiss = %v,\n", r.key.minor, r.key.swiss)
		fmt.Fprintf(&w, "\t  .from = %q,\n", r.from.name())
		fmt.Fprintf(&w, "\t  .checked = %q,\n", strings.Join(checked, ", "))
		fmt.Fprintf(&w, "\t  .off = {")
		for i, fl := range fields {
			sep := ", "
			if i == 0 {
				sep = " "
			} else if i%2 == 0 {
				sep = ",\n\t\t  "
			}
			fmt.Fprintf(&w, "%s[%s] = %d", sep, fl.enum, r.from.off[i])
		}
		w.WriteString(" } },\n")
	}
	w.WriteString("};\n\n#endif\n")
	return w.Bytes()
}

func shortName(s string) string {
	return strings.TrimPrefix(strings.TrimPrefix(s, "internal/runtime/"), "runtime.")
}

// summary prints the table on stderr, one line a row.
func summary(rs []*row) {
	for _, r := range rs {
		layout, sm := "old maps  ", func(f field) [2]string { return f.noswiss }
		if r.key.swiss {
			layout, sm = "swiss maps", func(f field) [2]string { return f.swiss }
		}
		var offs []string
		for i, fl := range fields {
			s := sm(fl)
			offs = append(offs, fmt.Sprintf("%s.%s=%d", shortName(s[0]), s[1], r.from.off[i]))
		}
		fmt.Fprintf(os.Stderr, "  go1.%-2d %s %s  [%s", r.key.minor, layout, strings.Join(offs, " "), r.from.version)
		for _, b := range r.checked {
			fmt.Fprintf(os.Stderr, "; %s/%s", b.version, b.arch)
		}
		fmt.Fprintln(os.Stderr, "]")
	}
}
