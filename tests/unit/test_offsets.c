// SPDX-License-Identifier: GPL-2.0
/*
 * offsets__load on real Go binaries ($GMW_FIXTURES, scripts/build-fixtures.sh):
 * the DWARF of each release gives the offsets the runtime is known to use,
 * the stripped build gets the same ones from the generated table, and a
 * release the table does not cover is refused by name rather than guessed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "offsets.h"
#include "offsets_table.h"

#define TABLE_ROWS (sizeof(offsets_table) / sizeof(offsets_table[0]))

struct fixture {
	char tag[32];
	char dir[4096];
	struct go_version ver;
	bool swiss;
};

/*
 * What the Go runtime uses on 64-bit, per release (DWARF of real builds):
 * goid moved to 160 in 1.23 (g.syscallbp) and back to 152 in 1.25 (gobuf.ret
 * removed); _panic.argp was removed in 1.26, putting arg at 0. gopc is not
 * pinned down here (ANY): the table and DWARF must merely agree on it.
 */
#define ANY -2	/* not pinned down here */

/* g.parentGoid exists from Go 1.21 (-1: absent, and must be said so). */
static int parent_goid_off(int minor)
{
	if (minor < 21)
		return -1;
	return minor == 21 || minor == 22 || minor == 25 ? 272 : 280;
}

static void expected_offsets(int minor, bool swiss, int off[OFF__COUNT])
{
	off[OFF_G_GOID] = minor == 23 || minor == 24 ? 160 : 152;
	off[OFF_G_GOPC] = ANY;
	off[OFF_G_PARENT_GOID] = parent_goid_off(minor);
	off[OFF_MAP_FLAGS] = swiss ? 34 : 8;
	off[OFF_ITER_MAP] = 24;
	off[OFF_PANIC_ARG] = minor >= 26 ? 0 : 8;
}

static void assert_expected(const struct go_offsets *o, int minor)
{
	int want[OFF__COUNT], f;

	expected_offsets(minor, o->swiss, want);
	for (f = 0; f < OFF__COUNT; f++) {
		if (want[f] == ANY)
			continue;
		if (o->off[f] != want[f])
			fail_msg("go1.%d %s: %s = %d, want %d", minor,
				 o->swiss ? "swiss" : "old maps",
				 offset_field__name(f), o->off[f], want[f]);
	}
}

/* Every field the release has came from src (assert_expected: the rest are -1). */
static void assert_all_from(const struct go_offsets *o, enum offset_source src, int minor)
{
	int f;

	for (f = 0; f < OFF__COUNT; f++) {
		if (f == OFF_G_PARENT_GOID && parent_goid_off(minor) < 0)
			continue;
		if (o->src[f] != src || o->off[f] < 0)
			fail_msg("%s = %d from %s, want it from %s",
				 offset_field__name(f), o->off[f],
				 offset_source__name(o->src[f]),
				 offset_source__name(src));
	}
}

/* A gobin as gobin__open would leave it, for the fields offsets__load reads. */
static void bin_open(struct gobin *b, const char *path, const struct go_version *v)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b->fd < 0)
		fail_msg("open %s: %m (rebuild the fixtures?)", path);
	if (v) {
		b->ver = *v;
		b->has_version = true;
	}
}

static void bin_close(struct gobin *b)
{
	if (b->fd >= 0)
		close(b->fd);
}

