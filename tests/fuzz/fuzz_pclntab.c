// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the pclntab reader (pclntab.c), every header format
 * (0xfffffffa Go 1.16/1.17, 0xfffffff0 1.18/1.19, 0xfffffff1 1.20 on, and
 * whatever else the input claims). The input is the table's bytes, laid at
 * TAB_VADDR; funcdata (the inline tree) is looked up in the same bytes, so
 * the gofunc base is TAB_VADDR and the fuzzer can aim offsets into them.
 */
#include <stdint.h>
#include <string.h>
#include "gobin.h"
#include "pclntab.h"

#define TAB_VADDR	0x500000ULL
#define MAX_FUNCS	256	/* enough to reach every code path, fast */

struct image {
	const uint8_t *data;
	size_t size;
};

static const uint8_t *image_mem(const void *ctx, uint64_t vaddr, size_t len)
{
	const struct image *im = ctx;

	if (vaddr < TAB_VADDR)
		return NULL;
	vaddr -= TAB_VADDR;
	if (vaddr > im->size || len > im->size - vaddr)
		return NULL;
	return im->data + vaddr;
}

static void walk(struct pclntab *p)
{
	size_t n = pclntab__nfunc(p), i, j;
	struct pcframe fr[8];
	struct gofunc f;
	const char *file;
	uint64_t entry;
	int line;

	for (i = 0; i < n && i < MAX_FUNCS; i++) {
		if (pclntab__func(p, i, &f))
			continue;
		pclntab__funcid(p, i);
		if (f.name)
			pclntab__find_name(p, f.name, &j);
		pclntab__line(p, i, f.start, &file, &line);
		if (f.end > f.start) {
			pclntab__line(p, i, f.end - 1, &file, &line);
			pclntab__line(p, i, f.start + (f.end - f.start) / 2, &file, &line);
		}
		pclntab__frames(p, f.start, fr, 8);
		pclntab__frames(p, f.end - 1, fr, 1);
		pclntab__lookup(p, f.start, &file, &line, &entry);
		pclntab__find_pc(p, f.end, &j);
	}
	pclntab__find_name(p, "runtime.mapassign", &j);
	pclntab__lookup(p, 0, &file, &line, &entry);
	pclntab__lookup(p, ~0ULL, NULL, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image im = { data, size };
	uint8_t md[MODULEDATA_SIZE];
	struct pclntab *p;
	char err[256];
	uint64_t text;

	p = pclntab__open(data, size, TAB_VADDR, err, sizeof(err));
	if (!p)
		return 0;
	pclntab__magic(p);
	pclntab__vaddr(p);
	pclntab__size(p);
	walk(p);	/* before any base is set */
	if (pclntab__needs_text(p)) {
		text = pclntab__header_text(p);
		pclntab__set_text(p, text ? text : 0x401000);
	}
	pclntab__set_funcdata(p, TAB_VADDR, image_mem, &im);
	pclntab__set_wrapper_funcid(p, 21);
	walk(p);
	/* a moduledata candidate from the input's tail */
	memset(md, 0, sizeof(md));
	memcpy(md, data + (size > sizeof(md) ? size - sizeof(md) : 0),
	       size < sizeof(md) ? size : sizeof(md));
	pclntab__moduledata_text(p, md, &text);
	pclntab__close(p);
	return 0;
}
