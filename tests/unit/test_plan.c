// SPDX-License-Identifier: GPL-2.0
/*
 * Probe planning on the real Go binaries in $GMW_FIXTURES: entry probes on
 * the stack-check jump, exits on the write-flag check, RET only as fallback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <capstone/capstone.h>
#include "gomapwatch.h"
#include "plan.h"

static const char *const builds[] = { "racy", "racy.stripped", "racy.pie", "locked", "stackgrow" };

static const struct hooked_fn *find(const struct plan *p, const char *name)
{
	for (int i = 0; i < p->nfns; i++)
		if (!strcmp(p->fns[i].name, name))
			return &p->fns[i];
	return NULL;
}

static void load(const char *path, struct gobin *b, struct go_offsets *o, struct plan *p,
		 const struct plan_opts *opts)
{
	char err[512] = "";

	if (gobin__open(b, path, err, sizeof(err)))
		fail_msg("%s", err);
	if (offsets__load(o, b, go_version__swiss(&b->ver), err, sizeof(err)))
		fail_msg("%s", err);
	if (plan__build(p, b, o, opts, err, sizeof(err)))
		fail_msg("%s: %s", path, err);
}

/* Every write function: one emulated entry jump, exits at flag checks or RETs. */
static void check_writes(const struct gobin *b, const struct plan *p)
{
	assert_int_equal(plan__fn_at(p, 0), -1);
	for (int i = 0; i < p->nfns; i++) {
		const struct hooked_fn *f = &p->fns[i];
		int exits = 0;

		/* the loader names a hit's function from the probed address */
		for (int k = 0; k < f->npoints; k++)
			assert_int_equal(plan__fn_at(p, f->points[k].addr), i);
		assert_int_not_equal(plan__fn_at(p, f->end), i);
		if (f->points[0].role == ROLE_FATAL || f->points[0].role == ROLE_FATALPANIC)
			continue;	/* nosplit: no stack check to sit on */
		assert_true(f->points[0].emulated);
		assert_int_equal(strncmp(f->points[0].insn, "j", 1), 0);
		assert_true(f->points[0].addr > f->start && f->points[0].addr < f->start + 32);
		for (int k = 1; k < f->npoints; k++) {
			const struct probe_point *pp = &f->points[k];
			uint64_t off;

			assert_int_equal(pp->role, ROLE_WRITE_EXIT);
			assert_true(pp->addr > f->start && pp->addr < f->end);
			assert_int_equal(gobin__file_offset(b, pp->addr, &off), 0);
			assert_int_equal(off, pp->file_off);
			if (pp->why == WHY_FLAG_CHECK) {
				assert_int_equal(f->exit, EXIT_FLAG_CHECK);
				assert_true(pp->emulated);
				assert_true(!strncmp(pp->insn, "je ", 3) || !strncmp(pp->insn, "jne ", 4));
			} else if (pp->why == WHY_EARLY_RETURN) {
				/* a way out around the flag check: it cannot name the map */
				assert_int_equal(f->exit, EXIT_FLAG_CHECK);
				assert_true(f->owner);
				assert_int_equal(pp->map_reg, -1);
			} else {
				assert_int_equal(pp->why, WHY_RET);
				assert_string_equal(pp->insn, "ret ");
				assert_true(f->owner);
			}
			exits++;
		}
		if (f->op)
			assert_true(exits > 0);
	}
}

/*
 * Checked apart from the planner, with rules of its own: from the entry
 * probe, no path may leave the function (RET, a jump out, an indirect
 * jump) without passing one of its exit probes. Calls return, except to
 * throw, fatal and the panics.
 */
static bool call_stops(const struct gobin *b, uint64_t target)
{
	const char *name = gobin__lookup(b, target, NULL, NULL, NULL);

	return name && (!strcmp(name, "runtime.throw") || !strcmp(name, "runtime.fatal") ||
			!strcmp(name, "internal/runtime/maps.fatal") ||
			!strcmp(name, "runtime.gopanic") || !strncmp(name, "runtime.panicIndex", 18));
}

static bool is_exit(const struct hooked_fn *f, uint64_t addr)
{
	for (int k = 0; k < f->npoints; k++)
		if (f->points[k].role == ROLE_WRITE_EXIT && f->points[k].addr == addr)
			return true;
	return false;
}