/* Load the offsets of one fixture binary; returns offsets__load's result. */
static int fixture_load(const struct fixture *fx, const char *name,
			const struct go_version *v, struct go_offsets *o,
			char *err, size_t errlen)
{
	char path[4200];
	struct gobin b;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	bin_open(&b, path, v);
	rc = offsets__load(o, &b, fx->swiss, err, errlen);
	bin_close(&b);
	return rc;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void test_dwarf(void **state)
{
	const struct fixture *fx = *state;
	struct go_offsets o;
	char err[256] = "";
	double t = now_ms();

	if (fixture_load(fx, "racy", &fx->ver, &o, err, sizeof(err)))
		fail_msg("%s/racy: %s", fx->tag, err);
	print_message("%s/racy: DWARF offsets in %.1f ms\n", fx->tag, now_ms() - t);
	assert_all_from(&o, OFF_DWARF, fx->ver.minor);
	assert_int_equal(o.swiss, fx->swiss);
	assert_expected(&o, fx->ver.minor);
}

static void test_table(void **state)
{
	const struct fixture *fx = *state;
	struct go_offsets dw, tab;
	char err[256] = "";
	int f;

	if (fixture_load(fx, "racy", &fx->ver, &dw, err, sizeof(err)))
		fail_msg("%s/racy: %s", fx->tag, err);
	if (fixture_load(fx, "racy.stripped", &fx->ver, &tab, err, sizeof(err)))
		fail_msg("%s/racy.stripped: %s", fx->tag, err);
	assert_all_from(&tab, OFF_TABLE, fx->ver.minor);
	for (f = 0; f < OFF__COUNT; f++) {
		if (tab.off[f] != dw.off[f])
			fail_msg("%s: %s is %d in the table, %d in DWARF", fx->tag,
				 offset_field__name(f), tab.off[f], dw.off[f]);
	}
}

/* A release after the table's last row, on a binary without DWARF. */
static void test_refuse_newer(void **state)
{
	const struct fixture *fx = *state;
	const struct offsets_row *last = &offsets_table[TABLE_ROWS - 1];
	struct go_version v = fx->ver;
	struct go_offsets o;
	char err[256] = "";

	v.minor = last->minor + 1;
	v.patch = 1;
	snprintf(v.raw, sizeof(v.raw), "go1.%d.1", v.minor);
	assert_int_equal(fixture_load(fx, "racy.stripped", &v, &o, err, sizeof(err)), -1);
	print_message("%s\n", err);
	assert_non_null(strstr(err, v.raw));
	assert_non_null(strstr(err, "newer than the offsets table"));
	assert_non_null(strstr(err, "no DWARF"));
	assert_non_null(strstr(err, "runtime.g.goid"));
	assert_int_equal(o.off[OFF_G_GOID], -1);
}

/* DWARF does not depend on the version: a future release still works. */
static void test_dwarf_newer(void **state)
{
	const struct fixture *fx = *state;
	struct go_version v = fx->ver;
	struct go_offsets o;
	char err[256] = "";

	v.minor = 99;
	snprintf(v.raw, sizeof(v.raw), "go1.99.0");
	if (fixture_load(fx, "racy", &v, &o, err, sizeof(err)))
		fail_msg("%s/racy as go1.99.0: %s", fx->tag, err);
	assert_all_from(&o, OFF_DWARF, fx->ver.minor);
	assert_expected(&o, fx->ver.minor);
}

/* The other map layout has no row for old releases: refused, not guessed. */
static void test_refuse_layout(void **state)
{
	const struct fixture *fx = *state;
	struct fixture other = *fx;
	struct go_offsets o;
	char err[256] = "";
	size_t i;

	other.swiss = !fx->swiss;
	for (i = 0; i < TABLE_ROWS; i++) {
		if (offsets_table[i].minor == fx->ver.minor &&
		    offsets_table[i].swiss == other.swiss)
			skip();		/* 1.24, 1.25: both layouts exist */
	}
	assert_int_equal(fixture_load(&other, "racy.stripped", &fx->ver, &o, err,
				      sizeof(err)), -1);
	print_message("%s\n", err);
	assert_non_null(strstr(err, fx->ver.raw));
	assert_non_null(strstr(err, "row in the offsets table"));
	assert_non_null(strstr(err, "no DWARF"));
	/* with DWARF, which describes the other layout's map only */
	assert_int_equal(fixture_load(&other, "racy", &fx->ver, &o, err,
				      sizeof(err)), -1);
	print_message("%s\n", err);
	assert_non_null(strstr(err, other.swiss ? "maps.Map.writing" : "runtime.hmap.flags"));
	assert_non_null(strstr(err, "not in the binary's DWARF"));
	assert_int_equal(o.src[OFF_G_GOID], OFF_DWARF);
}

/* Windows from tiny (every unit read in cut heads, many rounds) to the default. */
static const size_t windows[] = { 64, 1 << 16, 1 << 20 };

/* A windowed read equals libdw's whole read: offsets, sources and refusal. */
static void assert_window_same(const char *path, const struct go_version *v,
			       bool swiss)
{
	struct go_offsets whole, got;
	char ew[256] = "", eg[256] = "";
	struct gobin b;
	int rw, rg, f;
	size_t i;

	bin_open(&b, path, v);
	rw = offsets__load_window(&whole, &b, swiss, 0, ew, sizeof(ew));
	for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		eg[0] = '\0';
		rg = offsets__load_window(&got, &b, swiss, windows[i], eg, sizeof(eg));
		if (rg != rw || strcmp(eg, ew))
			fail_msg("%s (%s maps), window %zu: %d \"%s\", whole: %d \"%s\"",
				 path, swiss ? "swiss" : "old", windows[i], rg, eg,
				 rw, ew);
		for (f = 0; f < OFF__COUNT; f++) {
			if (got.off[f] != whole.off[f] || got.src[f] != whole.src[f])
				fail_msg("%s (%s maps), window %zu: %s = %d (%s), whole: %d (%s)",
					 path, swiss ? "swiss" : "old", windows[i],
					 offset_field__name(f), got.off[f],
					 offset_source__name(got.src[f]), whole.off[f],
					 offset_source__name(whole.src[f]));
		}
	}
	bin_close(&b);
}

