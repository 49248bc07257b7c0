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
	for (int i = 0; i < p->nfns; i++) {
		const struct hooked_fn *f = &p->fns[i];
		int exits = 0;

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
			if (f->exit == EXIT_FLAG_CHECK) {
				assert_true(pp->emulated);
				assert_true(!strncmp(pp->insn, "je ", 3) || !strncmp(pp->insn, "jne ", 4));
			} else {
				assert_string_equal(pp->insn, "ret ");
			}
			exits++;
		}
		if (f->op)
			assert_true(exits > 0);
	}
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
	if (f) {
		assert_int_equal(f->exit, o.swiss ? EXIT_RET : EXIT_FLAG_CHECK);
		assert_int_equal(f->skip_empty, !o.swiss);
	}
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
	assert_false(f->skip_empty);
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
		cmocka_unit_test(refuses_a_binary_without_map_functions),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
