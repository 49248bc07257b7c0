// SPDX-License-Identifier: GPL-2.0
/*
 * gobin, buildinfo and pclntab: version strings, synthetic tables in both
 * layouts, corrupt input, and the Go binaries scripts/build-fixtures.sh
 * leaves in $GMW_FIXTURES (every toolchain, plain, stripped and PIE).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buildinfo.h"
#include "gobin.h"
#include "pclntab.h"

#define RACY_SRC	"tests/go/racy/main.go"
#define MAX_FIXTURES	64

static const char *const builds[] = { "racy", "racy.stripped", "racy.pie" };

struct fixture {
	char name[300];		/* "go1.19/racy.pie": the test's name */
	char dir[4096];			/* $GMW_FIXTURES/<tag> */
	char build[32];
	char version[256];		/* from toolchains.txt */
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static void test_version_parse(void **state)
{
	struct go_version v;

	assert_int_equal(go_version__parse(&v, "go1.24.4"), 0);
	assert_int_equal(v.major, 1);
	assert_int_equal(v.minor, 24);
	assert_int_equal(v.patch, 4);
	assert_false(v.noswiss);
	assert_string_equal(v.raw, "go1.24.4");
	assert_true(go_version__swiss(&v));

	assert_int_equal(go_version__parse(&v, "go1.21"), 0);
	assert_int_equal(v.minor, 21);
	assert_int_equal(v.patch, 0);

	assert_int_equal(go_version__parse(&v, "go1.21rc2"), 0);
	assert_int_equal(v.minor, 21);
	assert_int_equal(v.patch, 0);

	assert_int_equal(go_version__parse(&v, "go1.23.12"), 0);
	assert_int_equal(v.patch, 12);
	assert_false(go_version__swiss(&v));

	assert_int_equal(go_version__parse(&v, "go1.24.4 X:noswissmap"), 0);
	assert_int_equal(v.minor, 24);
	assert_int_equal(v.patch, 4);
	assert_true(v.noswiss);
	assert_false(go_version__swiss(&v));
	assert_string_equal(v.raw, "go1.24.4 X:noswissmap");

	assert_int_equal(go_version__parse(&v, "go1.25.1 X:jsonv2,noswissmap"), 0);
	assert_true(v.noswiss);
	assert_int_equal(go_version__parse(&v, "go1.24.0 X:swissmap"), 0);
	assert_false(v.noswiss);

	assert_int_equal(go_version__parse(&v,
		"devel go1.23-abcdef Tue Jan 2 15:04:05 2024 +0000"), 0);
	assert_int_equal(v.major, 1);
	assert_int_equal(v.minor, 23);
	assert_int_equal(v.patch, 0);
}

static void test_version_bad(void **state)
{
	static const char *const bad[] = {
		"", "go", "go1", "go1.", "go1.x", "gox.y", "1.21", "hello",
		"devel +abcdef", "go99999999999.1",
	};
	struct go_version v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (go_version__parse(&v, bad[i]) != -1)
			fail_msg("\"%s\" parsed as %d.%d", bad[i], v.major, v.minor);
	}
	assert_int_equal(go_version__parse(&v, NULL), -1);
}

static void test_version_cmp(void **state)
{
	struct go_version v;

	go_version__parse(&v, "go1.23.5");
	assert_int_equal(go_version__cmp(&v, 1, 23, 5), 0);
	assert_true(go_version__cmp(&v, 1, 23, 6) < 0);
	assert_true(go_version__cmp(&v, 1, 24, 0) < 0);
	assert_true(go_version__cmp(&v, 1, 22, 9) > 0);
	assert_true(go_version__cmp(&v, 1, 23, 0) > 0);
}

/* A flat memory image for the Go <= 1.17 pointer format. */
struct fake_mem {
	uint64_t base;
	uint8_t data[64];
};

