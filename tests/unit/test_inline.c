// SPDX-License-Identifier: GPL-2.0
/*
 * gobin__frames against the Go runtime itself: tests/go/inlinetab prints, for
 * call sites inside inlined code, every frame runtime.CallersFrames gives for
 * each PC runtime.Callers returned; the same PCs must expand to the same
 * frames here. Every toolchain of toolchains.txt and matrix.txt, in each
 * build mode it was built in. The arm64 builds cannot run here: their tables
 * must hold, somewhere in each function, the stacks the amd64 build of the
 * same toolchain printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gobin.h"
#include "pclntab.h"

#define MAX_FIXTURES	128
#define MAX_DEPTH	32
#define MAX_GROUPS	512

static const char *const core_builds[] = {
	"inlinetab", "inlinetab.stripped", "inlinetab.pie",
};
static const char *const matrix_builds[] = {
	"inlinetab", "inlinetab.stripped", "inlinetab.pie", "inlinetab.cgo",
	"inlinetab.trimpath",
};

struct fixture {
	char name[300];		/* "go1.17/inlinetab.pie" */
	char path[4200];
	char amd64[4200];	/* arm64: the build that runs */
	bool arm64;
};

struct want_frame {
	char func[512];
	char file[1024];
	int line;
};

/* The frames of one PC, as CallersFrames printed them. */
struct group {
	char site[64];
	uint64_t pc;
	int n;
	struct want_frame f[MAX_DEPTH];
};

struct run {
	uint64_t entry;		/* main.main at run time */
	int n;
	struct group g[MAX_GROUPS];
};

static char *run_fixture(const char *path)
{
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	int fd[2], status;
	ssize_t r;
	pid_t pid;

	assert_non_null(out);
	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	while ((r = read(fd[0], out + len, cap - len - 1)) > 0) {
		len += r;
		if (cap - len < 2) {
			out = realloc(out, cap *= 2);
			assert_non_null(out);
		}
	}
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("%s: exit status %#x", path, status);
	out[len] = '\0';
	return out;
}

static void parse_frame(struct run *r, const char *site, const char *line)
{
	struct group *g = r->n ? &r->g[r->n - 1] : NULL;
	struct want_frame f;
	uint64_t pc;

	if (sscanf(line, "pc %" SCNx64 " func %511s file %1023s line %d",
		   &pc, f.func, f.file, &f.line) != 4)
		fail_msg("unparsed line: %s", line);
	/* a new site or a new PC starts a group */
	if (!g || g->pc != pc || strcmp(g->site, site)) {
		if (r->n == MAX_GROUPS)
			fail_msg("more than %d PCs", MAX_GROUPS);
		g = &r->g[r->n++];
		snprintf(g->site, sizeof(g->site), "%s", site);
		g->pc = pc;
		g->n = 0;
	}
	if (g->n == MAX_DEPTH)
		fail_msg("more than %d frames at pc %#" PRIx64, MAX_DEPTH, pc);
	g->f[g->n++] = f;
}

static struct run *parse_run(char *out)
{
	struct run *r = calloc(1, sizeof(*r));
	char site[64] = "", *line, *save;

	assert_non_null(r);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "entry main.main %" SCNx64, &r->entry) == 1)
			continue;
		if (sscanf(line, "site %63s", site) == 1)
			continue;
		parse_frame(r, site, line);
	}
	assert_true(r->entry != 0);
	assert_true(r->n > 0);
	return r;
}

static struct run *run_and_parse(const char *path)
{
	char *out = run_fixture(path);
	struct run *r = parse_run(out);

	free(out);
	return r;
}

static void test_print_name(void **state)
{
	static const char *const cases[][2] = {
		{ "main.main", "main.main" },
		{ "main.f[go.shape.int]", "main.f[...]" },
		{ "main.(*pair[go.shape.string,go.shape.int]).key",
		  "main.(*pair[...]).key" },
		{ "main.f[go.shape.[]int]", "main.f[...]" },
		{ "main.T[go.shape.int].m[go.shape.string]",
		  "main.T[...].m[...]" },
	};
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gobin__print_name(cases[i][0], buf, sizeof(buf));
		assert_string_equal(buf, cases[i][1]);
	}
}

