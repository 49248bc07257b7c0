// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "report.h"

#define MAX_FRAMES (GMW_STACK_MAX + 1)
#define MAX_KEYS 16

struct frame {
	uint64_t pc;
	const char *func, *file;
	int line;
};

struct stack {
	int n;
	struct frame f[MAX_FRAMES];
	struct frame created;		/* where the goroutine was started; pc 0 if unknown */
};

struct distinct {
	char *sig;
	char title[256];		/* "write/write: main.writer main.go:42 <-> ..." */
	struct gmw_pair_key keys[MAX_KEYS];
	int nkeys;
	uint64_t events;
};

struct report {
	FILE *out;
	bool json;
	struct report_src src;
	struct distinct *d;
	int nd, cap;
	int nfatal;
	char fatal_msg[GMW_MSG_MAX + 32];	/* what the target died of */
	char **seen_msgs;		/* panic/fatal signatures already printed */
	int nseen;
	uint64_t msg_repeats, lost;
};

struct report *report__new(FILE *out, bool json, const struct report_src *src)
{
	struct report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->out = out;
	r->json = json;
	r->src = *src;
	return r;
}

void report__free(struct report *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nd; i++)
		free(r->d[i].sig);
	for (int i = 0; i < r->nseen; i++)
		free(r->seen_msgs[i]);
	free(r->seen_msgs);
	free(r->d);
	free(r);
}

static const char *fn_name(const struct report *r, uint16_t fn)
{
	if (fn == GMW_FN_UNSEEN)
		return "unseen";
	return r->src.plan && fn < r->src.plan->nfns ? r->src.plan->fns[fn].name : "?";
}

static const char *op_name(uint8_t op)
{
	static const char *const n[] = { "?", "read", "write", "delete", "clear", "iterate" };

	return op < sizeof(n) / sizeof(n[0]) ? n[op] : "?";
}

static const char *conflict_kind(const struct gmw_conflict *c)
{
	if (c->cur.op == GMW_OP_CLEAR || c->other.op == GMW_OP_CLEAR)
		return "clear/write";
	if (c->cur.op == GMW_OP_READ)
		return "read/write";
	if (c->cur.op == GMW_OP_ITER)
		return "iterate/write";
	return "write/write";
}

static void frame__symbolize(const struct report *r, struct frame *f, uint64_t pc)
{
	f->func = r->src.bin ? gobin__lookup(r->src.bin, pc, &f->file, &f->line, NULL) : NULL;
	if (!f->func)
		f->func = "?";
	if (!f->file)
		f->file = "?";
}