static int uncovered_paths(const struct gobin *b, const struct hooked_fn *f)
{
	const uint8_t *code = gobin__bytes(b, f->start, f->end - f->start);
	size_t n, top = 0, *todo;
	int bad = 0;
	uint8_t *seen;
	cs_insn *in;
	csh cs;

	assert_int_equal(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	n = cs_disasm(cs, code, f->end - f->start, f->start, 0, &in);
	seen = calloc(n, 1);
	todo = calloc(n * 2 + 2, sizeof(*todo));
	for (size_t i = 0; i < n; i++)
		if (in[i].address == f->points[0].addr)
			todo[top++] = i;
	assert_int_equal(top, 1);
	while (top) {
		size_t i = todo[--top];
		const cs_x86 *x = &in[i].detail->x86;
		uint64_t t = x->op_count == 1 && x->operands[0].type == X86_OP_IMM ?
				     x->operands[0].imm : 0;
		bool leaves, jumps, falls;

		if (seen[i] || is_exit(f, in[i].address))
			continue;
		seen[i] = 1;
		jumps = t && cs_insn_group(cs, &in[i], CS_GRP_JUMP);
		leaves = in[i].id == X86_INS_RET ||
			 (cs_insn_group(cs, &in[i], CS_GRP_JUMP) && (t < f->start || t >= f->end));
		falls = in[i].id != X86_INS_JMP && in[i].id != X86_INS_RET &&
			in[i].id != X86_INS_INT3 && in[i].id != X86_INS_UD2 &&
			!(in[i].id == X86_INS_CALL && t && call_stops(b, t));
		if (leaves) {
			print_message("%s: uncovered way out at %#lx (%s %s)\n", f->name,
				      (unsigned long)in[i].address, in[i].mnemonic, in[i].op_str);
			bad++;
			continue;
		}
		for (size_t j = 0; j < n; j++)
			if ((jumps && in[j].address == t) || (falls && j == i + 1))
				todo[top++] = j;
	}
	free(seen);
	free(todo);
	cs_free(in, n);
	cs_close(&cs);
	return bad;
}

/* Every write function of b; returns how many early-return exits it has. */
static int check_paths(const struct gobin *b, const struct plan *p, const char *what, FILE *table)
{
	int early = 0;

	for (int i = 0; i < p->nfns; i++) {
		const struct hooked_fn *f = &p->fns[i];
		int n = 0;

		if (f->points[0].role != ROLE_WRITE_ENTER)
			continue;
		if (uncovered_paths(b, f))
			fail_msg("%s: %s has a way out that passes no exit probe", what, f->name);
		for (int k = 0; k < f->npoints; k++)
			n += f->points[k].why == WHY_EARLY_RETURN;
		if (n && table)
			fprintf(table, "%s %s %d\n", what, f->name, n);
		early += n;
	}
	return early;
}

static void plan_one(const char *dir, const char *build, const char *version)
{
	struct plan_opts opts = { 0 };
	struct go_offsets o;
	struct plan p;
	struct gobin b;
	char path[8192];
	const struct hooked_fn *f;

	snprintf(path, sizeof(path), "%s/%s", dir, build);
	load(path, &b, &o, &p, &opts);
	check_writes(&b, &p);
	check_paths(&b, &p, path, NULL);
	/* the functions the racy fixture's writes go through, flag-check exits */
	f = find(&p, "runtime.mapassign_fast64");
	assert_non_null(f);
	assert_int_equal(f->exit, EXIT_FLAG_CHECK);
	assert_non_null(find(&p, "runtime.mapassign_faststr"));
	assert_non_null(find(&p, "runtime.gopanic"));
	assert_non_null(find(&p, "runtime.throw"));
	/* runtime.fatal exists from Go 1.19 */
	assert_non_null(find(&p, "runtime.fatal"));
	/* the old layout checks the flag in mapdelete itself; swiss in (*Map).Delete */
	f = find(&p, "runtime.mapdelete_fast64");
	if (f)
		assert_int_equal(f->exit, o.swiss ? EXIT_RET : EXIT_FLAG_CHECK);
	for (int i = 0; i < p.nfns; i++)
		if (p.fns[i].exit == EXIT_RET)
			print_message("%s %s: %s uses the RET fallback\n", version, build,
				      p.fns[i].name);
	plan__free(&p);
	gobin__close(&b);
}

/* --exit-probes=ret: the same functions, exits on every RET */
static void plan_forced_ret(const char *dir)
{
	struct plan_opts opts = { .force_ret = true, .reads = true };
	struct go_offsets o;
	struct plan p;
	struct gobin b;
	char path[8192];
	const struct hooked_fn *f;

	snprintf(path, sizeof(path), "%s/racy", dir);
	load(path, &b, &o, &p, &opts);
	f = find(&p, "runtime.mapassign_fast64");
	assert_non_null(f);
	assert_int_equal(f->exit, EXIT_RET);
	/* --reads adds the access functions, with no exit probes */
	f = NULL;
	for (int i = 0; i < p.nfns; i++)
		if (p.fns[i].points[0].role == ROLE_READ && p.fns[i].op == GMW_OP_READ)
			f = &p.fns[i];
	assert_non_null(f);
	assert_int_equal(f->npoints, 1);
	plan__free(&p);
	gobin__close(&b);
}

static void plans_on_fixtures(void **state)
{
	const char *fx = getenv("GMW_FIXTURES");
	char path[4200], tag[64], version[128];
	FILE *f;
	int n = 0;

	if (!fx)
		fail_msg("GMW_FIXTURES is not set: run `make unit`, which builds the fixtures");
	snprintf(path, sizeof(path), "%s/toolchains.txt", fx);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: cannot open", path);
	while (fscanf(f, "%63s %127s", tag, version) == 2) {
		snprintf(path, sizeof(path), "%s/%s", fx, tag);
		for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]); i++)
			plan_one(path, builds[i], version);
		plan_forced_ret(path);
		n++;
	}
	fclose(f);
	assert_true(n >= 2);
}