static int fake_read(void *ctx, uint64_t vaddr, void *buf, size_t len)
{
	struct fake_mem *m = ctx;

	if (vaddr < m->base || vaddr - m->base > sizeof(m->data) ||
	    len > sizeof(m->data) - (vaddr - m->base))
		return -1;
	memcpy(buf, m->data + (vaddr - m->base), len);
	return 0;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	while (n--) {
		*p++ = v;
		v >>= 8;
	}
}

static void test_buildinfo_inline(void **state)
{
	uint8_t blob[64] = { 0 };
	char out[64];

	memcpy(blob, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN);
	blob[14] = 8;
	blob[15] = 2;
	blob[32] = 9;
	memcpy(blob + 33, "go1.18.10", 9);
	assert_int_equal(buildinfo__decode(blob, sizeof(blob), NULL, NULL,
					   out, sizeof(out)), 0);
	assert_string_equal(out, "go1.18.10");

	/* truncated to a 4-byte output buffer */
	assert_int_equal(buildinfo__decode(blob, sizeof(blob), NULL, NULL, out, 4), 0);
	assert_string_equal(out, "go1");
	/* the string runs past the blob */
	assert_int_equal(buildinfo__decode(blob, 40, NULL, NULL, out, sizeof(out)), -1);
	blob[32] = 0xff;		/* unterminated varint */
	assert_int_equal(buildinfo__decode(blob, 33, NULL, NULL, out, sizeof(out)), -1);
	blob[0] = 'x';
	assert_int_equal(buildinfo__decode(blob, sizeof(blob), NULL, NULL,
					   out, sizeof(out)), -1);
	assert_int_equal(buildinfo__decode(blob, 16, NULL, NULL, out, sizeof(out)), -1);
}

static void test_buildinfo_pointer(void **state)
{
	struct fake_mem mem = { .base = 0x525e60 };
	uint8_t blob[32] = { 0 };
	char out[64];

	/* runtime.buildVersion's {ptr, len} at 0x525e60, the bytes after it */
	put_le(mem.data, 0x525e70, 8);
	put_le(mem.data + 8, 9, 8);
	memcpy(mem.data + 16, "go1.17.13", 9);
	memcpy(blob, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN);
	blob[14] = 8;
	put_le(blob + 16, 0x525e60, 8);
	assert_int_equal(buildinfo__decode(blob, sizeof(blob), fake_read, &mem,
					   out, sizeof(out)), 0);
	assert_string_equal(out, "go1.17.13");
	assert_int_equal(buildinfo__string(0x525e60, fake_read, &mem, out,
					   sizeof(out)), 0);
	assert_string_equal(out, "go1.17.13");

	put_le(mem.data + 8, 4096, 8);	/* length beyond readable memory */
	assert_int_equal(buildinfo__decode(blob, sizeof(blob), fake_read, &mem,
					   out, sizeof(out)), -1);
	put_le(blob + 16, 0x1000, 8);	/* header pointer nowhere */
	assert_int_equal(buildinfo__decode(blob, sizeof(blob), fake_read, &mem,
					   out, sizeof(out)), -1);
	blob[15] = 1;			/* big-endian */
	assert_int_equal(buildinfo__decode(blob, sizeof(blob), fake_read, &mem,
					   out, sizeof(out)), -1);
}

/*
 * A two-function pclntab: main.a at 0x1000 (line 10 for 4 bytes, then 11)
 * and main.b at 0x1010 (same tables), ending at 0x1020, in /src/x.go.
 * old: the Go 1.16/1.17 layout; else Go 1.20's.
 */
#define SYN_TEXT	0x1000
#define SYN_FUNCREC	48