static bool go121(const struct gobin *b)
{
	return b->has_version && go_version__cmp(&b->ver, 1, 21, 0) >= 0;
}

static void frame_name(const struct gobin *b, const struct pcframe *f,
		       char *out, size_t len)
{
	if (go121(b))
		gobin__print_name(f->func, out, len);
	else
		snprintf(out, len, "%s", f->func);
}

/* Only the last frame of a PC is the function's own. */
static void check_inlined_flags(const struct pcframe *got, int n,
				const struct group *g)
{
	int i;

	for (i = 0; i < n; i++) {
		if (got[i].inlined != (i < n - 1))
			fail_msg("%s pc %#" PRIx64 ": frame %d (%s) inlined=%d of %d",
				 g->site, g->pc, i, got[i].func, got[i].inlined, n);
	}
}

struct tally {
	int pcs, frames, inlined, wrappers;
};

/*
 * gobin__frames at pc, wrappers left out as the runtime leaves them out
 * (no panic in this program), must be g's frames.
 */
static void check_group(const struct gobin *b, uint64_t bias,
			const struct group *g, struct tally *t)
{
	struct pcframe got[MAX_DEPTH * 2];
	char name[512];
	int n, i, k = 0;

	n = gobin__frames(b, g->pc - bias - 1, got, MAX_DEPTH * 2);
	if (n <= 0)
		fail_msg("%s pc %#" PRIx64 ": no frames", g->site, g->pc);
	check_inlined_flags(got, n, g);
	for (i = 0; i < n; i++) {
		const struct want_frame *w = &g->f[k];

		if (got[i].wrapper) {
			t->wrappers++;
			continue;
		}
		frame_name(b, &got[i], name, sizeof(name));
		if (k == g->n)
			fail_msg("%s pc %#" PRIx64 ": extra frame %s", g->site,
				 g->pc, name);
		if (strcmp(name, w->func) || !got[i].file ||
		    strcmp(got[i].file, w->file) || got[i].line != w->line)
			fail_msg("%s pc %#" PRIx64 " frame %d: got %s %s:%d, want %s %s:%d",
				 g->site, g->pc, k, name,
				 got[i].file ? got[i].file : "(null)", got[i].line,
				 w->func, w->file, w->line);
		t->inlined += got[i].inlined;
		k++;
	}
	if (k != g->n)
		fail_msg("%s pc %#" PRIx64 ": %d frames, want %d (innermost %s)",
			 g->site, g->pc, k, g->n, g->f[0].func);
	t->frames += k;
	t->pcs++;
}

static void open_gobin(struct gobin *b, const char *path)
{
	char err[512];

	if (gobin__open(b, path, err, sizeof(err)))
		fail_msg("%s", err);
}

/*
 * The compiler's (*box).get wrapper is flagged, main.main is not, and the
 * wrapper's funcID is the largest in the binary (what gobin falls back on
 * for releases it does not know).
 */
static void check_wrapper(const struct gobin *b)
{
	struct pcframe fr[MAX_DEPTH];
	int n, id, max = 0;
	struct gofunc f;
	size_t w, i;

	assert_int_equal(gobin__func(b, "main.(*box).get", &f), 0);
	n = gobin__frames(b, f.start, fr, MAX_DEPTH);
	assert_true(n >= 1);
	assert_string_equal(fr[n - 1].func, "main.(*box).get");
	assert_true(fr[n - 1].wrapper);
	assert_int_equal(gobin__func(b, "main.main", &f), 0);
	n = gobin__frames(b, f.start, fr, MAX_DEPTH);
	assert_int_equal(n, 1);
	assert_false(fr[0].wrapper);
	assert_false(fr[0].inlined);

	assert_int_equal(pclntab__find_name(b->pcln, "main.(*box).get", &w), 0);
	for (i = 0; i < pclntab__nfunc(b->pcln); i++) {
		id = pclntab__funcid(b->pcln, i);
		max = id > max ? id : max;
	}
	assert_int_equal(pclntab__funcid(b->pcln, w), max);
}

