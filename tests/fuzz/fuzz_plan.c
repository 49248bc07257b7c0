// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the probe planner's decoding of function bodies (plan.c
 * for x86-64, plan_arm64.c for arm64, over capstone). Real binaries host
 * the input: byte 0 picks one (x86-64 and arm64, old and swiss maps) and a
 * map function in it; the rest replaces that function's code in memory
 * (the tail padded as the linker pads: INT3 on x86-64, zero words on
 * arm64), then the whole plan is built. The hosts come from the fixtures:
 * GMW_FIXTURES (scripts/build-fixtures.sh), build/fixtures by default.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include "gobin.h"
#include "offsets.h"
#include "plan.h"

static const char *const host_paths[] = {
	"go1.23/racy", "go1.26/racy", "go1.23/racy.arm64", "go1.26/racy.arm64",
};
#define NHOSTS (sizeof(host_paths) / sizeof(host_paths[0]))

/* write functions of every release; absent ones are skipped */
static const char *const fn_names[] = {
	"runtime.mapassign", "runtime.mapassign_fast32", "runtime.mapassign_fast64",
	"runtime.mapassign_faststr", "runtime.mapdelete", "runtime.mapdelete_fast64",
	"runtime.mapclear", "runtime.mapaccess1_fast64", "runtime.mapiternext",
};
#define NFNS (sizeof(fn_names) / sizeof(fn_names[0]))

struct host {
	uint8_t *image;
	size_t size;
	struct gobin b;
	struct go_offsets o;
	struct gofunc fn[NFNS];
	uint8_t *saved[NFNS];	/* the function's own code */
	size_t nfn;
};

static struct host hosts[NHOSTS];
static size_t nhosts;

static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET)) {
		buf = malloc(n);
		if (buf && fread(buf, 1, n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*size = n;
	}
	fclose(f);
	return buf;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("GMW_FIXTURES");
	char path[4096], err[512];

	if (!dir)
		dir = "build/fixtures";
	for (size_t i = 0; i < NHOSTS; i++) {
		struct host *h = &hosts[nhosts];

		snprintf(path, sizeof(path), "%s/%s", dir, host_paths[i]);
		h->image = slurp(path, &h->size);
		if (!h->image || gobin__open_mem(&h->b, h->image, h->size, path, err,
						 sizeof(err)) ||
		    offsets__load(&h->o, &h->b, gobin__swiss(&h->b), err, sizeof(err))) {
			fprintf(stderr, "fuzz_plan: %s: %s\n", path,
				h->image ? err : "cannot read (make fixtures)");
			exit(1);
		}
		for (size_t k = 0; k < NFNS; k++) {
			struct gofunc *f = &h->fn[h->nfn];

			if (gobin__func(&h->b, fn_names[k], f) || f->end <= f->start ||
			    !gobin__bytes(&h->b, f->start, f->end - f->start))
				continue;
			h->saved[h->nfn] = malloc(f->end - f->start);
			memcpy(h->saved[h->nfn], gobin__bytes(&h->b, f->start, f->end - f->start),
			       f->end - f->start);
			h->nfn++;
		}
		nhosts++;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan_opts opts = { .reads = true };
	struct host *h;
	struct gofunc *f;
	struct plan p;
	uint8_t *code;
	size_t len, k, pad;
	char err[512];

	if (size < 1 || !nhosts)
		return 0;
	h = &hosts[data[0] % nhosts];
	if (!h->nfn)
		return 0;
	k = (data[0] / nhosts) % h->nfn;
	f = &h->fn[k];
	len = f->end - f->start;
	/* the mapping is the harness's own image: writable, gobin only reads it */
	code = (uint8_t *)gobin__bytes(&h->b, f->start, len);
	pad = h->b.machine == EM_AARCH64 ? 0x00 : 0xcc;
	memset(code, pad, len);
	memcpy(code, data + 1, size - 1 < len ? size - 1 : len);
	opts.force_ret = data[0] & 0x80;
	if (!plan__build(&p, &h->b, &h->o, &opts, err, sizeof(err)))
		plan__free(&p);
	memcpy(code, h->saved[k], len);
	return 0;
}