/* The probed instruction, the caller (ret_ip), then the frame-pointer walk. */
static void stack__load(const struct report *r, const struct gmw_side *s, struct stack *st)
{
	uint32_t n = s->nframes < GMW_STACK_MAX ? s->nframes : GMW_STACK_MAX;
	uint64_t bias = r->src.bias && n ? r->src.bias(r->src.bias_ctx, s->pid) : 0;

	st->n = 0;
	for (uint32_t i = 0; i < n; i++) {
		st->f[st->n++].pc = s->stack[i];
		if (i == 0 && s->ret_ip)
			st->f[st->n++].pc = s->ret_ip;
	}
	/* a return address's line is the call's: look up pc - 1 */
	for (int i = 0; i < st->n; i++)
		frame__symbolize(r, &st->f[i], st->f[i].pc - bias - (i > 0));
	st->created.pc = s->gopc;
	if (s->gopc)
		frame__symbolize(r, &st->created, s->gopc - bias - 1);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* --- text ------------------------------------------------------------- */

static void text_frames(const struct report *r, const struct stack *st, int from)
{
	for (int i = from; i < st->n; i++)
		fprintf(r->out, "      %s %s:%d\n", st->f[i].func, st->f[i].file, st->f[i].line);
	if (st->n <= from)
		fprintf(r->out, "      (stack unavailable)\n");
	if (st->created.pc)
		fprintf(r->out, "      created by %s %s:%d\n", st->created.func, st->created.file,
			st->created.line);
}

static void text_side(const struct report *r, const char *what, const struct gmw_side *s,
		      const struct stack *st)
{
	if (s->fn == GMW_FN_UNSEEN) {
		fprintf(r->out, "  %s: a write never seen entering (begun before attach, or its\n"
			"      record lost); the map's write flag was set, so it was in progress\n", what);
		return;
	}
	fprintf(r->out, "  %s: goroutine %" PRIu64 " [pid %u tid %u] in %s (%s, write flag at entry %#x)\n",
		what, (uint64_t)s->goid, s->pid, s->tid, fn_name(r, s->fn), op_name(s->op), s->flag);
	text_frames(r, st, 1);
}

/* --- JSON ------------------------------------------------------------- */

static yyjson_mut_val *json_stack(yyjson_mut_doc *doc, const struct stack *st, int from)
{
	yyjson_mut_val *arr = yyjson_mut_arr(doc);
	char pc[24];

	for (int i = from; i < st->n; i++) {
		yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr);

		json__add_bytes(doc, o, "function", st->f[i].func, strlen(st->f[i].func));
		json__add_bytes(doc, o, "file", st->f[i].file, strlen(st->f[i].file));
		yyjson_mut_obj_add_int(doc, o, "line", st->f[i].line);
		snprintf(pc, sizeof(pc), "%#" PRIx64, st->f[i].pc);
		yyjson_mut_obj_add_strcpy(doc, o, "pc", pc);
	}
	return arr;
}

static void json_created(yyjson_mut_doc *doc, yyjson_mut_val *obj, const struct stack *st)
{
	yyjson_mut_val *o;

	if (!st->created.pc)
		return;
	o = yyjson_mut_obj_add_obj(doc, obj, "created_by");
	json__add_bytes(doc, o, "function", st->created.func, strlen(st->created.func));
	json__add_bytes(doc, o, "file", st->created.file, strlen(st->created.file));
	yyjson_mut_obj_add_int(doc, o, "line", st->created.line);
}

static yyjson_mut_val *json_side(const struct report *r, yyjson_mut_doc *doc,
				 const struct gmw_side *s, const struct stack *st, int from)
{
	yyjson_mut_val *o = yyjson_mut_obj(doc);

	yyjson_mut_obj_add_uint(doc, o, "goroutine", s->goid);
	yyjson_mut_obj_add_uint(doc, o, "tid", s->tid);
	yyjson_mut_obj_add_uint(doc, o, "pid", s->pid);
	yyjson_mut_obj_add_str(doc, o, "function", fn_name(r, s->fn));
	yyjson_mut_obj_add_str(doc, o, "op", op_name(s->op));
	yyjson_mut_obj_add_uint(doc, o, "write_flag", s->flag);
	yyjson_mut_obj_add_val(doc, o, "stack", json_stack(doc, st, from));
	json_created(doc, o, st);
	return o;
}

static yyjson_mut_doc *json_start(const char *type, yyjson_mut_val **root)
{
	yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);

	*root = yyjson_mut_obj(doc);
	yyjson_mut_doc_set_root(doc, *root);
	yyjson_mut_obj_add_str(doc, *root, "type", type);
	return doc;
}

/* --- conflicts -------------------------------------------------------- */

/* Both sides' frames, order-independent: the same bug seen either way round. */
static char *conflict_sig(const char *kind, const struct stack *a, const struct stack *b)
{
	char *sa = NULL, *sb = NULL, *sig = NULL;
	size_t la, lb;
	FILE *fa = open_memstream(&sa, &la), *fb = open_memstream(&sb, &lb);

	if (!fa || !fb)
		goto out;
	for (int i = 1; i < a->n; i++)
		fprintf(fa, "%s:%d;", a->f[i].func, a->f[i].line);
	for (int i = 1; i < b->n; i++)
		fprintf(fb, "%s:%d;", b->f[i].func, b->f[i].line);
	fclose(fa), fclose(fb);
	fa = fb = NULL;
	if (asprintf(&sig, "%s|%s|%s", kind, strcmp(sa, sb) < 0 ? sa : sb,
		     strcmp(sa, sb) < 0 ? sb : sa) < 0)
		sig = NULL;
out:
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	free(sa);
	free(sb);
	return sig;
}