/* The deep site expands; a short buffer keeps the innermost frames. */
static void check_deep(const struct gobin *b, uint64_t bias,
		       const struct run *r)
{
	struct pcframe all[MAX_DEPTH], one;
	const struct group *g = NULL;
	int i, n;

	for (i = 0; i < r->n && !g; i++)
		if (!strcmp(r->g[i].site, "deep"))
			g = &r->g[i];
	assert_non_null(g);
	/* leaf, mid, top inlined into main.main */
	assert_int_equal(g->n, 4);
	assert_string_equal(g->f[0].func, "main.leaf");
	assert_string_equal(g->f[3].func, "main.main");
	n = gobin__frames(b, g->pc - bias - 1, all, MAX_DEPTH);
	assert_int_equal(n, 4);
	assert_int_equal(gobin__frames(b, g->pc - bias - 1, &one, 1), 1);
	assert_string_equal(one.func, all[0].func);
	assert_int_equal(one.line, all[0].line);
	assert_true(one.inlined);
	assert_int_equal(gobin__frames(b, g->pc - bias - 1, &one, 0), 0);
	assert_int_equal(gobin__frames(b, 1, all, MAX_DEPTH), 0);
}

static void test_fixture(void **state)
{
	const struct fixture *fx = *state;
	struct tally t = { 0 };
	struct gofunc main_fn;
	struct run *r;
	struct gobin b;
	uint64_t bias;
	int i;

	r = run_and_parse(fx->path);
	open_gobin(&b, fx->path);
	assert_int_equal(gobin__func(&b, "main.main", &main_fn), 0);
	bias = r->entry - main_fn.start;
	if (!b.pie)
		assert_int_equal(bias, 0);
	check_wrapper(&b);
	check_deep(&b, bias, r);
	for (i = 0; i < r->n; i++)
		check_group(&b, bias, &r->g[i], &t);
	/* box.get inlined into its wrapper: a flagged frame was left out */
	assert_true(t.wrappers > 0);
	print_message("%s: %d PCs, %d frames (%d inlined), %d wrapper frames left out\n",
		      fx->name, t.pcs, t.frames, t.inlined, t.wrappers);
	gobin__close(&b);
	free(r);
}

/* Frames of every PC of main.* functions, wrappers out, as one string each. */
struct scan {
	const struct gobin *b;
	char **keys;
	size_t n, cap;
};

static void frames_key(const struct gobin *b, const struct pcframe *fr,
		       int n, char *out, size_t len)
{
	char name[512];
	size_t off = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		if (fr[i].wrapper)
			continue;
		frame_name(b, &fr[i], name, sizeof(name));
		off += snprintf(out + off, len - off, "%s %s:%d;", name,
				fr[i].file ? fr[i].file : "?", fr[i].line);
	}
}

static int scan_cb(const struct gofunc *f, void *ctx)
{
	struct pcframe fr[MAX_DEPTH];
	struct scan *s = ctx;
	char key[4096];
	uint64_t pc;
	int n;

	if (strncmp(f->name, "main.", 5))
		return 0;
	/* arm64 instructions are 4 bytes: one lookup PC in each */
	for (pc = f->start; pc < f->end; pc += 4) {
		n = gobin__frames(s->b, pc, fr, MAX_DEPTH);
		if (n <= 0)
			continue;
		frames_key(s->b, fr, n, key, sizeof(key));
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 1024;
			s->keys = realloc(s->keys, s->cap * sizeof(*s->keys));
			assert_non_null(s->keys);
		}
		s->keys[s->n] = strdup(key);
		assert_non_null(s->keys[s->n++]);
	}
	return 0;
}

static void want_key(const struct group *g, char *out, size_t len)
{
	size_t off = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < g->n && off < len; i++)
		off += snprintf(out + off, len - off, "%s %s:%d;", g->f[i].func,
				g->f[i].file, g->f[i].line);
}

static bool scan_has(const struct scan *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->keys[i], key))
			return true;
	return false;
}

