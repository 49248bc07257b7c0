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
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

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
		[OFF_G_PARENT_GOID] = { "runtime.g", "parentGoid" },
	},
	[true] = {
		[OFF_G_GOID]	= { "runtime.g", "goid" },
		[OFF_G_GOPC]	= { "runtime.g", "gopc" },
		[OFF_MAP_FLAGS]	= { "internal/runtime/maps.Map", "writing" },
		[OFF_ITER_MAP]	= { "internal/runtime/maps.Iter", "m" },
		[OFF_PANIC_ARG]	= { "runtime._panic", "arg" },
		[OFF_G_PARENT_GOID] = { "runtime.g", "parentGoid" },
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
		[OFF_G_PARENT_GOID] = "runtime.g.parentGoid",
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
	bool cut;				/* the unit ends early: see img__scan_head */
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
	Dwarf_Die die, next;
	bool more;

	if (dwarf_child(cu, &die) != 0)
		return;
	do {
		more = dwarf_siblingof(&die, &next) == 0;
		if (dwarf_tag(&die) == DW_TAG_structure_type && (more || !s->cut))
			offsets__visit_struct(s, &die);
		die = next;
	} while (s->left > 0 && more);
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
 * Go compresses its DWARF with zlib, and dwarf_begin inflates every debug
 * section whole before anything is read: about 46 MB and 400 ms on an 82 MB
 * server, for five offsets whose type unit follows the runtime's own units,
 * a megabyte or so into .debug_info. So .debug_info is inflated here a
 * window at a time, and libdw reads each window's complete units from an
 * ELF image made in memory that holds .debug_abbrev and that window only.
 * A unit's DIEs refer to each other by unit-relative offsets (the sibling
 * links the walk follows), so a window need not start at the section's
 * start; nothing read here follows a link out of its unit.
 */
struct dwarf_zsec {
	const uint8_t *src;	/* the zlib stream */
	size_t srclen;
	uint64_t size;		/* inflated */
};

#define DWARF_WINDOW	(64 << 10)

enum { IMG_SHSTRTAB = 1, IMG_ABBREV, IMG_INFO, IMG_NSEC };

static const char img_shstrtab[] = "\0.shstrtab\0.debug_abbrev\0.debug_info";

struct dwarf_img {
	uint8_t *buf;		/* Ehdr, Shdrs, .shstrtab, .debug_abbrev, window */
	size_t hdr;		/* where the window starts */
	size_t cap, have;	/* window bytes allocated, inflated */
	uint16_t machine;
	z_stream z;
	bool z_live, z_end;
};

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * A section as a zlib stream: SHF_COMPRESSED (Go 1.19 on, and the external
 * linker's) or .zdebug_* (Go 1.18 and before). 1 when stored plain, -1
 * when compressed some other way (zstd): libdw is left to it then. Read
 * from the file's mapping, not elf_rawdata: libelf copies a compressed
 * section whose header is not 8-aligned in the file, as Go's are not.
 */
static int dwarf__zsec(Elf *elf, const GElf_Shdr *sh, const char *name,
		       struct dwarf_zsec *z)
{
	const uint8_t *p;
	Elf64_Chdr ch;
	size_t size;

	p = (const uint8_t *)elf_rawfile(elf, &size);
	if (!p || sh->sh_offset > size || sh->sh_size > size - sh->sh_offset)
		return -1;
	p += sh->sh_offset;
	if (sh->sh_flags & SHF_COMPRESSED) {
		if (sh->sh_size < sizeof(ch))
			return -1;
		memcpy(&ch, p, sizeof(ch));
		if (ch.ch_type != ELFCOMPRESS_ZLIB)
			return -1;
		z->src = p + sizeof(ch);
		z->srclen = sh->sh_size - sizeof(ch);
		z->size = ch.ch_size;
		return 0;
	}
	if (strncmp(name, ".zdebug", 7))
		return 1;
	if (sh->sh_size < 12 || memcmp(p, "ZLIB", 4))
		return -1;
	z->src = p + 12;
	z->srclen = sh->sh_size - 12;
	z->size = be64(p + 4);
	return 0;
}

/* 0 when .debug_info and .debug_abbrev are both zlib streams. */
static int dwarf__find(Elf *elf, struct dwarf_zsec *info,
		       struct dwarf_zsec *abbrev)
{
	int rinfo = 1, rabbrev = 1;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -1;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(n = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(n, ".debug_info") || !strcmp(n, ".zdebug_info"))
			rinfo = dwarf__zsec(elf, &sh, n, info);
		else if (!strcmp(n, ".debug_abbrev") || !strcmp(n, ".zdebug_abbrev"))
			rabbrev = dwarf__zsec(elf, &sh, n, abbrev);
	}
	return rinfo || rabbrev ? -1 : 0;
}