/* The distinct conflict this one repeats, or a new one (*fresh = true). */
static struct distinct *distinct__find(struct report *r, char *sig, bool *fresh)
{
	struct distinct *d;

	*fresh = false;
	for (int i = 0; i < r->nd; i++)
		if (!strcmp(r->d[i].sig, sig)) {
			free(sig);
			return &r->d[i];
		}
	if (r->nd == r->cap) {
		int cap = r->cap ? r->cap * 2 : 16;
		struct distinct *nd = realloc(r->d, cap * sizeof(*nd));

		if (!nd) {
			free(sig);
			return NULL;
		}
		r->d = nd, r->cap = cap;
	}
	d = &r->d[r->nd++];
	memset(d, 0, sizeof(*d));
	d->sig = sig;
	*fresh = true;
	return d;
}

static void distinct__add_key(struct distinct *d, const struct gmw_pair_key *k)
{
	for (int i = 0; i < d->nkeys; i++)
		if (!memcmp(&d->keys[i], k, sizeof(*k)))
			return;
	if (d->nkeys < MAX_KEYS)
		d->keys[d->nkeys++] = *k;
}

static const struct frame *first_user(const struct stack *st)
{
	return st->n > 1 ? &st->f[1] : NULL;
}

static void distinct__title(struct distinct *d, const char *kind, const struct stack *a,
			    const struct stack *b)
{
	const struct frame *fa = first_user(a), *fb = first_user(b);

	snprintf(d->title, sizeof(d->title), "%s: %s %s:%d <-> %s %s:%d", kind,
		 fa ? fa->func : "?", fa ? base_name(fa->file) : "?", fa ? fa->line : 0,
		 fb ? fb->func : "?", fb ? base_name(fb->file) : "?", fb ? fb->line : 0);
}

static void conflict__print(struct report *r, const struct gmw_conflict *c, const char *kind,
			    const struct stack *a, const struct stack *b)
{
	yyjson_mut_val *root, *sides;
	yyjson_mut_doc *doc;
	char map[24];

	snprintf(map, sizeof(map), "%#" PRIx64, (uint64_t)c->map);
	if (!r->json) {
		fprintf(r->out, "\n=== CONFLICT %s on map %s ===\n", kind, map);
		text_side(r, "entering", &c->cur, a);
		text_side(r, "already inside", &c->other, b);
		if (c->other.fn != GMW_FN_UNSEEN)
			fprintf(r->out, "  (goroutine %" PRIu64 " entered its write %.1f us before goroutine %" PRIu64 ")\n",
			(uint64_t)c->other.goid, (c->cur.ts - c->other.ts) / 1000.0, (uint64_t)c->cur.goid);
		fflush(r->out);
		return;
	}
	doc = json_start("conflict", &root);
	yyjson_mut_obj_add_str(doc, root, "kind", kind);
	yyjson_mut_obj_add_strcpy(doc, root, "map", map);
	if (c->other.fn != GMW_FN_UNSEEN)
		yyjson_mut_obj_add_uint(doc, root, "overlap_ns", c->cur.ts - c->other.ts);
	sides = yyjson_mut_obj_add_arr(doc, root, "sides");
	yyjson_mut_arr_append(sides, json_side(r, doc, &c->cur, a, 1));
	yyjson_mut_arr_append(sides, json_side(r, doc, &c->other, b, 1));
	json__emit(doc, r->out);
}

