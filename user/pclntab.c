// SPDX-License-Identifier: GPL-2.0
/*
 * Go pclntab reader. Layouts from runtime/symtab.go (pcHeader, functab,
 * _func, pcvalue, step, inlinedCall; symtabinl.go from 1.21): Go 1.16 to
 * 1.27, 64-bit little-endian targets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nameidx.h"
#include "pclntab.h"

#define HDR_SIZE_116	64
#define HDR_SIZE_118	72

struct pclntab {
	const uint8_t *data;
	size_t size;
	uint64_t vaddr;
	uint32_t magic;
	uint8_t minlc;			/* PC quantum: 1 on amd64, 4 on arm64 */
	uint64_t nfunc;
	uint64_t hdr_text, text;
	/* table offsets from the start of the header */
	uint64_t funcname, cu, file, pctab, ftab;
	unsigned ftab_entsz;
	/*
	 * field offsets in _func: Go 1.18 replaced the uintptr entry by a u32,
	 * 1.20 added startLine; pcdata[npcdata] follow nfuncdata
	 */
	unsigned f_nameoff, f_pcfile, f_pcln, f_npcdata, f_cuoff;
	unsigned f_funcid, f_nfuncdata, f_pcdata;
	/* inlinedCall: Go 1.20 dropped parent, file and line, added startLine */
	unsigned inl_size, inl_funcid, inl_nameoff, inl_parentpc;
	/* funcdata live outside the table (go:func.*), reached through mem */
	uint64_t gofunc;
	pclntab_mem_fn mem;
	const void *mem_ctx;
	uint8_t wrapper_id;
	struct nameidx names;		/* name -> the lowest index of that name */
};

static uint64_t le(const uint8_t *b, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | b[n];
	return v;
}

/* Pointer to len bytes at base + off, or NULL if that leaves the table. */
static const uint8_t *pclntab__at(const struct pclntab *p, uint64_t base,
				  uint64_t off, uint64_t len)
{
	if (base > p->size || off > p->size - base ||
	    len > p->size - base - off)
		return NULL;
	return p->data + base + off;
}

static const char *pclntab__str(const struct pclntab *p, uint64_t base,
				uint64_t off)
{
	const uint8_t *s = pclntab__at(p, base, off, 1);

	if (!s || !memchr(s, 0, p->size - (s - p->data)))
		return NULL;
	return (const char *)s;
}

static void pclntab__set_layout(struct pclntab *p)
{
	if (p->magic == PCLNTAB_MAGIC_116) {
		p->f_nameoff = 8, p->f_pcfile = 24, p->f_pcln = 28;
		p->f_npcdata = 32, p->f_cuoff = 36, p->f_funcid = 40;
	} else if (p->magic == PCLNTAB_MAGIC_118) {
		p->f_nameoff = 4, p->f_pcfile = 20, p->f_pcln = 24;
		p->f_npcdata = 28, p->f_cuoff = 32, p->f_funcid = 36;
	} else {
		p->f_nameoff = 4, p->f_pcfile = 20, p->f_pcln = 24;
		p->f_npcdata = 28, p->f_cuoff = 32, p->f_funcid = 40;
	}
	/* funcID, flag, pad, nfuncdata */
	p->f_nfuncdata = p->f_funcid + 3;
	p->f_pcdata = p->f_funcid + 4;
	if (p->magic == PCLNTAB_MAGIC_120) {
		p->inl_size = 16, p->inl_funcid = 0;
		p->inl_nameoff = 4, p->inl_parentpc = 8;
	} else {
		p->inl_size = 20, p->inl_funcid = 2;
		p->inl_nameoff = 12, p->inl_parentpc = 16;
	}
}

