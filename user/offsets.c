// SPDX-License-Identifier: GPL-2.0
/*
 * Struct field offsets for the BPF programs. The binary's own DWARF is the
 * truth when it has one; a stripped binary falls back on the table that
 * scripts/gen-offsets.sh reads from real toolchains' DWARF, keyed by the Go
 * minor release. Neither: refuse rather than guess, since a wrong goid
 * offset makes every report name the wrong goroutine.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "offsets.h"
#include "offsets_table.h"

struct offset_member {
	const char *type;	/* DWARF name of the struct */
	const char *member;
};

/* [swiss][field]: the layout decides where the map write flag lives */
static const struct offset_member offset_members[2][OFF__COUNT] = {
	[false] = {
		[OFF_G_GOID]	= { "runtime.g", "goid" },
		[OFF_G_GOPC]	= { "runtime.g", "gopc" },
		[OFF_MAP_FLAGS]	= { "runtime.hmap", "flags" },
		[OFF_ITER_MAP]	= { "runtime.hiter", "h" },
		[OFF_PANIC_ARG]	= { "runtime._panic", "arg" },
	},
	[true] = {
		[OFF_G_GOID]	= { "runtime.g", "goid" },
		[OFF_G_GOPC]	= { "runtime.g", "gopc" },
		[OFF_MAP_FLAGS]	= { "internal/runtime/maps.Map", "writing" },
		[OFF_ITER_MAP]	= { "internal/runtime/maps.Iter", "m" },
		[OFF_PANIC_ARG]	= { "runtime._panic", "arg" },
	},
};

const char *offset_field__name(enum offset_field f)
{
	static const char *const names[OFF__COUNT] = {
		[OFF_G_GOID]	= "runtime.g.goid",
		[OFF_G_GOPC]	= "runtime.g.gopc",
		[OFF_MAP_FLAGS]	= "runtime.hmap.flags/maps.Map.writing",
		[OFF_ITER_MAP]	= "runtime.hiter.h/maps.Iter.m",
		[OFF_PANIC_ARG]	= "runtime._panic.arg",
	};

	return (unsigned)f < OFF__COUNT ? names[f] : "?";
}

const char *offset_source__name(enum offset_source s)
{
	switch (s) {
	case OFF_DWARF:
		return "dwarf";
	case OFF_TABLE:
		return "table";
	default:
		return "none";
	}
}

/* What one pass over the DWARF still looks for. */
struct offsets_scan {
	struct go_offsets *o;
	const struct offset_member *want;	/* [OFF__COUNT] */
	bool seen[OFF__COUNT];			/* the field's struct was found */
	int left;				/* fields whose struct was not */
};

static int offsets__member(Dwarf_Die *st, const char *name)
{
	Dwarf_Attribute attr;
	Dwarf_Word off;
	Dwarf_Die m;

	if (dwarf_child(st, &m) != 0)
		return -1;
	do {
		const char *n;

		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		n = dwarf_diename(&m);
		if (!n || strcmp(n, name))
			continue;
		/* Go writes a constant; a location expression is not Go's */
		if (!dwarf_attr(&m, DW_AT_data_member_location, &attr) ||
		    dwarf_formudata(&attr, &off) != 0 || off > 1 << 20)
			return -1;
		return (int)off;
	} while (dwarf_siblingof(&m, &m) == 0);
	return -1;
}

static void offsets__visit_struct(struct offsets_scan *s, Dwarf_Die *st)
{
	const char *name = dwarf_diename(st);
	int f;

	if (!name)
		return;
	for (f = 0; f < OFF__COUNT; f++) {
		if (s->seen[f] || strcmp(s->want[f].type, name))
			continue;
		s->seen[f] = true;
		s->left--;
		s->o->off[f] = offsets__member(st, s->want[f].member);
		if (s->o->off[f] >= 0)
			s->o->src[f] = OFF_DWARF;
	}
}

/*
 * Go's linker puts every type at the top level of a compile unit, so only
 * top-level DIEs need looking at, and the walk stops as soon as each
 * wanted struct has been seen.
 */
static void offsets__scan_cu(struct offsets_scan *s, Dwarf_Die *cu)
{
	Dwarf_Die die;

	if (dwarf_child(cu, &die) != 0)
		return;
	do {
		if (dwarf_tag(&die) == DW_TAG_structure_type)
			offsets__visit_struct(s, &die);
	} while (s->left > 0 && dwarf_siblingof(&die, &die) == 0);
}

static void offsets__scan(struct offsets_scan *s, Dwarf *dw)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (s->left > 0 &&
	       dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;

		if (dwarf_offdie(dw, off + hsize, &cu))
			offsets__scan_cu(s, &cu);
		off = next;
	}
}

/*
 * Returns 0 when the binary has DWARF (whatever it held), -1 when not.
 * libdw decompresses both the .zdebug_* sections of Go <= 1.18 and the
 * SHF_COMPRESSED .debug_* sections of later releases by itself.
 */
