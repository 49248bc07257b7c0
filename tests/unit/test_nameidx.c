// SPDX-License-Identifier: GPL-2.0
/*
 * nameidx: the first entry of a name wins, missing names end their search
 * even in a full table, and on real binaries ($GMW_FIXTURES) every pclntab
 * function's name leads back to the lowest index of that name, as the
 * sorted index it replaced did.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "gobin.h"
#include "nameidx.h"
#include "pclntab.h"

static void test_first_wins(void **state)
{
	struct nameidx x;
	uint32_t i;

	assert_int_equal(nameidx__init(&x, 4), 0);
	nameidx__add(&x, "main.a", 0);
	nameidx__add(&x, "main.b", 1);
	nameidx__add(&x, "main.a", 2);
	assert_int_equal(nameidx__find(&x, "main.a", &i), 0);
	assert_int_equal(i, 0);
	assert_int_equal(nameidx__find(&x, "main.b", &i), 0);
	assert_int_equal(i, 1);
	assert_int_equal(nameidx__find(&x, "main.c", &i), -1);
	assert_int_equal(nameidx__find(&x, "", &i), -1);
	nameidx__free(&x);
	assert_int_equal(nameidx__find(&x, "main.a", &i), -1);
}

/* More names than promised: the extra are dropped, searches still end. */
static void test_overfull(void **state)
{
	static char names[1000][16];
	struct nameidx x;
	uint32_t i, k, found = 0;

	assert_int_equal(nameidx__init(&x, 10), 0);
	for (k = 0; k < 1000; k++) {
		snprintf(names[k], sizeof(names[k]), "f%u", k);
		nameidx__add(&x, names[k], k);
	}
	for (k = 0; k < 1000; k++) {
		if (nameidx__find(&x, names[k], &i))
			continue;
		assert_int_equal(i, k);
		found++;
	}
	assert_true(found >= 10 && found < 1000);
	assert_int_equal(nameidx__find(&x, "absent", &i), -1);
	nameidx__free(&x);
}

/* Every function of every core fixture, symbols and stripped. */
static void test_fixtures(void **state)
{
	static const char *const progs[] = { "racy", "racy.stripped" };
	const char *dir = getenv("GMW_FIXTURES");
	char path[4400], line[256], tag[32], err[256];
	struct gobin b;
	struct gofunc f, g;
	size_t i, j, n = 0;
	FILE *fl;

	if (!dir || !*dir)
		skip();
	snprintf(path, sizeof(path), "%s/toolchains.txt", dir);
	fl = fopen(path, "r");
	if (!fl)
		fail_msg("%s: %m (run scripts/build-fixtures.sh)", path);
	while (fgets(line, sizeof(line), fl) && sscanf(line, "%31s", tag) == 1) {
		for (size_t p = 0; p < 2; p++) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, tag, progs[p]);
			if (gobin__open(&b, path, err, sizeof(err)))
				fail_msg("%s", err);
			for (i = 0; i < pclntab__nfunc(b.pcln); i++) {
				if (pclntab__func(b.pcln, i, &f))
					continue;
				if (pclntab__find_name(b.pcln, f.name, &j) || j > i)
					fail_msg("%s: %s (%zu) found at %zu", path, f.name, i, j);
				assert_int_equal(pclntab__func(b.pcln, j, &g), 0);
				assert_string_equal(g.name, f.name);
				/* and by the symbol table, when there is one */
				if (b.has_symtab && gobin__func(&b, f.name, &g))
					fail_msg("%s: %s has no symbol", path, f.name);
				n++;
			}
			gobin__close(&b);
		}
	}
	fclose(fl);
	print_message("%zu functions found by name\n", n);
	assert_true(n > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_wins),
		cmocka_unit_test(test_overfull),
		cmocka_unit_test(test_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
