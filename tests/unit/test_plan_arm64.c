// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 binaries cross-compiled by scripts/build-fixtures.sh (GOARCH=arm64:
 * $GMW_FIXTURES/<tag>/racy.arm64, locked.arm64, racy.arm64.stripped), read
 * and planned on this machine: Go version, offsets from DWARF or the table
 * (and equal to the amd64 racy's), entry probes on the B.LS after the stack
 * check, exits on the write-flag checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "gomapwatch.h"
#include "plan.h"

/* MOVD 16(R28), R16: g.stackguard0, the first word of every split function */
#define LDR_X16_G_STACKGUARD 0xf9400b90u
/* CMP R16, RSP (small frames) and CMP R16, R17 (R17 = RSP - framesize) */
#define CMP_SP_X16 0xeb3063ffu
#define CMP_X17_X16 0xeb10023fu

struct arm64_fixture {
	const char *dir;
	const char *build;
	const char *version;	/* what the toolchain reports */
};

static const struct hooked_fn *find(const struct plan *p, const char *name)
{
	for (int i = 0; i < p->nfns; i++)
		if (!strcmp(p->fns[i].name, name))
			return &p->fns[i];
	return NULL;
}

static void open_arm64(const struct arm64_fixture *fx, struct gobin *b, struct go_offsets *o)
{
	char path[8192], err[512] = "";

	snprintf(path, sizeof(path), "%s/%s", fx->dir, fx->build);
	if (gobin__open(b, path, err, sizeof(err)))
		fail_msg("%s: %s (scripts/build-fixtures.sh builds the .arm64 fixtures)", path,
			 err);
	assert_int_equal(b->machine, EM_AARCH64);
	assert_true(b->has_version);
	assert_string_equal(b->ver.raw, fx->version);
	if (offsets__load(o, b, go_version__swiss(&b->ver), err, sizeof(err)))
		fail_msg("%s: %s", path, err);
}

/*
 * DWARF in the full builds, the table for the stripped one; either way the
 * offsets of the amd64 build of the same release (the layouts are 64-bit
 * alike).
 */
static void check_offsets(const struct arm64_fixture *fx, const struct go_offsets *o)
{
	enum offset_source want = strstr(fx->build, "stripped") ? OFF_TABLE : OFF_DWARF;
	char path[8192], err[512] = "";
	struct go_offsets amd64;
	struct gobin b;

	assert_int_equal(o->src[OFF_G_GOID], want);
	assert_int_equal(o->src[OFF_MAP_FLAGS], want);
	snprintf(path, sizeof(path), "%s/racy", fx->dir);
	if (gobin__open(&b, path, err, sizeof(err)) ||
	    offsets__load(&amd64, &b, o->swiss, err, sizeof(err)))
		fail_msg("%s: %s", path, err);
	assert_int_equal(b.machine, EM_X86_64);
	for (int f = 0; f < OFF__COUNT; f++)
		if (o->src[f] != OFF_NONE || f == OFF_G_GOID || f == OFF_MAP_FLAGS)
			assert_int_equal(o->off[f], amd64.off[f]);
	gobin__close(&b);
}

/* A split function's entry: B.LS right after CMP against g.stackguard0. */
static uint32_t word_at(const struct gobin *b, uint64_t addr)
{
	const uint8_t *p = gobin__bytes(b, addr, 4);
	uint32_t w;

	assert_non_null(p);
	memcpy(&w, p, 4);
	return w;
}

static void check_entry(const struct gobin *b, const struct hooked_fn *f)
{
	const struct probe_point *pp = &f->points[0];
	uint32_t cmp;

	assert_int_equal(word_at(b, f->start), LDR_X16_G_STACKGUARD);
	if (strncmp(pp->insn, "b.ls ", 5))
		fail_msg("%s: entry on \"%s\", want b.ls", f->name, pp->insn);
	assert_true(pp->emulated);
	assert_true(pp->addr >= f->start + 8 && pp->addr <= f->start + 16);
	cmp = word_at(b, pp->addr - 4);
	assert_true(cmp == CMP_SP_X16 || cmp == CMP_X17_X16);
}

static void check_exits(const struct gobin *b, const struct hooked_fn *f, bool swiss)
{
	for (int k = 1; k < f->npoints; k++) {
		const struct probe_point *pp = &f->points[k];
		uint64_t off;

		assert_int_equal(pp->role, ROLE_WRITE_EXIT);
		assert_true(pp->addr > f->start && pp->addr < f->end);
		assert_int_equal(pp->addr % 4, 0);
		assert_int_equal(gobin__file_offset(b, pp->addr, &off), 0);
		assert_int_equal(off, pp->file_off);
		/* the kernel simulates RET on arm64: even the fallback is cheap */
		assert_true(pp->emulated);
		if (f->exit == EXIT_RET || pp->why == WHY_EARLY_RETURN)
			/* every RET, or a way out around the flag check */
			assert_true(!strcmp(pp->insn, "ret ") || !strncmp(pp->insn, "b ", 2));
		else if (swiss)
			assert_true(!strncmp(pp->insn, "cbnz ", 5) || !strncmp(pp->insn, "cbz ", 4));
		else
			assert_true(!strncmp(pp->insn, "tbnz ", 5) || !strncmp(pp->insn, "tbz ", 4));
	}
}

static void check_plan(const struct gobin *b, const struct go_offsets *o, const struct plan *p)
{
	const struct hooked_fn *f;

	assert_true(p->nwrite_fns > 0);
	for (int i = 0; i < p->nfns; i++) {
		f = &p->fns[i];
		if (f->points[0].role == ROLE_WRITE_ENTER) {
			check_entry(b, f);
			check_exits(b, f, o->swiss);
			assert_true(f->npoints > 1);
		}
	}
	f = find(p, "runtime.mapassign_fast64");
	assert_non_null(f);
	assert_int_equal(f->exit, EXIT_FLAG_CHECK);
	assert_non_null(find(p, "runtime.mapassign_faststr"));
	/* nosplit: no stack check, so the first instruction, single-stepped */
	f = find(p, "runtime.fatal");
	assert_non_null(f);
	assert_int_equal(f->points[0].addr, f->start);
	assert_false(f->points[0].emulated);
	/* gopanic holds LSE atomics capstone 4 cannot decode: planned all the same */
	f = find(p, "runtime.gopanic");
	assert_non_null(f);
	check_entry(b, f);
}

static void plan_fixture(const struct arm64_fixture *fx)
{
	struct plan_opts opts = { .reads = true };
	char err[512] = "";
	struct go_offsets o;
	struct plan p;
	struct gobin b;

	open_arm64(fx, &b, &o);
	check_offsets(fx, &o);
	if (plan__build(&p, &b, &o, &opts, err, sizeof(err)))
		fail_msg("%s/%s: %s", fx->dir, fx->build, err);
	check_plan(&b, &o, &p);
	plan__free(&p);
	/* --exit-probes=ret: every write exits on its RETs */
	opts.force_ret = true;
	if (plan__build(&p, &b, &o, &opts, err, sizeof(err)))
		fail_msg("%s/%s: %s", fx->dir, fx->build, err);
	for (int i = 0; i < p.nfns; i++)
		if (p.fns[i].points[0].role == ROLE_WRITE_ENTER) {
			assert_int_equal(p.fns[i].exit, EXIT_RET);
			check_exits(&b, &p.fns[i], o.swiss);
		}
	plan__free(&p);
	gobin__close(&b);
}

static void plans_arm64_fixtures(void **state)
{
	static const char *const builds[] = { "racy.arm64", "locked.arm64",
					      "racy.arm64.stripped" };
	const char *fx = getenv("GMW_FIXTURES");
	char path[4200], tag[64], version[128];
	bool layout[2] = { false, false };
	FILE *f;

	if (!fx)
		fail_msg("GMW_FIXTURES is not set: run `make unit`, which builds the fixtures");
	snprintf(path, sizeof(path), "%s/toolchains.txt", fx);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: cannot open", path);
	while (fscanf(f, "%63s %127s", tag, version) == 2) {
		struct go_version v;

		snprintf(path, sizeof(path), "%s/%s", fx, tag);
		for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
			struct arm64_fixture a = { path, builds[i], version };

			plan_fixture(&a);
		}
		assert_int_equal(go_version__parse(&v, version), 0);
		layout[go_version__swiss(&v)] = true;
	}
	fclose(f);
	/* both map layouts: the old hmap (TBZ/TBNZ) and swiss (CBZ/CBNZ) */
	assert_true(layout[false] && layout[true]);
}

/* Go 1.17 on arm64 passes arguments on the stack: refused by name. */
static void refuses_arm64_before_go118(void **state)
{
	struct gobin b = { .fd = -1, .machine = EM_AARCH64, .has_version = true };
	struct go_offsets o = { .off = { 152, -1, 8, 24, 8 } };
	struct plan_opts opts = { 0 };
	char err[512] = "";
	struct plan p;

	snprintf(b.path, sizeof(b.path), "old.arm64");
	assert_int_equal(go_version__parse(&b.ver, "go1.17.13"), 0);
	assert_int_equal(plan__build(&p, &b, &o, &opts, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "go1.17.13"));
	assert_non_null(strstr(err, "Go 1.18"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plans_arm64_fixtures),
		cmocka_unit_test(refuses_arm64_before_go118),
	};

	return cmocka_run_group_tests_name("plan_arm64", tests, NULL, NULL);
}