static int conflict__report(struct report *r, const struct gmw_conflict *c)
{
	const char *kind = conflict_kind(c);
	struct gmw_pair_key k = gmw_pair_key__make(&c->cur, &c->other);
	struct stack a, b;
	struct distinct *d;
	bool fresh;

	stack__load(r, &c->cur, &a);
	stack__load(r, &c->other, &b);
	d = distinct__find(r, conflict_sig(kind, &a, &b), &fresh);
	if (!d)
		return 0;
	distinct__add_key(d, &k);
	d->events++;
	if (!fresh)
		return 0;
	distinct__title(d, kind, &a, &b);
	conflict__print(r, c, kind, &a, &b);
	return 0;
}

/* --- fatal errors and panics ---------------------------------------- */

static const char *message_type(uint32_t type)
{
	return type == GMW_EV_FATAL ? "fatal" : type == GMW_EV_PANIC ? "panic" : "fatalpanic";
}

/* Print a panic once per message and stack; a fatal error always. */
static bool message__seen(struct report *r, const struct gmw_message *m, const struct stack *st)
{
	char *sig = NULL;
	size_t len;
	FILE *f = open_memstream(&sig, &len);
	char **ns;

	if (!f)
		return false;
	fprintf(f, "%u|%.*s|", m->type, (int)m->len, m->msg);
	for (int i = 1; i < st->n; i++)
		fprintf(f, "%" PRIx64 ";", st->f[i].pc);
	fclose(f);
	for (int i = 0; i < r->nseen; i++)
		if (!strcmp(r->seen_msgs[i], sig)) {
			free(sig);
			return true;
		}
	ns = realloc(r->seen_msgs, (r->nseen + 1) * sizeof(*ns));
	if (!ns) {
		free(sig);
		return false;
	}
	r->seen_msgs = ns;
	r->seen_msgs[r->nseen++] = sig;
	return false;
}

static void message__print(struct report *r, const struct gmw_message *m, const struct stack *st)
{
	static const char *const title[] = {
		[GMW_EV_FATAL] = "FATAL", [GMW_EV_PANIC] = "PANIC",
		[GMW_EV_FATALPANIC] = "UNRECOVERED PANIC",
	};
	yyjson_mut_val *root;
	yyjson_mut_doc *doc;

	if (!r->json) {
		fprintf(r->out, "\n=== %s: ", title[m->type]);
		for (uint32_t i = 0; i < m->len; i++)
			fputc(m->msg[i] >= 0x20 && m->msg[i] < 0x7f ? m->msg[i] : '?', r->out);
		fprintf(r->out, "%s ===\n", m->full_len > m->len ? "..." : "");
		fprintf(r->out, "  goroutine %" PRIu64 " [pid %u tid %u] in %s\n", (uint64_t)m->who.goid,
			m->who.pid, m->who.tid, fn_name(r, m->who.fn));
		text_frames(r, st, 1);
		fflush(r->out);
		return;
	}
	doc = json_start(message_type(m->type), &root);
	json__add_bytes(doc, root, "message", m->msg, m->len);
	yyjson_mut_obj_add_bool(doc, root, "truncated", m->full_len > m->len);
	yyjson_mut_obj_add_uint(doc, root, "goroutine", m->who.goid);
	yyjson_mut_obj_add_uint(doc, root, "tid", m->who.tid);
	yyjson_mut_obj_add_uint(doc, root, "pid", m->who.pid);
	yyjson_mut_obj_add_str(doc, root, "function", fn_name(r, m->who.fn));
	yyjson_mut_obj_add_val(doc, root, "stack", json_stack(doc, st, 1));
	json_created(doc, root, st);
	json__emit(doc, r->out);
}