static int offsets__from_dwarf(struct go_offsets *o, const struct gobin *b)
{
	struct offsets_scan s = { .o = o, .want = offset_members[o->swiss] };
	int fd = b->fd, own_fd = -1;
	bool found = false;
	Dwarf *dw;

	if (fd < 0) {
		own_fd = open(b->path, O_RDONLY | O_CLOEXEC);
		if (own_fd < 0)
			return -1;
		fd = own_fd;
	}
	elf_version(EV_CURRENT);
	dw = dwarf_begin(fd, DWARF_C_READ);
	if (dw) {
		found = true;
		s.left = OFF__COUNT;
		offsets__scan(&s, dw);
		dwarf_end(dw);
	}
	if (own_fd >= 0)
		close(own_fd);
	return found ? 0 : -1;
}

static const struct offsets_row *offsets__row(const struct go_version *v,
					      bool swiss)
{
	size_t i;

	for (i = 0; i < sizeof(offsets_table) / sizeof(offsets_table[0]); i++) {
		const struct offsets_row *r = &offsets_table[i];

		if (r->major == v->major && r->minor == v->minor &&
		    r->swiss == swiss)
			return r;
	}
	return NULL;
}

static void offsets__from_table(struct go_offsets *o, const struct gobin *b)
{
	const struct offsets_row *r = offsets__row(&b->ver, o->swiss);
	int f;

	if (!r)
		return;
	for (f = 0; f < OFF__COUNT; f++) {
		if (o->off[f] >= 0 || r->off[f] < 0)
			continue;
		o->off[f] = r->off[f];
		o->src[f] = OFF_TABLE;
	}
}

static int version__cmp(int major, int minor, const struct offsets_row *r)
{
	if (major != r->major)
		return major < r->major ? -1 : 1;
	return minor < r->minor ? -1 : minor > r->minor;
}

/* Why the table had nothing: "is newer than the offsets table (...)" */
static void offsets__why_table(char *buf, size_t len, const struct gobin *b,
			       bool swiss)
{
	size_t n = sizeof(offsets_table) / sizeof(offsets_table[0]);
	const struct offsets_row *lo = &offsets_table[0];
	const struct offsets_row *hi = &offsets_table[n - 1];
	const char *what;

	if (version__cmp(b->ver.major, b->ver.minor, hi) > 0) {
		what = "newer";
	} else if (version__cmp(b->ver.major, b->ver.minor, lo) < 0) {
		what = "older";
	} else {
		snprintf(buf, len, "has no %s-map row in the offsets table",
			 swiss ? "swiss" : "old");
		return;
	}
	snprintf(buf, len, "is %s than the offsets table (covers go%d.%d\u2013go%d.%d)",
		 what, lo->major, lo->minor, hi->major, hi->minor);
}

static void offsets__refuse(const struct go_offsets *o, const struct gobin *b,
			    bool has_dwarf, enum offset_field f,
			    char *err, size_t errlen)
{
	const struct offset_member *m = &offset_members[o->swiss][f];
	char why[128], what[256];

	if (b->ver.major <= 0 && b->ver.raw[0]) {
		snprintf(what, sizeof(what), "version \"%s\" not understood",
			 b->ver.raw);
	} else if (b->ver.major <= 0) {
		snprintf(what, sizeof(what), "version unknown (no build info)");
	} else {
		offsets__why_table(why, sizeof(why), b, o->swiss);
		if (b->ver.raw[0])
			snprintf(what, sizeof(what), "%s %s", b->ver.raw, why);
		else
			snprintf(what, sizeof(what), "go%d.%d.%d %s", b->ver.major,
				 b->ver.minor, b->ver.patch, why);
	}
	if (has_dwarf)
		snprintf(err, errlen,
			 "Go %s and %s.%s is not in the binary's DWARF: refusing to guess it",
			 what, m->type, m->member);
	else
		snprintf(err, errlen,
			 "Go %s and the binary has no DWARF: refusing to guess %s.%s",
			 what, m->type, m->member);
}

int offsets__load(struct go_offsets *o, const struct gobin *b, bool swiss,
		  char *err, size_t errlen)
{
	static const enum offset_field required[] = { OFF_G_GOID, OFF_MAP_FLAGS };
	bool has_dwarf;
	size_t i;
	int f;

	for (f = 0; f < OFF__COUNT; f++) {
		o->off[f] = -1;
		o->src[f] = OFF_NONE;
	}
	o->swiss = swiss;
	has_dwarf = offsets__from_dwarf(o, b) == 0;
	offsets__from_table(o, b);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (o->off[required[i]] >= 0)
			continue;
		offsets__refuse(o, b, has_dwarf, required[i], err, errlen);
		return -1;
	}
	return 0;
}