static void img__shdr(struct dwarf_img *m, int i, uint32_t name, uint32_t type,
		      uint64_t off, uint64_t size)
{
	Elf64_Shdr *sh = (Elf64_Shdr *)(m->buf + sizeof(Elf64_Ehdr)) + i;

	*sh = (Elf64_Shdr){ .sh_name = name, .sh_type = type, .sh_offset = off,
			    .sh_size = size, .sh_addralign = 1 };
}

/* Lay out the headers and .debug_abbrev, inflated whole (a few hundred bytes). */
static int img__init(struct dwarf_img *m, const struct dwarf_zsec *abbrev)
{
	size_t shoff = sizeof(Elf64_Ehdr), str = shoff + IMG_NSEC * sizeof(Elf64_Shdr);
	size_t ab = str + sizeof(img_shstrtab);
	uLongf len = abbrev->size;
	Elf64_Ehdr *eh;

	if (abbrev->size > 1 << 26)
		return -1;
	m->hdr = ab + abbrev->size;
	m->buf = calloc(1, m->hdr + m->cap + 1);	/* + img__scan_head's NUL */
	if (!m->buf)
		return -1;
	if (uncompress(m->buf + ab, &len, abbrev->src, abbrev->srclen) != Z_OK ||
	    len != abbrev->size)
		return -1;
	memcpy(m->buf + str, img_shstrtab, sizeof(img_shstrtab));
	eh = (Elf64_Ehdr *)m->buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = m->machine;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_shoff = shoff;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = IMG_NSEC;
	eh->e_shstrndx = IMG_SHSTRTAB;
	img__shdr(m, IMG_SHSTRTAB, 1, SHT_STRTAB, str, sizeof(img_shstrtab));
	img__shdr(m, IMG_ABBREV, 11, SHT_PROGBITS, ab, abbrev->size);
	img__shdr(m, IMG_INFO, 25, SHT_PROGBITS, m->hdr, 0);
	return 0;
}

/* Inflate until the window is full or the stream ends. */
static int img__fill(struct dwarf_img *m)
{
	int ret;

	m->z.next_out = m->buf + m->hdr + m->have;
	m->z.avail_out = m->cap - m->have;
	while (m->z.avail_out && !m->z_end) {
		ret = inflate(&m->z, Z_NO_FLUSH);
		if (ret == Z_STREAM_END)
			m->z_end = true;
		else if (ret != Z_OK)
			return -1;
	}
	m->have = m->cap - m->z.avail_out;
	return 0;
}

/* The unit at off: its header's size and the unit's whole size. 0 or -1. */
static int img__unit(const struct dwarf_img *m, size_t off, size_t *hdr,
		     uint64_t *size)
{
	const uint8_t *p = m->buf + m->hdr + off;
	uint64_t len;
	uint32_t l32;

	if (m->have - off < 12)
		return -1;
	memcpy(&l32, p, 4);
	len = l32;
	*hdr = 4;
	if (l32 == 0xffffffff) {
		memcpy(&len, p + 4, 8);
		*hdr = 12;
	} else if (l32 >= 0xfffffff0) {
		return -1;	/* reserved: not a unit */
	}
	if (len > UINT64_MAX - *hdr)
		return -1;
	*size = *hdr + len;
	return 0;
}

/* Bytes of the window's complete units. */
static size_t img__units(const struct dwarf_img *m)
{
	size_t off = 0, hdr;
	uint64_t size;

	while (!img__unit(m, off, &hdr, &size) && size <= m->have - off)
		off += size;
	return off;
}

/* libdw over the window's first len bytes. */
static void img__scan(struct dwarf_img *m, struct offsets_scan *s, size_t len)
{
	Elf64_Shdr *info = (Elf64_Shdr *)(m->buf + sizeof(Elf64_Ehdr)) + IMG_INFO;
	Dwarf *dw;
	Elf *elf;

	info->sh_size = len;
	elf = elf_memory((char *)m->buf, m->hdr + len);
	dw = elf ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
	if (dw)
		offsets__scan(s, dw);
	dwarf_end(dw);
	elf_end(elf);
}