/* Both layouts: the one the binary lacks makes both reads go to the end. */
static int window_same_both(const char *path, const struct go_version *v)
{
	if (access(path, R_OK))
		return 0;
	assert_window_same(path, v, false);
	assert_window_same(path, v, true);
	return 1;
}

static const char *const window_names[] = {
	"racy", "racy.pie", "racy.cgo", "racy.trimpath", "racy.stripped",
	"locked", "locked.cgo",
};

/*
 * Every fixture with DWARF, core and matrix (.zdebug_* up to Go 1.18,
 * SHF_COMPRESSED after, C units from the external linker in .cgo).
 */
static void test_window(void **state)
{
	const char *dir = *state;
	char path[4400], line[256], tag[32], ver[64];
	struct go_version v;
	int n = 0;
	size_t i;
	FILE *f;

	for (int pass = 0; pass < 2; pass++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
			 pass ? "matrix.txt" : "toolchains.txt");
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%31s %63s", tag, ver) != 2 ||
			    go_version__parse(&v, ver))
				continue;
			for (i = 0; i < sizeof(window_names) / sizeof(window_names[0]); i++) {
				snprintf(path, sizeof(path), "%s/%s/%s", dir, tag,
					 window_names[i]);
				n += window_same_both(path, &v);
			}
		}
		fclose(f);
	}
	print_message("%d binaries: windowed reads equal libdw's whole read\n", n);
	assert_true(n > 0);
}

static void test_no_fixtures(void **state)
{
	fail_msg("%s", (const char *)*state);
}

/* The table itself: sorted, without gaps, and as the runtime is known. */
static void test_table_rows(void **state)
{
	const struct offsets_row *prev = NULL;
	size_t i;
	int f;

	assert_true(TABLE_ROWS > 0);
	for (i = 0; i < TABLE_ROWS; i++) {
		const struct offsets_row *r = &offsets_table[i];
		char from[16];

		assert_int_equal(r->major, 1);
		/* a row names the exact toolchain it was read from */
		snprintf(from, sizeof(from), "go1.%d.", r->minor);
		assert_int_equal(strncmp(r->from, from, strlen(from)), 0);
		for (f = 0; f < OFF__COUNT; f++)
			assert_true(r->off[f] >= 0 ||
				    (f == OFF_G_PARENT_GOID && r->minor < 21 && r->off[f] == -1));
		if (prev)
			assert_true(r->minor == prev->minor + 1 ||
				    (r->minor == prev->minor && r->swiss && !prev->swiss));
		/* swiss rows from 1.24, old-map rows until 1.25 */
		assert_true(r->swiss ? r->minor >= 24 : r->minor <= 25);
		prev = r;
	}
}

static void test_table_values(void **state)
{
	size_t i;
	int f, want[OFF__COUNT];

	for (i = 0; i < TABLE_ROWS; i++) {
		const struct offsets_row *r = &offsets_table[i];

		expected_offsets(r->minor, r->swiss, want);
		for (f = 0; f < OFF__COUNT; f++) {
			if (want[f] != ANY && r->off[f] != want[f])
				fail_msg("row %s: %s = %d, want %d", r->from,
					 offset_field__name(f), r->off[f], want[f]);
		}
	}
}

