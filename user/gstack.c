// SPDX-License-Identifier: GPL-2.0
/*
 * Stacks as the runtime's traceback shows them (runtime/traceback.go,
 * showfuncinfo): a function is hidden if it is in package runtime and not
 * exported, or if it is a compiler-made wrapper not calling a panic;
 * runtime.gopanic stays visible in the middle of a stack. Frames before
 * the first user frame (the map function, internal/runtime/maps) are not
 * the user's and are hidden too.
 */
#include <stdlib.h>
#include <string.h>
#include "gstack.h"

#define INLINE_MAX	16	/* frames one PC can expand into */

bool gframe__runtime(const char *func)
{
	if (!strchr(func, '.'))
		return true;
	if (strncmp(func, "runtime.", 8))
		return false;
	return !(func[8] >= 'A' && func[8] <= 'Z');
}

/* Not the user's code: what sits above the first user frame. */
static bool gframe__internal(const char *func)
{
	return gframe__runtime(func) || !strncmp(func, "runtime.", 8) ||
	       !strncmp(func, "internal/runtime/", 17);
}

/* Who a wrapper may be shown calling (runtime.elideWrapperCalling). */
static bool calls_panic(const char *callee)
{
	return callee && (!strcmp(callee, "runtime.gopanic") || !strcmp(callee, "runtime.sigpanic") ||
			  !strcmp(callee, "runtime.panicwrap"));
}

/*
 * Generic functions' names as Go 1.21+ prints them ("main.f[...]"), kept
 * for the life of the process: there are as many as distinct generic
 * functions seen in stacks.
 */
static const char *print_name(const struct gobin *bin, const char *name)
{
	static struct pname {
		struct pname *next;
		const char *raw;
		char shown[];
	} *names;
	char buf[512];
	struct pname *p;

	if (!strchr(name, '[') || !bin->has_version || go_version__cmp(&bin->ver, 1, 21, 0) < 0)
		return name;
	for (p = names; p; p = p->next)
		if (p->raw == name)
			return p->shown;
	gobin__print_name(name, buf, sizeof(buf));
	p = malloc(sizeof(*p) + strlen(buf) + 1);
	if (!p)
		return name;
	p->raw = name;
	strcpy(p->shown, buf);
	p->next = names;
	names = p;
	return p->shown;
}

/* pc's frames after the n already in st; lookup is the PC to resolve. */
static void gstack__expand(struct gstack *st, const struct gobin *bin, uint64_t pc,
			   uint64_t lookup, bool *wrapper)
{
	struct pcframe pf[INLINE_MAX];
	int k = bin ? gobin__frames(bin, lookup, pf, INLINE_MAX) : 0;

	if (!k) {
		pf[0] = (struct pcframe){ .func = "?" };
		k = 1;
	}
	for (int i = 0; i < k && st->n < GSTACK_MAX; i++) {
		struct gframe *f = &st->f[st->n];

		f->pc = pc;
		f->func = pf[i].func ? print_name(bin, pf[i].func) : "?";
		f->file = pf[i].file ? pf[i].file : "?";
		f->line = pf[i].line;
		f->inlined = pf[i].inlined;
		f->hidden = false;
		wrapper[st->n++] = pf[i].wrapper;
	}
}

/* The runtime's rule for frames after the first user frame, and before it. */
static void gstack__hide(struct gstack *st, const bool *wrapper, int nprobe)
{
	int first = -1;

	for (int i = 0; i < st->n && first < 0; i++)
		if (i >= nprobe && !wrapper[i] && !gframe__internal(st->f[i].func))
			first = i;
	if (first < 0)
		return;		/* nothing but the runtime: show it all */
	for (int i = 0; i < st->n; i++) {
		const char *fn = st->f[i].func;

		if (i < first)
			st->f[i].hidden = true;
		else if (wrapper[i])
			st->f[i].hidden = !calls_panic(i ? st->f[i - 1].func : NULL);
		else if (gframe__runtime(fn))
			st->f[i].hidden = strcmp(fn, "runtime.gopanic") != 0;
	}
}

void gstack__load(struct gstack *st, const struct gobin *bin, uint64_t bias,
		  const struct gmw_side *s, bool all)
{
	uint32_t n = s->nframes < GMW_STACK_MAX ? s->nframes : GMW_STACK_MAX;
	bool wrapper[GSTACK_MAX];
	int nprobe = 0;

	st->n = 0;
	st->truncated = s->flags & GMW_S_TRUNCATED;
	st->left = s->flags & GMW_S_LEFT;
	for (uint32_t i = 0; i < n; i++) {
		/* a return address's line is the call's: look up pc - 1 */
		gstack__expand(st, bin, s->stack[i], s->stack[i] - bias - (i > 0), wrapper);
		if (i == 0) {
			nprobe = st->n;	/* the hooked function itself */
			if (s->ret_ip)
				gstack__expand(st, bin, s->ret_ip, s->ret_ip - bias - 1, wrapper);
		}
	}
	if (!all)
		gstack__hide(st, wrapper, nprobe);
	else
		for (int i = 0; i < st->n; i++)
			st->f[i].hidden = false;
	st->parent_goid = s->parent_goid;
	memset(&st->created, 0, sizeof(st->created));
	st->created.func = st->created.file = "?";
	st->created.pc = s->gopc;
	/*
	 * As the runtime prints it (printcreatedby): the function holding the
	 * go statement, never for goroutine 1 or a creator it would hide.
	 */
	if (!all && s->goid == 1)
		st->created.pc = 0;
	if (st->created.pc && bin) {
		const char *fn = gobin__lookup(bin, s->gopc - bias - 1, &st->created.file,
					       &st->created.line, NULL);

		st->created.func = fn ? print_name(bin, fn) : "?";
		if (!st->created.file)
			st->created.file = "?";
		if (!all && gframe__runtime(st->created.func))
			st->created.pc = 0;
	}
}

const struct gframe *gstack__first(const struct gstack *st)
{
	for (int i = 0; i < st->n; i++)
		if (!st->f[i].hidden)
			return &st->f[i];
	return NULL;
}