static size_t synth_align(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static size_t synth_pclntab(uint8_t *buf, bool old)
{
	static const char names[] = "main.a\0main.b";
	static const char files[] = "/src/x.go";
	/* offset 0 means "no table": pcln at 1, pcfile at 6 */
	static const uint8_t pcs[] = { 0, 22, 4, 2, 12, 0, 2, 16, 0 };
	size_t hdr = old ? 64 : 72, entsz = old ? 16 : 8, fbase = old ? 8 : 4;
	size_t funcname, cu, file, pctab, ftab, len, i;

	memset(buf, 0, 512);
	funcname = hdr;
	memcpy(buf + funcname, names, sizeof(names));
	cu = synth_align(funcname + sizeof(names));
	file = cu + 8;			/* cutab[0] = 0: the first file */
	memcpy(buf + file, files, sizeof(files));
	pctab = synth_align(file + sizeof(files));
	memcpy(buf + pctab, pcs, sizeof(pcs));
	ftab = synth_align(pctab + sizeof(pcs));
	len = ftab + 3 * entsz;

	put_le(buf, old ? PCLNTAB_MAGIC_116 : PCLNTAB_MAGIC_120, 4);
	buf[6] = 1;
	buf[7] = 8;
	put_le(buf + 8, 2, 8);
	put_le(buf + 16, 1, 8);
	if (!old)
		put_le(buf + 24, SYN_TEXT, 8);
	put_le(buf + (old ? 24 : 32), funcname, 8);
	put_le(buf + (old ? 32 : 40), cu, 8);
	put_le(buf + (old ? 40 : 48), file, 8);
	put_le(buf + (old ? 48 : 56), pctab, 8);
	put_le(buf + (old ? 56 : 64), ftab, 8);

	for (i = 0; i < 3; i++) {
		uint8_t *e = buf + ftab + i * entsz, *f = buf + len;
		uint64_t entry = SYN_TEXT + 0x10 * i;

		if (old)
			put_le(e, entry, 8);
		else
			put_le(e, entry - SYN_TEXT, 4);
		if (i == 2)
			break;
		put_le(e + entsz / 2, len - ftab, entsz / 2);
		put_le(f, old ? entry : entry - SYN_TEXT, fbase);
		put_le(f + fbase, i ? 7 : 0, 4);	/* nameOff */
		put_le(f + fbase + 16, 6, 4);		/* pcfile */
		put_le(f + fbase + 20, 1, 4);		/* pcln */
		put_le(f + fbase + 28, 0, 4);		/* cuOffset */
		len += SYN_FUNCREC;
	}
	return len;
}

static void check_synth(const struct pclntab *p)
{
	struct pcframe fr[4];
	const char *file;
	uint64_t entry;
	struct gofunc f;
	size_t i;
	int line;

	assert_int_equal(pclntab__nfunc(p), 2);
	assert_string_equal(pclntab__lookup(p, 0x1000, &file, &line, &entry), "main.a");
	assert_string_equal(file, "/src/x.go");
	assert_int_equal(line, 10);
	assert_int_equal(entry, 0x1000);
	assert_string_equal(pclntab__lookup(p, 0x1005, &file, &line, NULL), "main.a");
	assert_int_equal(line, 11);
	assert_string_equal(pclntab__lookup(p, 0x1013, &file, &line, &entry), "main.b");
	assert_int_equal(line, 10);
	assert_int_equal(entry, 0x1010);
	assert_null(pclntab__lookup(p, 0x1020, NULL, NULL, NULL));
	assert_null(pclntab__lookup(p, 0xfff, NULL, NULL, NULL));
	assert_int_equal(pclntab__find_name(p, "main.b", &i), 0);
	assert_int_equal(i, 1);
	assert_int_equal(pclntab__find_name(p, "main.c", &i), -1);
	assert_int_equal(pclntab__func(p, 1, &f), 0);
	assert_string_equal(f.name, "main.b");
	assert_int_equal(f.start, 0x1010);
	assert_int_equal(f.end, 0x1020);
	assert_int_equal(pclntab__func(p, 2, &f), -1);

	/* no funcdata at all: the function's own frame */
	assert_int_equal(pclntab__frames(p, 0x1013, fr, 4), 1);
	assert_string_equal(fr[0].func, "main.b");
	assert_string_equal(fr[0].file, "/src/x.go");
	assert_int_equal(fr[0].line, 10);
	assert_false(fr[0].inlined);
	assert_false(fr[0].wrapper);
	assert_int_equal(pclntab__frames(p, 0x1020, fr, 4), 0);
	assert_int_equal(pclntab__frames(p, 0x1000, fr, 0), 0);
}

static void test_pclntab_synth(void **state)
{
	uint8_t buf[512], md[MODULEDATA_SIZE] = { 0 };
	struct pclntab *p;
	uint64_t text = 0;
	char err[128];
	size_t len;
	int old;

	for (old = 0; old < 2; old++) {
		len = synth_pclntab(buf, old);
		p = pclntab__open(buf, len, 0x9000, err, sizeof(err));
		assert_non_null(p);
		assert_int_equal(pclntab__text(p), SYN_TEXT);
		check_synth(p);
		pclntab__close(p);
	}

	/* Go 1.26 leaves textStart 0: module data supplies it */
	len = synth_pclntab(buf, false);
	put_le(buf + 24, 0, 8);
	p = pclntab__open(buf, len, 0x9000, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(pclntab__header_text(p), 0);
	put_le(md + MODULEDATA_PCHEADER, 0x9000, 8);
	put_le(md + MODULEDATA_FUNCNAMETAB, 0x9000 + 72, 8);
	put_le(md + MODULEDATA_MINPC, SYN_TEXT, 8);
	put_le(md + MODULEDATA_MAXPC, SYN_TEXT + 0x20, 8);
	put_le(md + MODULEDATA_TEXT, SYN_TEXT, 8);
	assert_int_equal(pclntab__moduledata_text(p, md, &text), 0);
	assert_int_equal(text, SYN_TEXT);
	put_le(md + MODULEDATA_MAXPC, SYN_TEXT + 0x30, 8);
	assert_int_equal(pclntab__moduledata_text(p, md, &text), -1);
	pclntab__set_text(p, text);
	check_synth(p);
	pclntab__close(p);
}

static void test_pclntab_bad_header(void **state)
{
	uint8_t buf[512];
	char err[128];
	size_t len = synth_pclntab(buf, false);

	put_le(buf, 0xfffffffb, 4);	/* Go 1.2 - 1.15 */
	assert_null(pclntab__open(buf, len, 0, err, sizeof(err)));
	assert_string_equal(err, "unknown pclntab magic 0xfffffffb");

	len = synth_pclntab(buf, false);
	buf[7] = 4;
	assert_null(pclntab__open(buf, len, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "pointer size 4"));

	len = synth_pclntab(buf, false);
	put_le(buf + 8, 1000000, 8);	/* nfunc beyond the table */
	assert_null(pclntab__open(buf, len, 0, err, sizeof(err)));
	assert_string_equal(err, "corrupt pclntab header");

	len = synth_pclntab(buf, false);
	put_le(buf + 64, len + 1, 8);	/* functab past the end */
	assert_null(pclntab__open(buf, len, 0, err, sizeof(err)));

	assert_null(pclntab__open(buf, 40, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "truncated"));
}

/* Every lookup a symbolizer could make, on a table that may be garbage. */
static void walk_pclntab(const struct pclntab *p)
{
	struct pcframe fr[8];
	const char *file;
	struct gofunc f;
	size_t i, j;
	int line;

	for (i = 0; i < pclntab__nfunc(p); i++) {
		if (pclntab__func(p, i, &f))
			continue;
		pclntab__lookup(p, f.start, &file, &line, NULL);
		pclntab__lookup(p, f.start + (f.end - f.start) / 2, &file, &line, NULL);
		pclntab__frames(p, f.start + (f.end - f.start) / 2, fr, 8);
		pclntab__funcid(p, i);
		pclntab__find_name(p, f.name, &j);
	}
}

static const uint8_t *gobin_mem(const void *ctx, uint64_t vaddr, size_t len)
{
	return gobin__bytes(ctx, vaddr, len);
}

/* Each truncation of the synthetic tables, copied so overreads are caught. */
static void test_pclntab_truncated(void **state)
{
	uint8_t buf[512], *copy;
	struct pclntab *p;
	size_t len, n;
	uint64_t pc;
	char err[128];
	int old;

	for (old = 0; old < 2; old++) {
		len = synth_pclntab(buf, old);
		for (n = 1; n <= len; n++) {
			copy = malloc(n);
			assert_non_null(copy);
			memcpy(copy, buf, n);
			p = pclntab__open(copy, n, 0, err, sizeof(err));
			if (p) {
				walk_pclntab(p);
				for (pc = 0xff0; pc < 0x1030; pc++)
					pclntab__lookup(p, pc, NULL, NULL, NULL);
			}
			pclntab__close(p);
			free(copy);
		}
	}
}

static void test_not_elf(void **state)
{
	char path[] = "/tmp/gmw-test-gobin-XXXXXX", err[512], want[600];
	struct gobin b;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
	close(fd);
	assert_int_equal(gobin__open(&b, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not an ELF file", path);
	assert_string_equal(err, want);
	gobin__close(&b);		/* harmless after a failed open */

	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	assert_int_equal(gobin__open(&b, path, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	unlink(path);

	assert_int_equal(gobin__open(&b, "/nonexistent/gmw", err, sizeof(err)), -1);
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_int_equal(gobin__open(&b, "/tmp", err, sizeof(err)), -1);
}

static void test_not_go(void **state)
{
	struct gobin b;
	char err[512];

	assert_int_equal(gobin__open(&b, "/bin/true", err, sizeof(err)), -1);
	assert_string_equal(err, "/bin/true: not a Go binary (no .go.buildinfo and no .gopclntab)");
}

static void test_no_fixtures(void **state)
{
	fail_msg("%s", (const char *)*state);
}

/* Line number of "func writer(" in the source pclntab names, or the tree's. */
static int writer_line(const char *file)
{
	char buf[512];
	int n = 0, found = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		f = fopen(RACY_SRC, "r");
	if (!f)
		fail_msg("cannot read %s or ./%s to find func writer", file, RACY_SRC);
	while (fgets(buf, sizeof(buf), f)) {
		n++;
		if (!strncmp(buf, "func writer(", 12)) {
			found = n;
			break;
		}
	}
	fclose(f);
	if (!found)
		fail_msg("no \"func writer(\" line in %s", file);
	return found;
}

static void open_fixture(struct gobin *b, const struct fixture *fx,
			 const char *build)
{
	char path[4200], err[512];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, build);
	if (gobin__open(b, path, err, sizeof(err)))
		fail_msg("%s", err);
}

struct find_ctx {
	const char *name;
	struct gofunc f;
	int seen;
};

static int find_cb(const struct gofunc *f, void *ctx)
{
	struct find_ctx *c = ctx;

	c->seen++;
	if (strcmp(f->name, c->name))
		return 0;
	c->f = *f;
	return 1;
}

/* The mapping to file offsets agrees with the file itself. */
static void check_file_offset(const struct gobin *b, uint64_t vaddr)
{
	uint8_t buf[16];
	uint64_t off;
	const uint8_t *p = gobin__bytes(b, vaddr, sizeof(buf));

	assert_non_null(p);
	assert_int_equal(gobin__file_offset(b, vaddr, &off), 0);
	assert_int_equal(pread(b->fd, buf, sizeof(buf), off), sizeof(buf));
	assert_memory_equal(buf, p, sizeof(buf));
	assert_int_equal(gobin__read(b, vaddr, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, p, sizeof(buf));
}

static void check_writer(const struct gobin *b, const char **file, int *line)
{
	struct find_ctx ctx = { .name = "main.writer" };
	struct gofunc f;
	uint64_t entry;
	const char *name;

	assert_int_equal(gobin__func(b, "main.writer", &f), 0);
	assert_true(f.end > f.start);
	name = gobin__lookup(b, f.start, file, line, &entry);
	assert_non_null(name);
	assert_string_equal(name, "main.writer");
	assert_int_equal(entry, f.start);
	assert_non_null(*file);
	if (!ends_with(*file, RACY_SRC))
		fail_msg("main.writer is in %s, want .../%s", *file, RACY_SRC);
	assert_int_equal(*line, writer_line(*file));
	check_file_offset(b, f.start);

	assert_int_equal(gobin__foreach_func(b, find_cb, &ctx), 1);
	assert_int_equal(ctx.f.start, f.start);
	assert_int_equal(ctx.f.end, f.end);
}

static void test_fixture(void **state)
{
	const struct fixture *fx = *state;
	const char *file, *base_file;
	int line, base_line;
	struct gofunc f;
	struct gobin b;

	open_fixture(&b, fx, fx->build);
	assert_true(b.has_version);
	assert_string_equal(b.ver.raw, fx->version);
	assert_int_equal(b.pie, ends_with(fx->build, ".pie"));
	assert_int_equal(b.has_symtab, !ends_with(fx->build, ".stripped"));
	assert_true(b.machine == EM_X86_64 || b.machine == EM_AARCH64);
	assert_non_null(b.pcln);

	assert_int_equal(gobin__func(&b, "runtime.mapassign_fast64", &f), 0);
	assert_true(f.end > f.start);
	assert_string_equal(gobin__lookup(&b, f.start + 1, NULL, NULL, NULL),
			    "runtime.mapassign_fast64");
	check_writer(&b, &file, &line);

	/* a different build of the same source: the same place */
	if (strcmp(fx->build, "racy")) {
		struct gobin base;

		open_fixture(&base, fx, "racy");
		check_writer(&base, &base_file, &base_line);
		assert_string_equal(file, base_file);
		assert_int_equal(line, base_line);
		gobin__close(&base);
	}
	gobin__close(&b);
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245 + 12345;
	return *s >> 8;
}

/* Random damage to a real table: errors or nonsense, never a bad read. */
static void test_fixture_corrupt(void **state)
{
	const struct fixture *fx = *state;
	const struct pclntab *orig;
	struct pclntab *p;
	uint32_t seed = 1;
	uint8_t *copy;
	size_t size, n;
	char err[128];
	struct gobin b;
	int round, i;

	open_fixture(&b, fx, fx->build);
	orig = b.pcln;
	size = pclntab__size(orig);
	for (round = 0; round < 40; round++) {
		/* exactly as large as claimed, so an overread is caught */
		n = size - (round % 2) * (lcg(&seed) % 4096);
		copy = malloc(n);
		assert_non_null(copy);
		memcpy(copy, gobin__bytes(&b, pclntab__vaddr(orig), n), n);
		/* a damaged header mostly fails to open: only every 4th round */
		if (!(round % 4))
			copy[lcg(&seed) % 72] ^= 1 << (lcg(&seed) % 8);
		for (i = 0; i < 64; i++)
			copy[72 + lcg(&seed) % (n - 72)] = lcg(&seed);
		p = pclntab__open(copy, n, pclntab__vaddr(orig), err, sizeof(err));
		if (p) {
			pclntab__set_text(p, pclntab__text(orig));
			/* the binary's inline trees, reached through damaged records */
			pclntab__set_funcdata(p, pclntab__gofunc(orig), gobin_mem, &b);
			pclntab__set_wrapper_funcid(p, 21);
			walk_pclntab(p);
			pclntab__close(p);
		}
		free(copy);
	}
	gobin__close(&b);
}

/* A copy of a binary cut inside its pclntab opens or fails, cleanly. */
static void test_fixture_truncated(void **state)
{
	const struct fixture *fx = *state;
	char path[] = "/tmp/gmw-test-gobin-XXXXXX", err[512];
	struct gobin b, t;
	uint64_t off, vaddr;
	int fd;

	open_fixture(&b, fx, fx->build);
	vaddr = pclntab__vaddr(b.pcln);
	assert_int_equal(gobin__file_offset(&b, vaddr, &off), 0);
	off += pclntab__size(b.pcln) / 2;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	{
		uint8_t *buf = malloc(off);

		assert_non_null(buf);
		assert_int_equal(pread(b.fd, buf, off, 0), (ssize_t)off);
		assert_int_equal(write(fd, buf, off), (ssize_t)off);
		free(buf);
	}
	close(fd);
	if (!gobin__open(&t, path, err, sizeof(err))) {
		if (t.pcln)
			walk_pclntab(t.pcln);
		gobin__close(&t);
	} else {
		assert_true(strlen(err) > strlen(path));
	}
	unlink(path);
	gobin__close(&b);
}

/* Lines of toolchains.txt: "<tag> <version string>". */
static int load_fixtures(const char *root, struct fixture *fx, int max)
{
	char path[4200], line[256], *sp;
	int n = 0;
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/toolchains.txt", root);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp++ = '\0';
		for (i = 0; i < sizeof(builds) / sizeof(builds[0]) && n < max; i++, n++) {
			snprintf(fx[n].name, sizeof(fx[n].name), "%s/%s", line, builds[i]);
			snprintf(fx[n].dir, sizeof(fx[n].dir), "%s/%s", root, line);
			snprintf(fx[n].build, sizeof(fx[n].build), "%s", builds[i]);
			snprintf(fx[n].version, sizeof(fx[n].version), "%s", sp);
		}
	}
	fclose(f);
	return n;
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_version_parse),
		cmocka_unit_test(test_version_bad),
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_buildinfo_inline),
		cmocka_unit_test(test_buildinfo_pointer),
		cmocka_unit_test(test_pclntab_synth),
		cmocka_unit_test(test_pclntab_bad_header),
		cmocka_unit_test(test_pclntab_truncated),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_not_go),
	};
	static struct fixture fx[MAX_FIXTURES];
	static struct CMUnitTest tests[sizeof(fixed) / sizeof(fixed[0]) + MAX_FIXTURES + 3];
	static char why[4300], corrupt_name[320], trunc_name[320];
	const char *root = getenv("GMW_FIXTURES");
	size_t n = 0, i;
	int nfx = -1;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	if (root && *root)
		nfx = load_fixtures(root, fx, MAX_FIXTURES);
	if (nfx <= 0 && root && *root)
		snprintf(why, sizeof(why),
			 "no fixtures in %s/toolchains.txt: run the tests with make unit, which builds them",
			 root);
	else if (nfx <= 0)
		snprintf(why, sizeof(why),
			 "GMW_FIXTURES is not set: run the tests with make unit, which builds the fixtures");
	if (nfx <= 0) {
		tests[n++] = (struct CMUnitTest){ .name = "fixtures",
			.test_func = test_no_fixtures, .initial_state = why };
	}
	for (i = 0; nfx > 0 && i < (size_t)nfx; i++)
		tests[n++] = (struct CMUnitTest){ .name = fx[i].name,
			.test_func = test_fixture, .initial_state = &fx[i] };
	if (nfx > 0) {
		/* the stripped build of the first toolchain: pclntab only */
		snprintf(corrupt_name, sizeof(corrupt_name), "%s corrupt", fx[1].name);
		snprintf(trunc_name, sizeof(trunc_name), "%s truncated", fx[1].name);
		tests[n++] = (struct CMUnitTest){ .name = corrupt_name,
			.test_func = test_fixture_corrupt, .initial_state = &fx[1] };
		tests[n++] = (struct CMUnitTest){ .name = trunc_name,
			.test_func = test_fixture_truncated, .initial_state = &fx[1] };
	}
	return _cmocka_run_group_tests("gobin", tests, n, NULL, NULL);
}