/*
 * The window holds the head of a unit longer than itself (Go's type unit
 * is megabytes on a large server, and the runtime's structs come first
 * in it). libdw reads that head as a unit of its own: the unit's length
 * is cut to the window for the scan, a NUL after the window ends any
 * string cut with it, and s->cut makes a struct count only once the DIE
 * after it was read, so that none is taken with members missing.
 */
static void img__scan_head(struct dwarf_img *m, struct offsets_scan *s,
			   size_t hdr)
{
	uint8_t *p = m->buf + m->hdr, saved[12];
	uint64_t len = m->have - hdr;
	uint32_t l32 = len;

	memcpy(saved, p, hdr);
	if (hdr == 4)
		memcpy(p, &l32, 4);
	else
		memcpy(p + 4, &len, 8);
	p[m->have] = 0;
	s->cut = true;
	img__scan(m, s, m->have);
	s->cut = false;
	memcpy(p, saved, hdr);
}

/* A window twice as large, no larger than the unit it must hold. */
static int img__grow(struct dwarf_img *m, uint64_t unit, uint64_t total)
{
	size_t cap = m->cap * 2 < unit ? m->cap * 2 : unit;
	uint8_t *buf;

	if (unit <= m->cap || unit > total)
		return -1;
	buf = realloc(m->buf, m->hdr + cap + 1);
	if (!buf)
		return -1;
	m->buf = buf;
	m->cap = cap;
	return 0;
}

/*
 * Window by window until every wanted struct was seen or the section ends:
 * complete units are read and dropped; a unit larger than the window is
 * read as far as inflated, and the window grows until it is found or whole.
 */
static void img__run(struct dwarf_img *m, struct offsets_scan *s,
		     const struct dwarf_zsec *info)
{
	uint64_t size;
	size_t units, hdr;

	m->z.next_in = (Bytef *)info->src;
	m->z.avail_in = info->srclen;
	if (inflateInit(&m->z) != Z_OK)
		return;
	m->z_live = true;
	while (s->left > 0 && !img__fill(m)) {
		units = img__units(m);
		if (units) {
			img__scan(m, s, units);
			m->have -= units;
			memmove(m->buf + m->hdr, m->buf + m->hdr + units, m->have);
			continue;
		}
		if (m->z_end || img__unit(m, 0, &hdr, &size))
			break;
		img__scan_head(m, s, hdr);
		if (s->left > 0 && img__grow(m, size, info->size))
			break;
	}
}

/* 0 when the binary's DWARF was zlib-compressed and has been read here. */
static int offsets__from_zdwarf(struct offsets_scan *s, int fd, size_t window)
{
	struct dwarf_zsec info, abbrev;
	struct dwarf_img m = { 0 };
	GElf_Ehdr eh;
	int ret = -1;
	Elf *elf;

	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || !gelf_getehdr(elf, &eh) || dwarf__find(elf, &info, &abbrev))
		goto out;
	m.machine = eh.e_machine;
	/* a unit's length field must fit; no more than the section holds */
	m.cap = window < info.size ? window : info.size;
	m.cap = m.cap < 64 ? 64 : m.cap;
	if (img__init(&m, &abbrev))
		goto out;
	ret = 0;
	img__run(&m, s, &info);
out:
	if (m.z_live)
		inflateEnd(&m.z);
	free(m.buf);
	elf_end(elf);
	return ret;
}

/*
 * Returns 0 when the binary has DWARF (whatever it held), -1 when not.
 * Plain sections (or zstd ones) go to libdw whole: it maps the former
 * without copying and decompresses the latter itself. window 0 sends
 * zlib ones there too (the tests' reference).
 */
static int offsets__from_dwarf(struct go_offsets *o, const struct gobin *b,
			       size_t window)
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
	s.left = OFF__COUNT;
	if (window && !offsets__from_zdwarf(&s, fd, window)) {
		found = true;
	} else if ((dw = dwarf_begin(fd, DWARF_C_READ))) {
		found = true;
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
	return offsets__load_window(o, b, swiss, DWARF_WINDOW, err, errlen);
}

int offsets__load_window(struct go_offsets *o, const struct gobin *b,
			 bool swiss, size_t window, char *err, size_t errlen)
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
	has_dwarf = offsets__from_dwarf(o, b, window) == 0;
	offsets__from_table(o, b);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (o->off[required[i]] >= 0)
			continue;
		offsets__refuse(o, b, has_dwarf, required[i], err, errlen);
		return -1;
	}
	return 0;
}