/* No DWARF at all and no build info: nothing to go by. */
static void test_refuse_unknown(void **state)
{
	struct gobin b = { .fd = -1, .path = "/nonexistent/gomapwatch-test" };
	struct go_offsets o;
	char err[256] = "";

	assert_int_equal(offsets__load(&o, &b, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version unknown"));
	assert_non_null(strstr(err, "no DWARF"));
}

/*
 * This test program is no Go binary (its DWARF, if built with -g, has no Go
 * types): the table fills in everything, and without a row it is refused.
 */
static void test_foreign_dwarf(void **state)
{
	struct go_version v = { .major = 1, .minor = 23, .patch = 5, .raw = "go1.23.5" };
	struct go_offsets o;
	char err[256] = "";
	struct gobin b;

	bin_open(&b, "/proc/self/exe", &v);
	assert_int_equal(offsets__load(&o, &b, false, err, sizeof(err)), 0);
	assert_all_from(&o, OFF_TABLE, 23);
	assert_expected(&o, 23);
	b.ver.minor = 99;
	snprintf(b.ver.raw, sizeof(b.ver.raw), "go1.99.0");
	assert_int_equal(offsets__load(&o, &b, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "go1.99.0"));
	assert_non_null(strstr(err, "runtime.g.goid"));
	bin_close(&b);
}

static void test_names(void **state)
{
	assert_string_equal(offset_field__name(OFF_G_GOID), "runtime.g.goid");
	assert_string_equal(offset_source__name(OFF_DWARF), "dwarf");
	assert_string_equal(offset_source__name(OFF_TABLE), "table");
	assert_string_equal(offset_source__name(OFF_NONE), "none");
}

/* Read "<tag> <version>" lines; returns the count, or -1 with a reason. */
static int fixtures_read(const char *dir, struct fixture *fx, int max,
			 char *why, size_t whylen)
{
	char path[4200], line[256];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/toolchains.txt", dir);
	f = fopen(path, "r");
	if (!f) {
		snprintf(why, whylen, "%s: %m (run scripts/build-fixtures.sh)", path);
		return -1;
	}
	while (n < max && fgets(line, sizeof(line), f)) {
		struct fixture *x = &fx[n];
		int at = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%31s %n", x->tag, &at) != 1 || !at)
			continue;
		if (go_version__parse(&x->ver, line + at) || x->ver.major != 1) {
			snprintf(why, whylen, "%.4096s: cannot parse \"%.200s\"",
				 path, line);
			fclose(f);
			return -1;
		}
		x->swiss = go_version__swiss(&x->ver);
		snprintf(x->dir, sizeof(x->dir), "%s/%s", dir, x->tag);
		n++;
	}
	fclose(f);
	if (!n)
		snprintf(why, whylen, "%s lists no toolchain", path);
	return n ? n : -1;
}

#define MAX_FIXTURES 32

static const struct {
	const char *name;
	CMUnitTestFunction fn;
} per_fixture[] = {
	{ "dwarf", test_dwarf },
	{ "table", test_table },
	{ "refuse_newer", test_refuse_newer },
	{ "dwarf_newer", test_dwarf_newer },
	{ "refuse_layout", test_refuse_layout },
};

#define N_PER_FIXTURE (sizeof(per_fixture) / sizeof(per_fixture[0]))

int main(void)
{
	static struct fixture fx[MAX_FIXTURES];
	static struct CMUnitTest tests[9 + MAX_FIXTURES * N_PER_FIXTURE];
	static char names[MAX_FIXTURES * N_PER_FIXTURE][64];
	static char why[4600];
	const char *dir = getenv("GMW_FIXTURES");
	size_t n = 0, k = 0, j;
	int nfx, i;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_table_rows);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_table_values);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_refuse_unknown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_foreign_dwarf);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_names);

	if (!dir || !*dir) {
		snprintf(why, sizeof(why),
			 "GMW_FIXTURES is not set: point it at the output of "
			 "scripts/build-fixtures.sh (make unit does)");
		nfx = -1;
	} else {
		nfx = fixtures_read(dir, fx, MAX_FIXTURES, why, sizeof(why));
	}
	if (nfx < 0)
		tests[n++] = (struct CMUnitTest){ .name = "fixtures",
			.test_func = test_no_fixtures, .initial_state = why };
	if (nfx > 0)
		tests[n++] = (struct CMUnitTest){ .name = "window",
			.test_func = test_window, .initial_state = (void *)dir };
	for (i = 0; i < nfx; i++) {
		for (j = 0; j < N_PER_FIXTURE; j++, k++) {
			snprintf(names[k], sizeof(names[k]), "%.31s_%.31s",
				 fx[i].tag, per_fixture[j].name);
			tests[n++] = (struct CMUnitTest){ .name = names[k],
				.test_func = per_fixture[j].fn,
				.initial_state = &fx[i] };
		}
	}
	return _cmocka_run_group_tests("offsets", tests, n, NULL, NULL);
}