static int pclntab__parse_header(struct pclntab *p, char *err, size_t errlen)
{
	const uint8_t *h = p->data;
	bool old;
	uint64_t hdr, room;

	if (p->size < HDR_SIZE_118) {
		snprintf(err, errlen, "pclntab truncated (%zu bytes)", p->size);
		return -1;
	}
	p->magic = le(h, 4);
	if (p->magic == PCLNTAB_MAGIC_116) {
		old = true;
	} else if (p->magic == PCLNTAB_MAGIC_118 || p->magic == PCLNTAB_MAGIC_120) {
		old = false;
	} else {
		snprintf(err, errlen, "unknown pclntab magic 0x%08x", p->magic);
		return -1;
	}
	p->minlc = h[6];
	if (h[4] || h[5] || h[7] != 8 || !p->minlc || p->minlc > 4) {
		snprintf(err, errlen, "unsupported pclntab header (quantum %u, pointer size %u)",
			 h[6], h[7]);
		return -1;
	}
	p->nfunc = le(h + 8, 8);
	hdr = old ? HDR_SIZE_116 : HDR_SIZE_118;
	h += old ? 24 : 32;
	p->hdr_text = old ? 0 : le(h - 8, 8);
	p->funcname = le(h, 8);
	p->cu = le(h + 8, 8);
	p->file = le(h + 16, 8);
	p->pctab = le(h + 24, 8);
	p->ftab = le(h + 32, 8);
	p->ftab_entsz = old ? 16 : 8;
	pclntab__set_layout(p);

	if (p->funcname < hdr || p->cu < hdr || p->file < hdr ||
	    p->pctab < hdr || p->ftab < hdr || p->funcname > p->size ||
	    p->cu > p->size || p->file > p->size || p->pctab > p->size ||
	    p->ftab > p->size)
		goto corrupt;
	/*
	 * functab holds nfunc + 1 entries, the last being the end PC; bounding
	 * nfunc by it also keeps a corrupt count from exhausting memory
	 */
	room = (p->size - p->ftab) / p->ftab_entsz;
	if (!room || p->nfunc > room - 1)
		goto corrupt;
	return 0;
corrupt:
	snprintf(err, errlen, "corrupt pclntab header");
	return -1;
}

static uint64_t pclntab__entry(const struct pclntab *p, uint64_t i)
{
	const uint8_t *e = p->data + p->ftab + i * p->ftab_entsz;

	if (p->ftab_entsz == 16)
		return le(e, 8);
	return p->text + le(e, 4);
}

/* The first len bytes of function i's _func record. */
static const uint8_t *pclntab__funcrec_len(const struct pclntab *p, uint64_t i,
					   uint64_t len)
{
	const uint8_t *e = p->data + p->ftab + i * p->ftab_entsz;
	uint64_t off;

	off = p->ftab_entsz == 16 ? le(e + 8, 8) : le(e + 4, 4);
	return pclntab__at(p, p->ftab, off, len);
}

/* The _func record of function i, up to and including cuOffset. */
static const uint8_t *pclntab__funcrec(const struct pclntab *p, uint64_t i)
{
	return pclntab__funcrec_len(p, i, p->f_cuoff + 4);
}

/* The same with its pcdata offsets (what pcdata lookups read). */
static const uint8_t *pclntab__funcrec_pcdata(const struct pclntab *p,
					      uint64_t i)
{
	const uint8_t *f = pclntab__funcrec_len(p, i, p->f_pcdata);

	if (!f)
		return NULL;
	return pclntab__funcrec_len(p, i, p->f_pcdata + 4 * le(f + p->f_npcdata, 4));
}

/* A name in funcnametab, from an _func's or an inlinedCall's nameOff. */
static const char *pclntab__nameoff(const struct pclntab *p, int32_t off)
{
	if (off < 0)
		return NULL;
	return pclntab__str(p, p->funcname, off);
}

static const char *pclntab__name(const struct pclntab *p, uint64_t i)
{
	const uint8_t *f = pclntab__funcrec(p, i);

	if (!f)
		return NULL;
	return pclntab__nameoff(p, (int32_t)le(f + p->f_nameoff, 4));
}

static int pclntab__index_names(struct pclntab *p)
{
	uint64_t i;

	if (nameidx__init(&p->names, p->nfunc))
		return -1;
	for (i = 0; i < p->nfunc; i++) {
		const char *name = pclntab__name(p, i);

		if (name)
			nameidx__add(&p->names, name, i);
	}
	return 0;
}

struct pclntab *pclntab__open(const uint8_t *data, size_t size, uint64_t vaddr,
			      char *err, size_t errlen)
{
	struct pclntab *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->data = data;
	p->size = size;
	p->vaddr = vaddr;
	if (pclntab__parse_header(p, err, errlen))
		goto out_free;
	/* Go 1.18 to 1.25 record runtime.text; gobin may know better */
	p->text = p->hdr_text;
	if (pclntab__index_names(p)) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	return p;
out_free:
	free(p);
	return NULL;
}

void pclntab__close(struct pclntab *p)
{
	if (!p)
		return;
	nameidx__free(&p->names);
	free(p);
}

uint32_t pclntab__magic(const struct pclntab *p)
{
	return p->magic;
}

uint64_t pclntab__vaddr(const struct pclntab *p)
{
	return p->vaddr;
}

size_t pclntab__size(const struct pclntab *p)
{
	return p->size;
}

bool pclntab__needs_text(const struct pclntab *p)
{
	return p->magic != PCLNTAB_MAGIC_116;
}

uint64_t pclntab__header_text(const struct pclntab *p)
{
	return p->hdr_text;
}

void pclntab__set_text(struct pclntab *p, uint64_t text)
{
	if (pclntab__needs_text(p))
		p->text = text;
}