/*
 * Every release of the matrix, every build mode: no write function has a
 * way out that passes no exit probe, and the old layout's mapclear and
 * mapdelete have their early returns covered. With GMW_EARLY_TABLE=FILE
 * the early-return exits found are listed there, one function a line.
 */
static void every_path_covered_in_the_matrix(void **state)
{
	const char *fx = getenv("GMW_FIXTURES"), *out = getenv("GMW_EARLY_TABLE");
	static const char *const modes[] = { "", ".stripped", ".pie", ".cgo", ".trimpath" };
	char line[512], tag[64], version[64], layout[16], path[4400];
	FILE *f, *table = out ? fopen(out, "w") : NULL;
	int rows = 0;

	if (!fx)
		fail_msg("GMW_FIXTURES is not set");
	snprintf(path, sizeof(path), "%s/matrix.txt", fx);
	f = fopen(path, "r");
	if (!f) {
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			fail_msg("%s: no release matrix", path);
		skip();
	}
	while (fgets(line, sizeof(line), f) &&
	       sscanf(line, "%63s %63s %15s", tag, version, layout) == 3) {
		for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
			struct plan_opts opts = { .reads = true };
			struct go_offsets o;
			struct plan p;
			struct gobin b;
			int early;

			snprintf(path, sizeof(path), "%s/%s/locked%s", fx, tag, modes[m]);
			load(path, &b, &o, &p, &opts);
			early = check_paths(&b, &p, path, table);
			/* mapclear and mapdelete* return early on an empty hmap */
			if (!strcmp(layout, "hmap") && early < 4)
				fail_msg("%s: only %d early-return exits", path, early);
			plan__free(&p);
			gobin__close(&b);
		}
		rows++;
	}
	fclose(f);
	if (table)
		fclose(table);
	print_message("every path covered: %d releases x %zu build modes\n", rows,
		      sizeof(modes) / sizeof(modes[0]));
	assert_true(rows >= 10);
}

static void refuses_a_binary_without_map_functions(void **state)
{
	const char *fx = getenv("GMW_FIXTURES");
	struct plan_opts opts = { 0 };
	struct go_offsets o = { .off = { 152, -1, 34, 24, 0 }, .swiss = true };
	char path[4200], err[512] = "";
	struct gobin b;
	struct plan p;

	if (!fx)
		fail_msg("GMW_FIXTURES is not set");
	snprintf(path, sizeof(path), "%s/nomaps", fx);
	if (gobin__open(&b, path, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(plan__build(&p, &b, &o, &opts, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no Go runtime map functions"));
	gobin__close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plans_on_fixtures),
		cmocka_unit_test(every_path_covered_in_the_matrix),
		cmocka_unit_test(refuses_a_binary_without_map_functions),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
