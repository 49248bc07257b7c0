// SPDX-License-Identifier: GPL-2.0
/*
 * A Go ELF binary: libelf for the ELF structure, buildinfo.c for the version,
 * pclntab.c for functions and lines. The file is mapped read-only once and
 * never rescanned: everything handed out (names, files, bytes) points into
 * that mapping or libelf's until gobin__close, and lookups only read.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buildinfo.h"
#include "gobin.h"
#include "nameidx.h"
#include "pclntab.h"

struct gobin_seg {
	uint64_t vaddr, off, filesz;
	uint32_t flags;
};

struct gobin_sym {
	const char *name;
	uint64_t addr, size;
};

/* Symbols gobin itself needs, whatever their type. */
enum gobin_special {
	SYM_TEXT,		/* runtime.text: base of pclntab entry offsets */
	SYM_PCLNTAB,
	SYM_EPCLNTAB,
	SYM_MODULEDATA,
	SYM_BUILDVERSION,
	SYM_GOFUNC,		/* base of funcdata offsets, Go 1.18+ */
	SYM__COUNT,
};

static const char *const gobin_special_names[SYM__COUNT] = {
	[SYM_TEXT] = "runtime.text",
	[SYM_PCLNTAB] = "runtime.pclntab",
	[SYM_EPCLNTAB] = "runtime.epclntab",
	[SYM_MODULEDATA] = "runtime.firstmoduledata",
	[SYM_BUILDVERSION] = "runtime.buildVersion",
	[SYM_GOFUNC] = "go:func.*",
};

struct gobin_priv {
	const uint8_t *map;
	size_t size;
	struct gobin_seg *segs;
	size_t nsegs;
	struct gobin_sym *by_name;	/* every STT_FUNC, in symtab order */
	struct nameidx names;		/* name -> the first in by_name */
	struct gobin_sym *by_addr;	/* those with a size */
	size_t nsyms, naddr;
	uint64_t special[SYM__COUNT];	/* 0: absent */
	/* sections by name, NULL when absent */
	const uint8_t *buildinfo, *pclntab;
	size_t buildinfo_len, pclntab_len;
	uint64_t pclntab_addr;
	bool borrowed;			/* map is the caller's (gobin__open_mem) */
	void *elf_image;		/* libelf's private copy of it */
};

static struct gobin_priv *gobin__priv(const struct gobin *b)
{
	return b->priv;
}

__attribute__((format(printf, 4, 5)))
static int gobin__err(const struct gobin *b, char *err, size_t errlen,
		      const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (errlen)
		snprintf(err, errlen, "%s: %s", b->path, msg);
	return -1;
}

static const uint8_t *gobin__priv_bytes(const struct gobin_priv *pv,
					uint64_t vaddr, size_t len)
{
	size_t i;

	for (i = 0; pv && i < pv->nsegs; i++) {
		const struct gobin_seg *s = &pv->segs[i];

		if (vaddr < s->vaddr || vaddr - s->vaddr >= s->filesz)
			continue;
		if (len > s->filesz - (vaddr - s->vaddr))
			return NULL;
		return pv->map + s->off + (vaddr - s->vaddr);
	}
	return NULL;
}

const uint8_t *gobin__bytes(const struct gobin *b, uint64_t vaddr, size_t len)
{
	return gobin__priv_bytes(gobin__priv(b), vaddr, len);
}

int gobin__read(const struct gobin *b, uint64_t vaddr, void *buf, size_t len)
{
	const uint8_t *p = gobin__bytes(b, vaddr, len);

	if (!p)
		return -1;
	memcpy(buf, p, len);
	return 0;
}

int gobin__file_offset(const struct gobin *b, uint64_t vaddr, uint64_t *off)
{
	const uint8_t *p = gobin__bytes(b, vaddr, 1);

	if (!p)
		return -1;
	*off = p - gobin__priv(b)->map;
	return 0;
}

static int gobin__read_cb(void *ctx, uint64_t vaddr, void *buf, size_t len)
{
	return gobin__read(ctx, vaddr, buf, len);
}