static int message__report(struct report *r, const struct gmw_message *m)
{
	struct stack st;

	stack__load(r, &m->who, &st);
	if (m->type == GMW_EV_FATAL) {
		if (!r->nfatal++)
			snprintf(r->fatal_msg, sizeof(r->fatal_msg), "a Go fatal error: %.*s",
				 (int)m->len, m->msg);
	} else if (m->type == GMW_EV_FATALPANIC && !r->nfatal) {
		snprintf(r->fatal_msg, sizeof(r->fatal_msg), "an unrecovered panic: %.*s",
			 (int)m->len, m->msg);
	}
	if (m->type != GMW_EV_FATAL && message__seen(r, m, &st)) {
		r->msg_repeats++;
		return 0;
	}
	message__print(r, m, &st);
	return 0;
}

/* Which hooked function a side was in, from its probed instruction. */
static void side__resolve(const struct report *r, struct gmw_side *s)
{
	const struct plan *p = r->src.plan;
	uint64_t bias;
	int fi;

	if (s->fn == GMW_FN_UNSEEN)
		return;
	bias = r->src.bias ? r->src.bias(r->src.bias_ctx, s->pid) : 0;
	fi = p ? plan__fn_at(p, s->stack[0] - bias) : -1;
	s->fn = fi < 0 ? (p ? p->nfns : 0) : fi;
	s->op = fi < 0 ? 0 : p->fns[fi].op;
}

int report__event(struct report *r, const void *data, size_t size)
{
	const uint32_t *type = data;

	if (size >= sizeof(struct gmw_conflict) && *type == GMW_EV_CONFLICT) {
		struct gmw_conflict c = *(const struct gmw_conflict *)data;

		side__resolve(r, &c.cur);
		side__resolve(r, &c.other);
		return conflict__report(r, &c);
	}
	if (size >= sizeof(struct gmw_message) && *type >= GMW_EV_FATAL &&
	    *type <= GMW_EV_FATALPANIC) {
		struct gmw_message m = *(const struct gmw_message *)data;

		side__resolve(r, &m.who);
		return message__report(r, &m);
	}
	return 0;
}

/* Something was dropped (never silently): n of what, and why. */
void report__lost(struct report *r, uint64_t n, const char *what)
{
	yyjson_mut_val *root;
	yyjson_mut_doc *doc;

	r->lost += n;
	if (!r->json) {
		fprintf(r->out, "gomapwatch: lost %" PRIu64 " %s\n", n, what);
		return;
	}
	doc = json_start("lost", &root);
	yyjson_mut_obj_add_uint(doc, root, "count", n);
	yyjson_mut_obj_add_str(doc, root, "what", what);
	json__emit(doc, r->out);
}

static uint64_t distinct__count(const struct report *r, const struct distinct *d)
{
	uint64_t n = 0;

	if (!r->src.pair_count)
		return d->events;
	for (int i = 0; i < d->nkeys; i++)
		n += r->src.pair_count(r->src.ctx, &d->keys[i]);
	return n > d->events ? n : d->events;
}

static void summary__text(const struct report *r, const struct report_end *e)
{
	const uint64_t *c = e->counters;

	fprintf(r->out, "\n--- gomapwatch summary (%.1f s) ---\n", e->seconds);
	fprintf(r->out, "map writes traced: %" PRIu64 " (exits seen %" PRIu64
		", restarts after stack growth %" PRIu64 ")\n",
		c[GMW_C_WRITE_ENTER], c[GMW_C_WRITE_EXIT], c[GMW_C_REENTER]);
	if (c[GMW_C_READ])
		fprintf(r->out, "map reads checked: %" PRIu64 "\n", c[GMW_C_READ]);
	fprintf(r->out, "conflicts: %" PRIu64 " (%d distinct)\n", c[GMW_C_CONFLICT], r->nd);
	for (int i = 0; i < r->nd; i++)
		fprintf(r->out, "  %" PRIu64 "x  %s\n", distinct__count(r, &r->d[i]), r->d[i].title);
	fprintf(r->out, "fatal errors: %d; repeated panics (counted, not printed): %" PRIu64 "\n",
		r->nfatal, r->msg_repeats);
	fprintf(r->out, "entries whose exit never came: %" PRIu64 " aged out, %" PRIu64
		" cleared by a panic (of %" PRIu64 " panics), %d still open\n",
		c[GMW_C_AGED], c[GMW_C_PANIC_CLEAR], c[GMW_C_PANIC], e->unfinished);
	fprintf(r->out, "lost: %" PRIu64 " alert records, %" PRIu64 " untracked writes, %" PRIu64
		" conflicts unreported (stack-pair table full)\n",
		c[GMW_C_LOST], c[GMW_C_TRACK_FULL], c[GMW_C_PAIRS_FULL]);
	if (e->target_status)
		fprintf(r->out, "target: %s\n", e->target_status);
	fflush(r->out);
}