uint64_t pclntab__text(const struct pclntab *p)
{
	if (!pclntab__needs_text(p))
		return p->nfunc ? pclntab__entry(p, 0) : 0;
	return p->text;
}

int pclntab__moduledata_text(const struct pclntab *p, const uint8_t *md,
			     uint64_t *text)
{
	uint64_t t = le(md + MODULEDATA_TEXT, 8);

	if (le(md + MODULEDATA_PCHEADER, 8) != p->vaddr ||
	    le(md + MODULEDATA_FUNCNAMETAB, 8) != p->vaddr + p->funcname)
		return -1;
	/* the runtime checks the same at start-up (moduledataverify1) */
	if (p->nfunc && pclntab__needs_text(p) &&
	    (le(md + MODULEDATA_MINPC, 8) != t + le(p->data + p->ftab, 4) ||
	     le(md + MODULEDATA_MAXPC, 8) !=
		     t + le(p->data + p->ftab + p->nfunc * 8, 4)))
		return -1;
	*text = t;
	return 0;
}

void pclntab__set_funcdata(struct pclntab *p, uint64_t gofunc,
			   pclntab_mem_fn mem, const void *ctx)
{
	p->gofunc = gofunc;
	p->mem = mem;
	p->mem_ctx = ctx;
}

uint64_t pclntab__gofunc(const struct pclntab *p)
{
	return p->gofunc;
}

void pclntab__set_wrapper_funcid(struct pclntab *p, uint8_t id)
{
	p->wrapper_id = id;
}

size_t pclntab__nfunc(const struct pclntab *p)
{
	return p->nfunc;
}

int pclntab__func(const struct pclntab *p, size_t i, struct gofunc *f)
{
	if (i >= p->nfunc)
		return -1;
	f->name = pclntab__name(p, i);
	f->start = pclntab__entry(p, i);
	f->end = pclntab__entry(p, i + 1);
	return f->name ? 0 : -1;
}

int pclntab__find_pc(const struct pclntab *p, uint64_t pc, size_t *i)
{
	uint64_t lo = 0, hi = p->nfunc, mid;

	if (!p->nfunc || pc < pclntab__entry(p, 0) ||
	    pc >= pclntab__entry(p, p->nfunc))
		return -1;
	/* entry(lo) <= pc < entry(hi) */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (pclntab__entry(p, mid) <= pc)
			lo = mid;
		else
			hi = mid;
	}
	*i = lo;
	return 0;
}

int pclntab__find_name(const struct pclntab *p, const char *name, size_t *i)
{
	uint32_t idx;

	if (nameidx__find(&p->names, name, &idx))
		return -1;
	*i = idx;
	return 0;
}