static int gobin__check_ehdr(struct gobin *b, char *err, size_t errlen)
{
	GElf_Ehdr eh;

	if (elf_kind(b->elf) != ELF_K_ELF || !gelf_getehdr(b->elf, &eh))
		return gobin__err(b, err, errlen, "not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return gobin__err(b, err, errlen, "not a 64-bit ELF file");
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return gobin__err(b, err, errlen, "not a little-endian ELF file");
	if (eh.e_machine != EM_X86_64 && eh.e_machine != EM_AARCH64)
		return gobin__err(b, err, errlen,
				  "unsupported machine %u (want x86_64 or aarch64)",
				  eh.e_machine);
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return gobin__err(b, err, errlen, "not an executable (ELF type %u)",
				  eh.e_type);
	b->machine = eh.e_machine;
	b->pie = eh.e_type == ET_DYN;
	return 0;
}

static int gobin__load_segments(struct gobin *b, char *err, size_t errlen)
{
	struct gobin_priv *pv = gobin__priv(b);
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(b->elf, &n))
		return gobin__err(b, err, errlen, "no program headers: %s",
				  elf_errmsg(-1));
	pv->segs = calloc(n ? n : 1, sizeof(*pv->segs));
	if (!pv->segs)
		return gobin__err(b, err, errlen, "out of memory");
	for (i = 0; i < n; i++) {
		struct gobin_seg *s = &pv->segs[pv->nsegs];

		if (!gelf_getphdr(b->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		s->vaddr = ph.p_vaddr;
		s->off = ph.p_offset;
		s->flags = ph.p_flags;
		/* a truncated file keeps what it has */
		if (ph.p_offset <= pv->size)
			s->filesz = ph.p_filesz < pv->size - ph.p_offset ?
				    ph.p_filesz : pv->size - ph.p_offset;
		pv->nsegs++;
	}
	return 0;
}

static const uint8_t *gobin__section_data(const struct gobin *b,
					  const GElf_Shdr *sh)
{
	const struct gobin_priv *pv = gobin__priv(b);

	if (sh->sh_type == SHT_NOBITS || sh->sh_offset > pv->size ||
	    sh->sh_size > pv->size - sh->sh_offset)
		return NULL;
	return pv->map + sh->sh_offset;
}

static int gobin__cmp_addr(const void *a, const void *b)
{
	const struct gobin_sym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

static void gobin__note_special(struct gobin_priv *pv, const char *name,
				uint64_t value)
{
	int i;

	/* go.func.* before Go 1.20 */
	if (!strcmp(name, "go.func.*") && !pv->special[SYM_GOFUNC])
		pv->special[SYM_GOFUNC] = value;
	if (strncmp(name, "runtime.", 8) && strncmp(name, "go:", 3))
		return;
	for (i = 0; i < SYM__COUNT; i++) {
		if (!strcmp(name, gobin_special_names[i]) && !pv->special[i])
			pv->special[i] = value;
	}
}

/* Runtime symbols are LOCAL in externally linked (cgo) binaries: any binding. */
static int gobin__load_symtab(struct gobin *b, Elf_Scn *scn, const GElf_Shdr *sh)
{
	struct gobin_priv *pv = gobin__priv(b);
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n;
	GElf_Sym sym;

	if (!data || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	pv->by_name = calloc(n ? n : 1, sizeof(*pv->by_name));
	if (!pv->by_name)
		return -1;
	for (i = 1; i < n; i++) {
		const char *name;

		if (!gelf_getsym(data, i, &sym))
			break;
		name = elf_strptr(b->elf, sh->sh_link, sym.st_name);
		if (!name || !*name || sym.st_shndx == SHN_UNDEF)
			continue;
		gobin__note_special(pv, name, sym.st_value);
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		pv->by_name[pv->nsyms++] = (struct gobin_sym){
			name, sym.st_value, sym.st_size };
	}
	return 0;
}

static int gobin__index_symbols(struct gobin *b)
{
	struct gobin_priv *pv = gobin__priv(b);
	size_t i;

	b->has_symtab = pv->nsyms > 0;
	if (!b->has_symtab)
		return 0;
	pv->by_addr = calloc(pv->nsyms ? pv->nsyms : 1, sizeof(*pv->by_addr));
	if (!pv->by_addr)
		return -1;
	if (nameidx__init(&pv->names, pv->nsyms))
		return -1;
	for (i = 0; i < pv->nsyms; i++) {
		nameidx__add(&pv->names, pv->by_name[i].name, i);
		if (pv->by_name[i].size)
			pv->by_addr[pv->naddr++] = pv->by_name[i];
	}
	qsort(pv->by_addr, pv->naddr, sizeof(*pv->by_addr), gobin__cmp_addr);
	return 0;
}

static int gobin__load_sections(struct gobin *b, char *err, size_t errlen)
{
	struct gobin_priv *pv = gobin__priv(b);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	const char *name;

	if (elf_getshdrstrndx(b->elf, &shstrndx))
		return 0;	/* no section headers: the fallbacks may work */
	while ((scn = elf_nextscn(b->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(b->elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (sh.sh_type == SHT_SYMTAB && !pv->by_name) {
			if (gobin__load_symtab(b, scn, &sh))
				return gobin__err(b, err, errlen, "out of memory");
		} else if (!strcmp(name, ".go.buildinfo")) {
			pv->buildinfo = gobin__section_data(b, &sh);
			pv->buildinfo_len = pv->buildinfo ? sh.sh_size : 0;
		} else if (!strcmp(name, ".gopclntab") ||
			   !strcmp(name, ".data.rel.ro.gopclntab")) {
			/* the latter: internally linked PIE before Go 1.26 */
			pv->pclntab = gobin__section_data(b, &sh);
			pv->pclntab_len = pv->pclntab ? sh.sh_size : 0;
			pv->pclntab_addr = sh.sh_addr;
		}
	}
	if (gobin__index_symbols(b))
		return gobin__err(b, err, errlen, "out of memory");
	return 0;
}

/*
 * Next match of magic at an align-aligned address in segment s's file data,
 * searching from offset *from (0 to start), which is left past the match.
 */
static const uint8_t *gobin__scan(const struct gobin *b,
				  const struct gobin_seg *s, size_t align,
				  const void *magic, size_t len, size_t *from)
{
	const uint8_t *base = gobin__priv(b)->map + s->off;
	size_t off = *from;

	if (!off)
		off = (align - s->vaddr % align) % align;
	for (; off + len <= s->filesz; off += align) {
		if (!memcmp(base + off, magic, len)) {
			*from = off + align;
			return base + off;
		}
	}
	*from = off;
	return NULL;
}

/* Other formats than ELF keep the blob at the start of writable data. */
static const uint8_t *gobin__find_buildinfo(const struct gobin *b, size_t *len)
{
	const struct gobin_priv *pv = gobin__priv(b);
	const uint8_t *p;
	size_t i, from;

	if (pv->buildinfo) {
		*len = pv->buildinfo_len;
		return pv->buildinfo;
	}
	for (i = 0; i < pv->nsegs; i++) {
		if (!(pv->segs[i].flags & PF_W))
			continue;
		from = 0;
		p = gobin__scan(b, &pv->segs[i], BUILDINFO_ALIGN, BUILDINFO_MAGIC,
				BUILDINFO_MAGIC_LEN, &from);
		if (p) {
			*len = pv->segs[i].filesz - (from - BUILDINFO_ALIGN);
			return p;
		}
	}
	return NULL;
}

/* Returns whether a build info blob exists, parsed or not. */
static bool gobin__load_version(struct gobin *b)
{
	const struct gobin_priv *pv = gobin__priv(b);
	char s[sizeof(b->ver.raw)] = "";
	const uint8_t *blob;
	size_t len = 0;

	blob = gobin__find_buildinfo(b, &len);
	if (!blob || buildinfo__decode(blob, len, gobin__read_cb, b, s, sizeof(s))) {
		if (pv->special[SYM_BUILDVERSION])
			buildinfo__string(pv->special[SYM_BUILDVERSION],
					  gobin__read_cb, b, s, sizeof(s));
	}
	b->has_version = s[0] && !go_version__parse(&b->ver, s);
	return blob != NULL;
}

/*
 * runtime.moduledata starts with a pointer to the pclntab header: look for
 * that pointer in writable data. The linker writes link-time values in place
 * even for PIE, so no relocation processing is needed. Returns its
 * MODULEDATA_SIZE bytes, and its text field.
 */
static const uint8_t *gobin__moduledata(const struct gobin *b, uint64_t *text)
{
	const struct gobin_priv *pv = gobin__priv(b);
	uint64_t want = pclntab__vaddr(b->pcln), md = pv->special[SYM_MODULEDATA];
	const uint8_t *p;
	uint8_t magic[8];
	size_t i, from;

	p = md ? gobin__bytes(b, md, MODULEDATA_SIZE) : NULL;
	if (p && !pclntab__moduledata_text(b->pcln, p, text))
		return p;
	for (i = 0; i < 8; i++)
		magic[i] = want >> (8 * i);
	for (i = 0; i < pv->nsegs; i++) {
		const struct gobin_seg *s = &pv->segs[i];

		if (!(s->flags & PF_W))
			continue;
		from = 0;
		while ((p = gobin__scan(b, s, 8, magic, 8, &from))) {
			if (s->filesz - (from - 8) >= MODULEDATA_SIZE &&
			    !pclntab__moduledata_text(b->pcln, p, text))
				return p;
		}
	}
	return NULL;
}

static int gobin__moduledata_text(const struct gobin *b, uint64_t *text)
{
	return gobin__moduledata(b, text) ? 0 : -1;
}

static bool gobin__executable(const struct gobin *b, uint64_t vaddr)
{
	const struct gobin_priv *pv = gobin__priv(b);
	size_t i;

	for (i = 0; i < pv->nsegs; i++) {
		const struct gobin_seg *s = &pv->segs[i];

		if ((s->flags & PF_X) && vaddr >= s->vaddr &&
		    vaddr - s->vaddr < s->filesz)
			return true;
	}
	return false;
}

/*
 * runtime.text is not the .text section in externally linked binaries, and
 * Go 1.26 stopped recording it in the header: symbol, header, module data.
 */
static int gobin__resolve_text(struct gobin *b, char *err, size_t errlen)
{
	uint64_t text = gobin__priv(b)->special[SYM_TEXT];
	struct gofunc f;

	if (!text)
		text = pclntab__header_text(b->pcln);
	if (!text && pclntab__needs_text(b->pcln) &&
	    gobin__moduledata_text(b, &text))
		return gobin__err(b, err, errlen,
				  "cannot find runtime.text (no symbol, header or module data)");
	pclntab__set_text(b->pcln, text);
	b->text_start = pclntab__text(b->pcln);
	if (!pclntab__func(b->pcln, 0, &f) && !gobin__executable(b, f.start))
		return gobin__err(b, err, errlen,
				  "pclntab functions start outside code (%#llx)",
				  (unsigned long long)f.start);
	return 0;
}

/*
 * Externally linked (cgo) PIE before Go 1.26 has the table inside
 * .data.rel.ro, so stripped it has neither section nor symbol: find the
 * header's magic, and accept it only if module data points at it.
 */
static struct pclntab *gobin__scan_pclntab(struct gobin *b)
{
	static const uint32_t magics[] = {
		PCLNTAB_MAGIC_120, PCLNTAB_MAGIC_118, PCLNTAB_MAGIC_116 };
	const struct gobin_priv *pv = gobin__priv(b);
	const uint8_t *p;
	uint8_t magic[4];
	uint64_t text;
	size_t i, m, from;
	char err[8];

	for (i = 0; i < pv->nsegs; i++) {
		const struct gobin_seg *s = &pv->segs[i];

		if (s->flags & PF_X)
			continue;
		for (m = 0; m < sizeof(magics) / sizeof(magics[0]); m++) {
			magic[0] = magics[m];	/* little-endian; 0xff above */
			memset(magic + 1, 0xff, 3);
			from = 0;
			while ((p = gobin__scan(b, s, 8, magic, 4, &from))) {
				b->pcln = pclntab__open(p, s->filesz - (from - 8),
							s->vaddr + (from - 8),
							err, sizeof(err));
				if (b->pcln && !gobin__moduledata_text(b, &text))
					return b->pcln;
				pclntab__close(b->pcln);
				b->pcln = NULL;
			}
		}
	}
	return NULL;
}

static uint64_t gobin__le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/*
 * moduledata.gofunc read at field off, if it is an address in the file and
 * not below rodata, the field before it in every release; else 0.
 */
static uint64_t gobin__gofunc_at(const struct gobin *b, const uint8_t *md,
				 size_t off)
{
	uint64_t v = gobin__le64(md + off);

	if (v < gobin__le64(md + off - 8) || !gobin__bytes(b, v, 1))
		return 0;
	return v;
}

/*
 * The base of funcdata offsets (Go 1.18+): the go:func.* symbol, else module
 * data's gofunc at the release's offset (each candidate if the release is
 * not known).
 */
static uint64_t gobin__gofunc(const struct gobin *b)
{
	uint64_t gofunc = gobin__priv(b)->special[SYM_GOFUNC], text;
	bool known = b->has_version;
	const uint8_t *md;

	if (gofunc || !pclntab__needs_text(b->pcln))
		return gofunc;
	md = gobin__moduledata(b, &text);
	if (!md)
		return 0;
	if (pclntab__magic(b->pcln) == PCLNTAB_MAGIC_118)
		return gobin__gofunc_at(b, md, MODULEDATA_GOFUNC_118);
	if (known && go_version__cmp(&b->ver, 1, 27, 0) >= 0)
		return gobin__gofunc_at(b, md, MODULEDATA_GOFUNC_127);
	gofunc = gobin__gofunc_at(b, md, MODULEDATA_GOFUNC_120);
	if (!gofunc && !known)
		gofunc = gobin__gofunc_at(b, md, MODULEDATA_GOFUNC_127);
	return gofunc;
}

/*
 * abi.FuncIDWrapper, the last of an enum that gained and lost members
 * (runtime/symtab.go; internal/abi/symtab.go from Go 1.21). Releases past
 * the table: the largest funcID in the binary, as every Go program has
 * wrappers (method wrappers, generated eq functions).
 */
static uint8_t gobin__wrapper_funcid(const struct gobin *b)
{
	static const struct {
		int minor;
		uint8_t id;
	} ids[] = {
		{ 17, 22 },
		{ 18, 21 },	/* jmpdefer gone */
		{ 22, 22 },	/* corostart */
		{ 25, 23 },	/* runfinq split in runFinalizers and runCleanups */
		{ 28, 0 },	/* not known yet */
	};
	size_t i, n = sizeof(ids) / sizeof(ids[0]);
	int id, max = 0;

	if (b->has_version && b->ver.major == 1) {
		/* the last row at or below the release; i wraps if none */
		for (i = n; i-- > 0;)
			if (b->ver.minor >= ids[i].minor)
				break;
		if (i < n && ids[i].id)
			return ids[i].id;
	}
	for (i = 0; i < pclntab__nfunc(b->pcln); i++) {
		id = pclntab__funcid(b->pcln, i);
		if (id > max)
			max = id;
	}
	return max;
}

/* On the private part: a struct gobin may be copied, its priv stays put. */
static const uint8_t *gobin__mem_cb(const void *ctx, uint64_t vaddr, size_t len)
{
	return gobin__priv_bytes(ctx, vaddr, len);
}

/* Returns 1 if there is no pclntab at all, 0 if loaded, -1 on error. */
static int gobin__load_pclntab(struct gobin *b, char *err, size_t errlen)
{
	const struct gobin_priv *pv = gobin__priv(b);
	uint64_t start = pv->special[SYM_PCLNTAB], end = pv->special[SYM_EPCLNTAB];
	const uint8_t *data = pv->pclntab;
	char why[128];

	if (data) {
		b->pcln = pclntab__open(data, pv->pclntab_len, pv->pclntab_addr,
					why, sizeof(why));
	} else if (start && end > start &&
		   (data = gobin__bytes(b, start, end - start))) {
		b->pcln = pclntab__open(data, end - start, start, why,
					sizeof(why));
	} else if (!gobin__scan_pclntab(b)) {
		return 1;
	}
	if (!b->pcln)
		return gobin__err(b, err, errlen, "%s", why);
	if (gobin__resolve_text(b, err, errlen))
		return -1;
	/* inlined frames are extra: without them lookups still work */
	pclntab__set_funcdata(b->pcln, gobin__gofunc(b), gobin__mem_cb, b->priv);
	pclntab__set_wrapper_funcid(b->pcln, gobin__wrapper_funcid(b));
	return 0;
}

static int gobin__map(struct gobin *b, char *err, size_t errlen)
{
	struct gobin_priv *pv = gobin__priv(b);
	struct stat st;
	void *map;

	b->fd = open(b->path, O_RDONLY | O_CLOEXEC);
	if (b->fd < 0 || fstat(b->fd, &st))
		return gobin__err(b, err, errlen, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return gobin__err(b, err, errlen, "not a regular file");
	if (!st.st_size)
		return gobin__err(b, err, errlen, "not an ELF file");
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, b->fd, 0);
	if (map == MAP_FAILED)
		return gobin__err(b, err, errlen, "mmap: %s", strerror(errno));
	pv->map = map;
	pv->size = st.st_size;
	return 0;
}

/* What gobin__open and gobin__open_mem share once the image is there. */
static int gobin__load(struct gobin *b, char *err, size_t errlen)
{
	bool has_buildinfo;
	int ret;

	if (gobin__check_ehdr(b, err, errlen) ||
	    gobin__load_segments(b, err, errlen) ||
	    gobin__load_sections(b, err, errlen))
		return -1;
	has_buildinfo = gobin__load_version(b);
	ret = gobin__load_pclntab(b, err, errlen);
	if (ret > 0)
		return gobin__err(b, err, errlen, has_buildinfo ?
				  "no pclntab found" :
				  "not a Go binary (no .go.buildinfo and no .gopclntab)");
	return ret < 0 ? -1 : 0;
}

int gobin__open(struct gobin *b, const char *path, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->priv = calloc(1, sizeof(struct gobin_priv));
	if (!b->priv)
		return gobin__err(b, err, errlen, "out of memory");
	if (gobin__map(b, err, errlen))
		goto out_close;
	elf_version(EV_CURRENT);
	/* libelf's own read-only mapping: elf_memory() may write to its image */
	b->elf = elf_begin(b->fd, ELF_C_READ_MMAP, NULL);
	if (!b->elf) {
		gobin__err(b, err, errlen, "not an ELF file");
		goto out_close;
	}
	if (gobin__load(b, err, errlen))
		goto out_close;
	return 0;
out_close:
	gobin__close(b);
	return -1;
}

int gobin__open_mem(struct gobin *b, const void *data, size_t size,
		    const char *name, char *err, size_t errlen)
{
	struct gobin_priv *pv;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	snprintf(b->path, sizeof(b->path), "%s", name);
	b->priv = pv = calloc(1, sizeof(struct gobin_priv));
	if (!pv)
		return gobin__err(b, err, errlen, "out of memory");
	if (!size) {
		gobin__err(b, err, errlen, "not an ELF file");
		goto out_close;
	}
	pv->map = data;
	pv->size = size;
	pv->borrowed = true;
	/*
	 * elf_memory() may write to its image (byte-order conversion in
	 * place), and what gobin hands out must stay the caller's bytes:
	 * libelf gets a copy of its own.
	 */
	pv->elf_image = malloc(size);
	if (!pv->elf_image) {
		gobin__err(b, err, errlen, "out of memory");
		goto out_close;
	}
	memcpy(pv->elf_image, data, size);
	elf_version(EV_CURRENT);
	b->elf = elf_memory(pv->elf_image, size);
	if (!b->elf) {
		gobin__err(b, err, errlen, "not an ELF file");
		goto out_close;
	}
	if (gobin__load(b, err, errlen))
		goto out_close;
	return 0;
out_close:
	gobin__close(b);
	return -1;
}

void gobin__close(struct gobin *b)
{
	struct gobin_priv *pv = b->priv;

	pclntab__close(b->pcln);
	if (b->elf)
		elf_end(b->elf);
	if (pv) {
		if (pv->map && !pv->borrowed)
			munmap((void *)pv->map, pv->size);
		free(pv->elf_image);
		free(pv->segs);
		free(pv->by_name);
		nameidx__free(&pv->names);
		free(pv->by_addr);
		free(pv);
	}
	if (b->fd >= 0)
		close(b->fd);
	b->pcln = NULL;
	b->elf = NULL;
	b->priv = NULL;
	b->fd = -1;
}

static const struct gobin_sym *gobin__sym_by_name(const struct gobin *b,
						  const char *name)
{
	const struct gobin_priv *pv = gobin__priv(b);
	uint32_t i;

	if (!pv->nsyms || nameidx__find(&pv->names, name, &i))
		return NULL;
	return &pv->by_name[i];
}

/* The sized symbol covering addr, or NULL. */
static const struct gobin_sym *gobin__sym_by_addr(const struct gobin *b,
						  uint64_t addr)
{
	const struct gobin_priv *pv = gobin__priv(b);
	size_t lo = 0, hi = pv->naddr, mid;

	/* first symbol above addr; the one before it may cover addr */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (pv->by_addr[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr - pv->by_addr[lo - 1].addr >= pv->by_addr[lo - 1].size)
		return NULL;
	return &pv->by_addr[lo - 1];
}

/* pclntab ends a function at the next entry; the symbol knows better. */
static void gobin__trim_end(const struct gobin *b, struct gofunc *f)
{
	const struct gobin_sym *s = gobin__sym_by_addr(b, f->start);

	if (s && s->addr == f->start)
		f->end = s->addr + s->size;
}

int gobin__func(const struct gobin *b, const char *name, struct gofunc *f)
{
	const struct gobin_sym *s = gobin__sym_by_name(b, name);
	size_t i;

	if (s && s->size) {
		*f = (struct gofunc){ s->name, s->addr, s->addr + s->size };
		return 0;
	}
	if (!b->pcln || pclntab__find_name(b->pcln, name, &i) ||
	    pclntab__func(b->pcln, i, f))
		return -1;
	gobin__trim_end(b, f);
	return 0;
}

int gobin__foreach_func(const struct gobin *b,
			int (*cb)(const struct gofunc *f, void *ctx), void *ctx)
{
	size_t i, n = b->pcln ? pclntab__nfunc(b->pcln) : 0;
	struct gofunc f;
	int ret;

	for (i = 0; i < n; i++) {
		if (pclntab__func(b->pcln, i, &f))
			continue;
		gobin__trim_end(b, &f);
		ret = cb(&f, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

/* Falls back to the symbol table for code pclntab does not cover (C in cgo). */
const char *gobin__lookup(const struct gobin *b, uint64_t pc,
			  const char **file, int *line, uint64_t *entry)
{
	const struct gobin_sym *s;
	const char *name = NULL;

	if (b->pcln)
		name = pclntab__lookup(b->pcln, pc, file, line, entry);
	if (name)
		return name;
	s = gobin__sym_by_addr(b, pc);
	if (!s)
		return NULL;
	if (file)
		*file = NULL;
	if (line)
		*line = 0;
	if (entry)
		*entry = s->addr;
	return s->name;
}

int gobin__frames(const struct gobin *b, uint64_t pc, struct pcframe *out,
		  int max)
{
	const struct gobin_sym *s;
	int n = 0;

	if (b->pcln)
		n = pclntab__frames(b->pcln, pc, out, max);
	if (n || max <= 0)
		return n;
	s = gobin__sym_by_addr(b, pc);
	if (!s)
		return 0;
	*out = (struct pcframe){ .func = s->name };
	return 1;
}

/* runtime.funcNamePiecesForPrint, which keeps odd brackets as they are. */
void gobin__print_name(const char *name, char *out, size_t len)
{
	const char *i = strchr(name, '['), *j = strrchr(name, ']'), *k;
	const char *rbr = NULL, *lbr = NULL;
	int depth = 1;

	snprintf(out, len, "%s", name);
	if (!i || !j || j <= i)
		return;
	if (!memchr(i + 1, '[', j - i - 1)) {
		snprintf(out, len, "%.*s[...]%s", (int)(i - name), name, j + 1);
		return;
	}
	for (k = i + 1; k < j; k++) {
		if (*k == '[' && ++depth == 1) {
			lbr = k;
			break;
		}
		if (*k == ']' && --depth < 0)
			break;
		if (*k == ']' && !depth)
			rbr = k;
	}
	if (depth != 1)
		return;
	if (rbr && lbr > rbr)
		snprintf(out, len, "%.*s[...]%.*s[...]%s", (int)(i - name), name,
			 (int)(lbr - rbr - 1), rbr + 1, j + 1);
	else if (!rbr && !lbr)
		snprintf(out, len, "%.*s[...]%s", (int)(i - name), name, j + 1);
}

bool gobin__kind_whole(const struct gobin *b)
{
	return b->has_version && go_version__cmp(&b->ver, 1, 26, 0) >= 0;
}

const char *gobin__arch_name(uint16_t machine)
{
	return machine == EM_AARCH64 ? "arm64" : machine == EM_X86_64 ? "x86-64" : "unknown";
}

bool gobin__swiss(const struct gobin *b)
{
	struct gofunc f;

	if (b->has_version)
		return go_version__swiss(&b->ver);
	return !gobin__func(b, "runtime.mapIterStart", &f);
}