static void summary__json(const struct report *r, const struct report_end *e)
{
	const uint64_t *c = e->counters;
	yyjson_mut_val *root, *arr;
	yyjson_mut_doc *doc = json_start("summary", &root);

	yyjson_mut_obj_add_real(doc, root, "seconds", e->seconds);
	yyjson_mut_obj_add_uint(doc, root, "writes", c[GMW_C_WRITE_ENTER]);
	yyjson_mut_obj_add_uint(doc, root, "write_exits", c[GMW_C_WRITE_EXIT]);
	yyjson_mut_obj_add_uint(doc, root, "reentries", c[GMW_C_REENTER]);
	yyjson_mut_obj_add_uint(doc, root, "reads", c[GMW_C_READ]);
	yyjson_mut_obj_add_uint(doc, root, "conflicts", c[GMW_C_CONFLICT]);
	yyjson_mut_obj_add_int(doc, root, "distinct_conflicts", r->nd);
	arr = yyjson_mut_obj_add_arr(doc, root, "conflict_counts");
	for (int i = 0; i < r->nd; i++) {
		yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr);

		json__add_bytes(doc, o, "conflict", r->d[i].title, strlen(r->d[i].title));
		yyjson_mut_obj_add_uint(doc, o, "count", distinct__count(r, &r->d[i]));
	}
	yyjson_mut_obj_add_int(doc, root, "fatal_errors", r->nfatal);
	yyjson_mut_obj_add_uint(doc, root, "repeated_panics", r->msg_repeats);
	yyjson_mut_obj_add_uint(doc, root, "aged_out", c[GMW_C_AGED]);
	yyjson_mut_obj_add_uint(doc, root, "cleared_by_panic", c[GMW_C_PANIC_CLEAR]);
	yyjson_mut_obj_add_int(doc, root, "unfinished", e->unfinished);
	yyjson_mut_obj_add_uint(doc, root, "lost", c[GMW_C_LOST]);
	yyjson_mut_obj_add_uint(doc, root, "untracked", c[GMW_C_TRACK_FULL]);
	yyjson_mut_obj_add_uint(doc, root, "unreported_pairs_full", c[GMW_C_PAIRS_FULL]);
	yyjson_mut_obj_add_uint(doc, root, "panics", c[GMW_C_PANIC]);
	yyjson_mut_obj_add_uint(doc, root, "other_side_left", c[GMW_C_STACK_MOVED]);
	yyjson_mut_obj_add_uint(doc, root, "stack_local_writes", c[GMW_C_STACK_LOCAL]);
	if (e->target_status)
		yyjson_mut_obj_add_str(doc, root, "target", e->target_status);
	json__emit(doc, r->out);
}

void report__summary(struct report *r, const struct report_end *e)
{
	if (r->json)
		summary__json(r, e);
	else
		summary__text(r, e);
}

int report__nconflicts(const struct report *r)
{
	return r->nd;
}

int report__nfatal(const struct report *r)
{
	return r->nfatal;
}

const char *report__fatal_message(const struct report *r)
{
	return r->fatal_msg[0] ? r->fatal_msg : NULL;
}