static bool pclntab__uvarint(const struct pclntab *p, uint64_t *pos,
			     uint32_t *v)
{
	uint32_t x = 0;
	unsigned shift;
	uint8_t b;

	for (shift = 0; shift < 35; shift += 7) {
		if (*pos >= p->size)
			return false;
		b = p->data[(*pos)++];
		x |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* runtime.pcvalue: the value in table off that covers pc, or -1. */
static int32_t pclntab__pcvalue(const struct pclntab *p, uint32_t off,
				uint64_t entry, uint64_t pc)
{
	uint64_t pos, cur = entry;
	uint32_t val = (uint32_t)-1, uv, pd;
	bool first = true;

	if (!off || p->pctab > p->size || off >= p->size - p->pctab)
		return -1;
	pos = p->pctab + off;
	for (;;) {
		if (!pclntab__uvarint(p, &pos, &uv) || (!uv && !first))
			return -1;
		first = false;
		val += -(uv & 1) ^ (uv >> 1);	/* zig-zag */
		if (!pclntab__uvarint(p, &pos, &pd))
			return -1;
		cur += (uint64_t)pd * p->minlc;
		if (pc < cur)
			return (int32_t)val;
	}
}

void pclntab__line(const struct pclntab *p, size_t i, uint64_t pc,
		   const char **file, int *line)
{
	const uint8_t *f = pclntab__funcrec(p, i), *fo;
	uint64_t entry = pclntab__entry(p, i);
	int32_t ln, fileno;

	*file = NULL;
	*line = 0;
	if (!f)
		return;
	ln = pclntab__pcvalue(p, le(f + p->f_pcln, 4), entry, pc);
	*line = ln > 0 ? ln : 0;
	fileno = pclntab__pcvalue(p, le(f + p->f_pcfile, 4), entry, pc);
	if (fileno < 0)
		return;
	/* cutab[cuOffset + fileno] is an offset into filetab; ~0 is none */
	fo = pclntab__at(p, p->cu, (le(f + p->f_cuoff, 4) + (uint64_t)fileno) * 4, 4);
	if (fo && le(fo, 4) != 0xffffffff)
		*file = pclntab__str(p, p->file, le(fo, 4));
}

int pclntab__funcid(const struct pclntab *p, size_t i)
{
	const uint8_t *f = i < p->nfunc ? pclntab__funcrec_len(p, i, p->f_pcdata) : NULL;

	return f ? f[p->f_funcid] : -1;
}

/* runtime.pcdatavalue: table's value at pc; -1 if f has no such table. */
static int32_t pclntab__pcdata(const struct pclntab *p, const uint8_t *f,
			       unsigned table, uint64_t entry, uint64_t pc)
{
	if (table >= le(f + p->f_npcdata, 4))
		return -1;
	return pclntab__pcvalue(p, le(f + p->f_pcdata + 4 * table, 4), entry, pc);
}

/*
 * runtime.funcdata(FUNCDATA_InlTree) of f, at table offset foff: the inline
 * tree's address, or 0. Go 1.18 made funcdata u32 offsets from gofunc (~0:
 * none); before they were addresses, 8-aligned in memory, which the
 * internal linker writes in place even for PIE.
 */
static uint64_t pclntab__inltree(const struct pclntab *p, const uint8_t *f,
				 uint64_t foff)
{
	uint64_t slot = foff + p->f_pcdata + 4 * le(f + p->f_npcdata, 4);
	const uint8_t *d;
	uint32_t off;

	if (FUNCDATA_INLTREE >= f[p->f_nfuncdata])
		return 0;
	if (p->magic == PCLNTAB_MAGIC_116) {
		if ((p->vaddr + slot) & 4)
			slot += 4;
		d = pclntab__at(p, slot, FUNCDATA_INLTREE * 8, 8);
		return d ? le(d, 8) : 0;
	}
	d = pclntab__at(p, slot, FUNCDATA_INLTREE * 4, 4);
	if (!d || !p->gofunc)
		return 0;
	off = le(d, 4);
	return off == 0xffffffff ? 0 : p->gofunc + off;
}

static void pclntab__frame(const struct pclntab *p, size_t i, uint64_t pc,
			   const char *name, uint8_t funcid, bool inlined,
			   struct pcframe *fr)
{
	fr->func = name ? name : "?";
	pclntab__line(p, i, pc, &fr->file, &fr->line);
	fr->inlined = inlined;
	fr->wrapper = p->wrapper_id && funcid == p->wrapper_id;
}

/*
 * The runtime's inlineUnwinder (Go 1.21; the same walk in gentraceback and
 * CallersFrames before): the inline tree index at pc names the innermost
 * inlined call; its parentPc is an instruction of the caller's, inside the
 * same function, where the walk goes on. file:line always come from the
 * function's own tables, which give the inlined code's position.
 */
int pclntab__frames(const struct pclntab *p, uint64_t pc, struct pcframe *out,
		    int max)
{
	const uint8_t *f, *ic;
	uint64_t entry, tree = 0;
	int32_t ix = -1;
	size_t i;
	int n = 0;

	if (max <= 0 || pclntab__find_pc(p, pc, &i) ||
	    !(f = pclntab__funcrec_pcdata(p, i)))
		return 0;
	entry = pclntab__entry(p, i);
	if (p->mem)
		tree = pclntab__inltree(p, f, f - p->data);
	if (tree)
		ix = pclntab__pcdata(p, f, PCDATA_INLTREEINDEX, entry, pc);
	/* n < max also ends a loop in a corrupt tree */
	while (ix >= 0 && n < max) {
		ic = p->mem(p->mem_ctx, tree + (uint64_t)ix * p->inl_size,
			    p->inl_size);
		if (!ic)
			break;
		pclntab__frame(p, i, pc,
			       pclntab__nameoff(p, (int32_t)le(ic + p->inl_nameoff, 4)),
			       ic[p->inl_funcid], true, &out[n++]);
		pc = entry + (int32_t)le(ic + p->inl_parentpc, 4);
		ix = pclntab__pcdata(p, f, PCDATA_INLTREEINDEX, entry, pc);
	}
	if (n < max)
		pclntab__frame(p, i, pc, pclntab__name(p, i), f[p->f_funcid],
			       false, &out[n++]);
	return n;
}

const char *pclntab__lookup(const struct pclntab *p, uint64_t pc,
			    const char **file, int *line, uint64_t *entry)
{
	const char *name, *fl;
	size_t i;
	int ln;

	if (pclntab__find_pc(p, pc, &i))
		return NULL;
	name = pclntab__name(p, i);
	if (!name)
		return NULL;
	if (entry)
		*entry = pclntab__entry(p, i);
	if (file || line) {
		pclntab__line(p, i, pc, &fl, &ln);
		if (file)
			*file = fl;
		if (line)
			*line = ln;
	}
	return name;
}
