// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a Go ELF binary as gobin reads it (gobin.c over libelf,
 * with buildinfo.c and pclntab.c behind): program and section headers,
 * the symbol table, the build-info and pclntab scans when there is no
 * section, moduledata, then the lookups the tracer makes.
 */
#include <stdint.h>
#include <string.h>
#include "gobin.h"

#define MAX_FUNCS	256

static const char *const names[] = {
	"runtime.mapassign", "runtime.mapassign_fast64", "runtime.mapdelete",
	"runtime.fatal", "runtime.throw", "runtime.gopanic", "main.main", NULL,
};

struct walk {
	const struct gobin *b;
	int n;
};

static int each(const struct gofunc *f, void *ctx)
{
	struct walk *w = ctx;
	struct pcframe fr[8];
	const char *file;
	uint64_t entry, off;
	uint8_t buf[16];
	char pn[64];
	int line;

	if (f->name)
		gobin__print_name(f->name, pn, sizeof(pn));
	gobin__lookup(w->b, f->start, &file, &line, &entry);
	gobin__frames(w->b, f->start, fr, 8);
	if (f->end > f->start) {
		gobin__lookup(w->b, f->end - 1, &file, &line, &entry);
		gobin__bytes(w->b, f->start, f->end - f->start);
	}
	gobin__read(w->b, f->start, buf, sizeof(buf));
	gobin__file_offset(w->b, f->start, &off);
	return ++w->n >= MAX_FUNCS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gobin b;
	struct gofunc f;
	struct walk w = { &b, 0 };
	char err[256];

	if (gobin__open_mem(&b, data, size, "fuzz", err, sizeof(err)))
		return 0;
	gobin__swiss(&b);
	gobin__kind_whole(&b);
	for (int i = 0; names[i]; i++)
		gobin__func(&b, names[i], &f);
	gobin__foreach_func(&b, each, &w);
	gobin__lookup(&b, 0, NULL, NULL, NULL);
	gobin__lookup(&b, ~0ULL, NULL, NULL, NULL);
	gobin__bytes(&b, ~0ULL - 4, 8);
	gobin__close(&b);
	return 0;
}