static void test_arm64(void **state)
{
	const struct fixture *fx = *state;
	struct run *r = run_and_parse(fx->amd64);
	struct scan s = { 0 };
	int i, checked = 0, frames = 0;
	char key[4096];
	struct gobin b;
	size_t k;

	open_gobin(&b, fx->path);
	assert_int_equal(b.machine, 183 /* EM_AARCH64 */);
	s.b = &b;
	check_wrapper(&b);
	gobin__foreach_func(&b, scan_cb, &s);
	for (i = 0; i < r->n; i++) {
		const struct group *g = &r->g[i];

		/* the program's own code: the runtime's differs by arch */
		if (strncmp(g->f[g->n - 1].func, "main.", 5))
			continue;
		want_key(g, key, sizeof(key));
		if (!scan_has(&s, key))
			fail_msg("%s: no PC has the frames of %s pc %#" PRIx64 ": %s",
				 fx->name, g->site, g->pc, key);
		checked++;
		frames += g->n;
	}
	assert_true(checked > 0);
	print_message("%s: %d stacks of the amd64 run (%d frames) found\n",
		      fx->name, checked, frames);
	for (k = 0; k < s.n; k++)
		free(s.keys[k]);
	free(s.keys);
	gobin__close(&b);
	free(r);
}

/* Reads one "<tag> ..." per line; adds each build of the tag that exists. */
static int load_list(const char *root, const char *list,
		     const char *const *builds, size_t nbuilds,
		     struct fixture *fx, int n, int max)
{
	char path[4200], line[512], tag[256];
	size_t i;
	int j;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, list);
	f = fopen(path, "r");
	if (!f)
		return n;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s", tag) != 1)
			continue;
		for (i = 0; i < nbuilds && n < max; i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", root, tag, builds[i]);
			if (access(path, X_OK))
				continue;
			for (j = 0; j < n && strcmp(fx[j].path, path); j++)
				;
			if (j < n)	/* a core toolchain in the matrix too */
				continue;
			snprintf(fx[n].name, sizeof(fx[n].name), "%s/%s", tag, builds[i]);
			snprintf(fx[n].path, sizeof(fx[n].path), "%s", path);
			n++;
		}
	}
	fclose(f);
	return n;
}

/* The arm64 build of each core toolchain, beside the amd64 one that runs. */
static int load_arm64(const char *root, struct fixture *fx, int n, int max)
{
	char path[4200], line[512], tag[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/toolchains.txt", root);
	f = fopen(path, "r");
	if (!f)
		return n;
	while (fgets(line, sizeof(line), f) && n < max) {
		if (sscanf(line, "%255s", tag) != 1)
			continue;
		snprintf(fx[n].path, sizeof(fx[n].path), "%s/%s/inlinetab.arm64", root, tag);
		snprintf(fx[n].amd64, sizeof(fx[n].amd64), "%s/%s/inlinetab", root, tag);
		if (access(fx[n].path, R_OK) || access(fx[n].amd64, X_OK))
			continue;
		snprintf(fx[n].name, sizeof(fx[n].name), "%s/inlinetab.arm64", tag);
		fx[n].arm64 = true;
		n++;
	}
	fclose(f);
	return n;
}

static void test_no_fixtures(void **state)
{
	fail_msg("%s", (const char *)*state);
}

int main(void)
{
	static struct fixture fx[MAX_FIXTURES];
	static struct CMUnitTest tests[MAX_FIXTURES + 2];
	static char why[4300];
	const char *root = getenv("GMW_FIXTURES");
	size_t n = 0;
	int nfx = 0, i;

	tests[n++] = (struct CMUnitTest){ .name = "print_name",
		.test_func = test_print_name };
	if (root && *root) {
		nfx = load_list(root, "toolchains.txt", core_builds,
				sizeof(core_builds) / sizeof(core_builds[0]),
				fx, nfx, MAX_FIXTURES);
		nfx = load_list(root, "matrix.txt", matrix_builds,
				sizeof(matrix_builds) / sizeof(matrix_builds[0]),
				fx, nfx, MAX_FIXTURES);
		nfx = load_arm64(root, fx, nfx, MAX_FIXTURES);
	}
	if (!nfx) {
		snprintf(why, sizeof(why),
			 "no inlinetab fixtures in %s: run the tests with make unit, which builds them",
			 root && *root ? root : "$GMW_FIXTURES (unset)");
		tests[n++] = (struct CMUnitTest){ .name = "fixtures",
			.test_func = test_no_fixtures, .initial_state = why };
	}
	for (i = 0; i < nfx; i++)
		tests[n++] = (struct CMUnitTest){ .name = fx[i].name,
			.test_func = fx[i].arm64 ? test_arm64 : test_fixture,
			.initial_state = &fx[i] };
	return _cmocka_run_group_tests("inline", tests, n, NULL, NULL);
}
