// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gokey.h"
#include "gstack.h"
#include "json.h"
#include "report.h"

#define MAX_KEYS 16
#define FLIGHT_READ 512		/* records read from the rings on a fatal error */
#define FLIGHT_SHOW 16		/* of which shown */
#define CONFLICT_OPS 16		/* operations of recent conflicts remembered */

/* A conflict by both sides' stacks: printed once, counted always. */
struct distinct {
	char *sig;
	char title[512];		/* "write/write: main.writer main.go:42 <-> ..." */
	const char *kind;
	uint64_t map;			/* where it was first seen */
	struct gframe top[2];		/* each side's first user frame */
	struct gframe created[2];	/* each side's go statement; pc 0 if unknown */
	struct gmw_pair_key keys[MAX_KEYS];
	int nkeys;
	uint64_t events, first_ts, last_ts;
};

struct report {
	FILE *out;
	bool json;
	struct report_src src;
	uint64_t t0;			/* CLOCK_MONOTONIC ns at start, as the kernel's */
	struct distinct *d;
	int nd, cap;
	int nfatal;
	char fatal_msg[GMW_MSG_MAX + 32];	/* what the target died of */
	char **seen_msgs;		/* panic/fatal signatures already printed */
	int nseen;
	uint64_t msg_repeats, lost;
	struct gmw_rec *flight;		/* FLIGHT_READ records */
	struct gmw_rec held;		/* a dying goroutine's write, from the tracker */
	struct gmw_rec cops[CONFLICT_OPS];	/* the operations of the last conflicts */
	int ncops;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct report *report__new(FILE *out, bool json, const struct report_src *src)
{
	struct report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->out = out;
	r->json = json;
	r->src = *src;
	r->t0 = mono_ns();
	if (src->flight)
		r->flight = calloc(FLIGHT_READ, sizeof(*r->flight));
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
	free(r->flight);
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

static uint64_t pid_bias(const struct report *r, uint32_t pid)
{
	return r->src.bias ? r->src.bias(r->src.bias_ctx, pid) : 0;
}

static void stack__load(const struct report *r, const struct gmw_side *s, struct gstack *st)
{
	gstack__load(st, r->src.bin, s->nframes ? pid_bias(r, s->pid) : 0, s, r->src.all_frames);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* --- text ------------------------------------------------------------- */

static void text_frames(const struct report *r, const struct gstack *st)
{
	int shown = 0;

	for (int i = 0; i < st->n; i++) {
		const struct gframe *f = &st->f[i];

		if (f->hidden)
			continue;
		fprintf(r->out, "      %s %s:%d%s\n", f->func, f->file, f->line,
			f->inlined ? " (inlined)" : "");
		shown++;
	}
	if (!shown)
		fprintf(r->out, "      (stack unavailable)\n");
	else if (st->truncated)
		fprintf(r->out, "      ... (stack cut at %d frames)\n", GMW_STACK_MAX);
	else if (st->left)
		fprintf(r->out, "      ... (it left its write before its callers could be read)\n");
	if (!st->created.pc)
		return;
	fprintf(r->out, "      created by %s", st->created.func);
	if (st->parent_goid)
		fprintf(r->out, " in goroutine %" PRIu64, st->parent_goid);
	fprintf(r->out, " %s:%d\n", st->created.file, st->created.line);
}

static void text_key(const struct report *r, const struct gmw_key *k)
{
	char buf[256];
	struct gokey v;

	gokey__decode(k, &v);
	if (v.repr == GK_NONE)
		return;
	gokey__text(&v, buf, sizeof(buf));
	fprintf(r->out, ", key %s", buf);
}

static void text_side(const struct report *r, const char *what, const struct gmw_side *s,
		      const struct gstack *st)
{
	if (s->fn == GMW_FN_UNSEEN) {
		fprintf(r->out, "  %s: a write never seen entering (begun before attach, or its\n"
			"      record lost); the map's write flag was set, so it was in progress\n", what);
		return;
	}
	fprintf(r->out, "  %s: goroutine %" PRIu64 " [pid %u tid %u] in %s (%s", what,
		(uint64_t)s->goid, s->pid, s->tid, fn_name(r, s->fn), op_name(s->op));
	text_key(r, &s->key);
	fprintf(r->out, ", write flag at entry %#x)\n", s->flag);
	text_frames(r, st);
}

/* --- JSON ------------------------------------------------------------- */

static void json_frame(yyjson_mut_doc *doc, yyjson_mut_val *o, const struct gframe *f)
{
	json__add_bytes(doc, o, "function", f->func, strlen(f->func));
	json__add_bytes(doc, o, "file", f->file, strlen(f->file));
	yyjson_mut_obj_add_int(doc, o, "line", f->line);
}

static void json_stack(yyjson_mut_doc *doc, yyjson_mut_val *obj, const struct gstack *st)
{
	yyjson_mut_val *arr = yyjson_mut_obj_add_arr(doc, obj, "stack");
	char pc[24];

	for (int i = 0; i < st->n; i++) {
		const struct gframe *f = &st->f[i];
		yyjson_mut_val *o;

		if (f->hidden)
			continue;
		o = yyjson_mut_arr_add_obj(doc, arr);
		json_frame(doc, o, f);
		snprintf(pc, sizeof(pc), "%#" PRIx64, f->pc);
		yyjson_mut_obj_add_strcpy(doc, o, "pc", pc);
		yyjson_mut_obj_add_bool(doc, o, "inlined", f->inlined);
	}
	yyjson_mut_obj_add_bool(doc, obj, "stack_truncated", st->truncated);
	if (st->left)
		yyjson_mut_obj_add_bool(doc, obj, "left_before_stack_read", true);
	if (!st->created.pc)
		return;
	obj = yyjson_mut_obj_add_obj(doc, obj, "created_by");
	json_frame(doc, obj, &st->created);
	if (st->parent_goid)
		yyjson_mut_obj_add_uint(doc, obj, "goroutine", st->parent_goid);
}

/* "key": {"kind": "string", "value": "session-17"}; null where not shown */
static void json_key(yyjson_mut_doc *doc, yyjson_mut_val *obj, const struct gmw_key *k)
{
	yyjson_mut_val *o;
	struct gokey v;
	char hex[24];

	gokey__decode(k, &v);
	if (v.repr == GK_NONE)
		return;
	o = yyjson_mut_obj_add_obj(doc, obj, "key");
	yyjson_mut_obj_add_str(doc, o, "kind", v.kind);
	switch (v.repr) {
	case GK_STRING:
		json__add_bytes(doc, o, "value", (const char *)v.str, v.len);
		yyjson_mut_obj_add_uint(doc, o, "length", v.full_len);
		yyjson_mut_obj_add_bool(doc, o, "truncated", v.len < v.full_len);
		break;
	case GK_INT:
		yyjson_mut_obj_add_int(doc, o, "value", v.i);
		break;
	case GK_UINT:
		yyjson_mut_obj_add_uint(doc, o, "value", v.u);
		break;
	case GK_HEX:
		snprintf(hex, sizeof(hex), "%#" PRIx64, v.u);
		yyjson_mut_obj_add_strcpy(doc, o, "value", hex);
		break;
	case GK_FLOAT:
		yyjson_mut_obj_add_real(doc, o, "value", v.d);
		break;
	case GK_BOOL:
		yyjson_mut_obj_add_bool(doc, o, "value", v.u);
		break;
	default:
		yyjson_mut_obj_add_null(doc, o, "value");
		yyjson_mut_obj_add_str(doc, o, "note", "not shown");
	}
}

static yyjson_mut_val *json_side(const struct report *r, yyjson_mut_doc *doc,
				 const struct gmw_side *s, const struct gstack *st)
{
	yyjson_mut_val *o = yyjson_mut_obj(doc);

	yyjson_mut_obj_add_uint(doc, o, "goroutine", s->goid);
	yyjson_mut_obj_add_uint(doc, o, "tid", s->tid);
	yyjson_mut_obj_add_uint(doc, o, "pid", s->pid);
	yyjson_mut_obj_add_str(doc, o, "function", fn_name(r, s->fn));
	yyjson_mut_obj_add_str(doc, o, "op", op_name(s->op));
	json_key(doc, o, &s->key);
	yyjson_mut_obj_add_uint(doc, o, "write_flag", s->flag);
	json_stack(doc, o, st);
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

/* The last operation goroutine goid of pid was seen doing in a conflict. */
static const struct gmw_rec *conflict_op(const struct report *r, uint32_t pid, uint64_t goid)
{
	for (int i = 0; i < CONFLICT_OPS && i < r->ncops; i++) {
		const struct gmw_rec *e = &r->cops[(r->ncops - 1 - i) % CONFLICT_OPS];

		if (e->pid == pid && e->goid == goid)
			return e;
	}
	return NULL;
}

/* A side of a conflict as a flight record: what it was doing, on which map. */
static void conflict_op__note(struct report *r, const struct gmw_side *s, uint64_t map)
{
	struct gmw_rec *e = &r->cops[r->ncops++ % CONFLICT_OPS];

	memset(e, 0, sizeof(*e));
	e->ts = s->ts, e->map = map, e->goid = s->goid;
	e->ip = s->stack[0], e->ret_ip = s->ret_ip;
	e->pid = s->pid, e->tid = s->tid;
	e->keyform = s->key.form, e->key_kind = s->key.kind;
	e->key[0] = s->key.raw[0], e->key[1] = s->key.raw[1];
	e->key_len = s->key.len < GMW_REC_KEY_MAX ? s->key.len : GMW_REC_KEY_MAX;
	memcpy(e->key_data, s->key.data, e->key_len);
}

/* One side's shown frames, for signatures. */
static char *stack_sig(const struct gstack *st)
{
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	for (int i = 0; i < st->n; i++)
		if (!st->f[i].hidden)
			fprintf(f, "%s:%d;", st->f[i].func, st->f[i].line);
	fclose(f);
	return s;
}

/* Both sides' frames, order-independent: the same bug seen either way round. */
static char *conflict_sig(const char *kind, const struct gstack *a, const struct gstack *b)
{
	char *sa = stack_sig(a), *sb = stack_sig(b), *sig = NULL;

	if (sa && sb && asprintf(&sig, "%s|%s|%s", kind, strcmp(sa, sb) < 0 ? sa : sb,
				 strcmp(sa, sb) < 0 ? sb : sa) < 0)
		sig = NULL;
	free(sa);
	free(sb);
	return sig;
}

/* The distinct conflict this one repeats, or a new one (*fresh = true). */
static struct distinct *distinct__find(struct report *r, char *sig, bool *fresh)
{
	struct distinct *d;

	*fresh = false;
	if (!sig)
		return NULL;
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

static const struct gframe unknown_frame = { .func = "?", .file = "?" };
/* the other side of a conflict proven by the map's write flag alone */
static const struct gframe unseen_frame = { .func = "(never seen entering)", .file = "?" };

static void distinct__init(struct distinct *d, const char *kind, uint64_t map,
			   const struct gstack *a, const struct gstack *b, bool unseen)
{
	const struct gframe *fa = gstack__first(a), *fb = gstack__first(b);

	d->kind = kind;
	d->map = map;
	d->top[0] = fa ? *fa : unknown_frame;
	d->top[1] = unseen ? unseen_frame : fb ? *fb : unknown_frame;
	d->created[0] = a->created;
	d->created[1] = b->created;
	if (unseen)
		snprintf(d->title, sizeof(d->title), "%s: %s %s:%d <-> a write never seen entering",
			 kind, d->top[0].func, base_name(d->top[0].file), d->top[0].line);
	else
		snprintf(d->title, sizeof(d->title), "%s: %s %s:%d <-> %s %s:%d", kind,
			 d->top[0].func, base_name(d->top[0].file), d->top[0].line,
			 d->top[1].func, base_name(d->top[1].file), d->top[1].line);
}

static void conflict__print(struct report *r, const struct gmw_conflict *c, const char *kind,
			    const struct gstack *a, const struct gstack *b)
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
	yyjson_mut_arr_append(sides, json_side(r, doc, &c->cur, a));
	yyjson_mut_arr_append(sides, json_side(r, doc, &c->other, b));
	json__emit(doc, r->out);
}

static int conflict__report(struct report *r, const struct gmw_conflict *c)
{
	const char *kind = conflict_kind(c);
	struct gmw_pair_key k = gmw_pair_key__make(&c->cur, &c->other);
	struct gstack *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct distinct *d;
	bool fresh;

	if (!a || !b)
		goto out;
	stack__load(r, &c->cur, a);
	stack__load(r, &c->other, b);
	d = distinct__find(r, conflict_sig(kind, a, b), &fresh);
	if (!d)
		goto out;
	distinct__add_key(d, &k);
	d->events++;
	if (!d->first_ts || c->cur.ts < d->first_ts)
		d->first_ts = c->cur.ts;
	if (c->cur.ts > d->last_ts)
		d->last_ts = c->cur.ts;
	conflict_op__note(r, &c->cur, c->map);
	if (c->other.fn != GMW_FN_UNSEEN)
		conflict_op__note(r, &c->other, c->map);
	if (fresh) {
		distinct__init(d, kind, c->map, a, b, c->other.fn == GMW_FN_UNSEEN);
		conflict__print(r, c, kind, a, b);
	}
out:
	free(a);
	free(b);
	return 0;
}

/* --- the flight recorder ---------------------------------------------- */

/* A map type's key kind, from the binary: type descriptors are static data. */
static uint8_t key_kind(const struct report *r, uint64_t mtype, uint64_t bias)
{
	uint64_t kt = 0;
	uint8_t kind = 0;

	if (!r->src.bin || !mtype || gobin__read(r->src.bin, mtype - bias + 48, &kt, 8) || !kt)
		return 0;
	if (gobin__read(r->src.bin, kt + 23, &kind, 1) &&
	    gobin__read(r->src.bin, kt - bias + 23, &kind, 1))
		return 0;
	return gobin__kind_whole(r->src.bin) ? kind : kind & 0x1f;
}

/* A record's key as a conflict's side carries one. */
static void rec__key(const struct report *r, const struct gmw_rec *e, uint64_t bias,
		     struct gmw_key *k)
{
	memset(k, 0, sizeof(*k));
	k->form = e->keyform;
	k->raw[0] = e->key[0];
	k->raw[1] = e->key[1];
	if (k->form == GMW_KEY_NONE)
		return;
	k->kind = e->key_kind ? e->key_kind : key_kind(r, e->mtype, bias);
	if (k->form == GMW_KEY_STR) {
		k->kind = 24;
		k->full_len = e->key[1] > 0xffffffffULL ? 0xffffffff : e->key[1];
		k->len = e->key_len;
		memcpy(k->data, e->key_data, e->key_len < GMW_REC_KEY_MAX ? e->key_len : GMW_REC_KEY_MAX);
	} else if (k->form == GMW_KEY_PTR) {
		k->full_len = 0xffffffff;	/* behind a pointer: not recorded */
	}
}

/* The innermost user frame of a return address: where the user's code was. */
static void rec__where(const struct report *r, uint64_t ret_ip, uint64_t bias, struct gframe *f)
{
	struct pcframe pf[16];
	int n = r->src.bin && ret_ip ? gobin__frames(r->src.bin, ret_ip - bias - 1, pf, 16) : 0;
	int i;

	*f = unknown_frame;
	for (i = 0; i < n - 1 && gframe__runtime(pf[i].func); i++)
		;
	if (n) {
		f->func = pf[i].func;
		f->file = pf[i].file ? pf[i].file : "?";
		f->line = pf[i].line;
	}
}

/*
 * The dying goroutine's own last operation: as the kernel kept it for
 * the goroutine, else its newest record in the rings, else the write it is
 * still inside, else the conflict it walked into.
 */
static const struct gmw_rec *flight__own(struct report *r, const struct gmw_message *m, int n)
{
	const struct gmw_rec *e;

	if (m->last.ts && m->last.ts <= m->who.ts) {
		r->held = m->last;
		return &r->held;
	}
	for (int i = n - 1; i >= 0; i--)
		if (r->flight[i].pid == m->who.pid && r->flight[i].goid == m->who.goid &&
		    r->flight[i].ts <= m->who.ts)
			return &r->flight[i];
	if (r->src.holding && !r->src.holding(r->src.ctx, m->who.pid, m->who.goid, &r->held) &&
	    r->held.ts <= m->who.ts)
		return &r->held;
	e = conflict_op(r, m->who.pid, m->who.goid);
	if (e && e->ts <= m->who.ts) {
		r->held = *e;
		return &r->held;
	}
	return NULL;
}

static bool rec__same(const struct gmw_rec *a, const struct gmw_rec *b)
{
	return a->ts == b->ts && a->goid == b->goid && a->pid == b->pid;
}

/*
 * What happened before the fatal error m: the records of its process up
 * to then, on the map the dying goroutine was in or by it. Newest first
 * into out; returns how many, and the map in *map (0 if unknown).
 */
static int flight__pick(struct report *r, const struct gmw_message *m, const struct gmw_rec **out,
			uint64_t *map)
{
	int n = r->src.flight && r->flight ? r->src.flight(r->src.ctx, r->flight, FLIGHT_READ) : 0;
	const struct gmw_rec *own = flight__own(r, m, n);
	int k = 0;

	*map = own ? own->map : 0;
	for (int i = n - 1; i >= 0 && k < FLIGHT_SHOW; i--) {
		const struct gmw_rec *e = &r->flight[i];

		/* with no map of its own (a read not traced), the process's last */
		if (e->pid != m->who.pid || e->ts > m->who.ts ||
		    (*map && e->goid != m->who.goid && e->map != *map))
			continue;
		if (own && own->ts > e->ts) {
			out[k++] = own;		/* in its place in time */
			own = NULL;
			if (k == FLIGHT_SHOW)
				break;
		}
		if (own && rec__same(own, e))
			own = NULL;
		out[k++] = e;
	}
	/* others' operations may be many: the dying one's own is always shown */
	if (own)
		out[k < FLIGHT_SHOW ? k++ : k - 1] = own;
	return k;
}

static void flight__text(struct report *r, const struct gmw_message *m,
			 const struct gmw_rec **e, int n, uint64_t map)
{
	uint64_t bias = pid_bias(r, m->who.pid);

	if (map)
		fprintf(r->out, "  last map operations on map %#" PRIx64 " and by goroutine %" PRIu64
			" before the crash, newest first:\n", map, (uint64_t)m->who.goid);
	else
		fprintf(r->out, "  last map operations in the process before the crash, newest first\n"
			"  (goroutine %" PRIu64 "'s own was not traced: a read? --reads traces them):\n",
			(uint64_t)m->who.goid);
	for (int i = 0; i < n; i++) {
		int fi = r->src.plan ? plan__fn_at(r->src.plan, e[i]->ip - bias) : -1;
		struct gmw_key k;
		struct gframe where;
		struct gokey v;
		char key[256] = "";

		rec__key(r, e[i], bias, &k);
		gokey__decode(&k, &v);
		if (v.repr != GK_NONE) {
			strcpy(key, " key ");
			gokey__text(&v, key + 5, sizeof(key) - 5);
		}
		rec__where(r, e[i]->ret_ip, bias, &where);
		fprintf(r->out, "    %9.3f ms before  goroutine %-6" PRIu64 " %-7s%s%s  %s %s:%d\n",
			(m->who.ts - e[i]->ts) / 1e6, (uint64_t)e[i]->goid,
			fi < 0 ? "?" : op_name(r->src.plan->fns[fi].op), key,
			e[i]->map != map ? " (another map)" : "", where.func, base_name(where.file),
			where.line);
	}
	if (!n)
		fprintf(r->out, "    (none recorded)\n");
}

static void flight__json(struct report *r, yyjson_mut_doc *doc, yyjson_mut_val *root,
			 const struct gmw_message *m, const struct gmw_rec **e, int n, uint64_t map)
{
	uint64_t bias = pid_bias(r, m->who.pid);
	yyjson_mut_val *arr;
	char hex[24];

	if (map) {
		snprintf(hex, sizeof(hex), "%#" PRIx64, map);
		yyjson_mut_obj_add_strcpy(doc, root, "map", hex);
	}
	arr = yyjson_mut_obj_add_arr(doc, root, "recent_ops");
	for (int i = 0; i < n; i++) {
		yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr), *at;
		int fi = r->src.plan ? plan__fn_at(r->src.plan, e[i]->ip - bias) : -1;
		struct gframe where;
		struct gmw_key k;

		yyjson_mut_obj_add_uint(doc, o, "before_ns", m->who.ts - e[i]->ts);
		yyjson_mut_obj_add_uint(doc, o, "goroutine", e[i]->goid);
		yyjson_mut_obj_add_str(doc, o, "op", fi < 0 ? "?" : op_name(r->src.plan->fns[fi].op));
		yyjson_mut_obj_add_str(doc, o, "function", fi < 0 ? "?" : r->src.plan->fns[fi].name);
		snprintf(hex, sizeof(hex), "%#" PRIx64, (uint64_t)e[i]->map);
		yyjson_mut_obj_add_strcpy(doc, o, "map", hex);
		rec__key(r, e[i], bias, &k);
		json_key(doc, o, &k);
		rec__where(r, e[i]->ret_ip, bias, &where);
		at = yyjson_mut_obj_add_obj(doc, o, "at");
		json_frame(doc, at, &where);
	}
}

/* --- fatal errors and panics ---------------------------------------- */

static const char *message_type(uint32_t type)
{
	return type == GMW_EV_FATAL ? "fatal" : type == GMW_EV_PANIC ? "panic" : "fatalpanic";
}

/* Print a panic once per message and stack; a fatal error always. */
static bool message__seen(struct report *r, const struct gmw_message *m, const struct gstack *st)
{
	char *sig = NULL;
	size_t len;
	FILE *f = open_memstream(&sig, &len);
	char **ns;

	if (!f)
		return false;
	fprintf(f, "%u|%.*s|", m->type, (int)m->len, m->msg);
	for (int i = 0; i < st->n; i++)
		if (!st->f[i].hidden)
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

static void message__text(struct report *r, const struct gmw_message *m, const struct gstack *st)
{
	static const char *const title[] = {
		[GMW_EV_FATAL] = "FATAL", [GMW_EV_PANIC] = "PANIC",
		[GMW_EV_FATALPANIC] = "UNRECOVERED PANIC",
	};

	fprintf(r->out, "\n=== %s: ", title[m->type]);
	for (uint32_t i = 0; i < m->len; i++)
		fputc(m->msg[i] >= 0x20 && m->msg[i] < 0x7f ? m->msg[i] : '?', r->out);
	fprintf(r->out, "%s ===\n", m->full_len > m->len ? "..." : "");
	fprintf(r->out, "  goroutine %" PRIu64 " [pid %u tid %u] in %s\n", (uint64_t)m->who.goid,
		m->who.pid, m->who.tid, fn_name(r, m->who.fn));
	text_frames(r, st);
}

static void message__print(struct report *r, const struct gmw_message *m, const struct gstack *st)
{
	const struct gmw_rec *recent[FLIGHT_SHOW];
	yyjson_mut_val *root;
	yyjson_mut_doc *doc;
	uint64_t map = 0;
	int n = 0;

	/* the rings stopped at the fatal error: read them now, which restarts them */
	if (m->type == GMW_EV_FATAL)
		n = flight__pick(r, m, recent, &map);
	if (!r->json) {
		message__text(r, m, st);
		if (m->type == GMW_EV_FATAL && r->src.flight)
			flight__text(r, m, recent, n, map);
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
	json_stack(doc, root, st);
	if (m->type == GMW_EV_FATAL && r->src.flight)
		flight__json(r, doc, root, m, recent, n, map);
	json__emit(doc, r->out);
}

static int message__report(struct report *r, const struct gmw_message *m)
{
	struct gstack *st = malloc(sizeof(*st));

	if (!st)
		return 0;
	stack__load(r, &m->who, st);
	if (m->type == GMW_EV_FATAL) {
		if (!r->nfatal++)
			snprintf(r->fatal_msg, sizeof(r->fatal_msg), "a Go fatal error: %.*s",
				 (int)m->len, m->msg);
	} else if (m->type == GMW_EV_FATALPANIC && !r->nfatal) {
		snprintf(r->fatal_msg, sizeof(r->fatal_msg), "an unrecovered panic: %.*s",
			 (int)m->len, m->msg);
	}
	if (m->type != GMW_EV_FATAL && message__seen(r, m, st))
		r->msg_repeats++;
	else
		message__print(r, m, st);
	free(st);
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

/* --- the summary: where to fix it ------------------------------------ */

#define SITE_CREATED 4

/* One pair of lines on one map: distinct stacks that meet at the same lines. */
struct site {
	const struct distinct *d;	/* the first of them: kind, lines, map */
	char key[600];			/* kind and both lines, either way round */
	uint64_t count, first_ts, last_ts;
	uint64_t map_total;		/* conflicts on its map, all pairs */
	struct gframe created[SITE_CREATED];
	int ncreated;
};

/* How often d happened and when, the kernel's repeats included. */
static void distinct__stats(const struct report *r, const struct distinct *d, uint64_t *count,
			    uint64_t *first, uint64_t *last)
{
	struct gmw_pair_val v;
	uint64_t n = 0;

	*first = d->first_ts;
	*last = d->last_ts;
	for (int i = 0; r->src.pair_stats && i < d->nkeys; i++) {
		if (r->src.pair_stats(r->src.ctx, &d->keys[i], &v))
			continue;
		n += v.count;
		if (v.first_ts && v.first_ts < *first)
			*first = v.first_ts;
		if (v.last_ts > *last)
			*last = v.last_ts;
	}
	*count = n > d->events ? n : d->events;
}

static void site__add_created(struct site *s, const struct gframe *c)
{
	if (!c->pc)
		return;
	for (int i = 0; i < s->ncreated; i++)
		if (s->created[i].line == c->line && !strcmp(s->created[i].func, c->func))
			return;
	if (s->ncreated < SITE_CREATED)
		s->created[s->ncreated++] = *c;
}

static uint64_t map_total(const struct site *s, int n, uint64_t map)
{
	uint64_t t = 0;

	for (int i = 0; i < n; i++)
		if (s[i].d->map == map)
			t += s[i].count;
	return t;
}

/* By map (the busiest first), then by count within a map. */
static int site_cmp(const void *a, const void *b)
{
	const struct site *x = a, *y = b;

	if (x->map_total != y->map_total)
		return x->map_total > y->map_total ? -1 : 1;
	if (x->d->map != y->d->map)
		return x->d->map < y->d->map ? -1 : 1;
	return x->count > y->count ? -1 : x->count < y->count;
}

static int frame_cmp(const struct gframe *a, const struct gframe *b)
{
	int c = strcmp(a->func, b->func);

	if (!c)
		c = strcmp(a->file, b->file);
	return c ? c : a->line - b->line;
}

/* A-then-B and B-then-A are one pair of lines. */
static void site__key(const struct distinct *d, char *key, size_t len)
{
	int lo = frame_cmp(&d->top[0], &d->top[1]) > 0;

	snprintf(key, len, "%s|%s %s:%d|%s %s:%d", d->kind, d->top[lo].func, d->top[lo].file,
		 d->top[lo].line, d->top[!lo].func, d->top[!lo].file, d->top[!lo].line);
}

/* Distinct conflicts merged by map and pair of lines, sorted. */
static struct site *sites__build(const struct report *r, int *np)
{
	struct site *s = calloc(r->nd ? r->nd : 1, sizeof(*s));
	int n = 0;

	if (!s)
		return NULL;
	for (int i = 0; i < r->nd; i++) {
		const struct distinct *d = &r->d[i];
		char key[sizeof(s->key)];
		uint64_t c, f, l;
		int k;

		site__key(d, key, sizeof(key));
		for (k = 0; k < n; k++)
			if (s[k].d->map == d->map && !strcmp(s[k].key, key))
				break;
		if (k == n) {
			s[n++] = (struct site){ .d = d, .first_ts = UINT64_MAX };
			strcpy(s[k].key, key);
		}
		distinct__stats(r, d, &c, &f, &l);
		s[k].count += c;
		if (f && f < s[k].first_ts)
			s[k].first_ts = f;
		if (l > s[k].last_ts)
			s[k].last_ts = l;
		site__add_created(&s[k], &d->created[0]);
		site__add_created(&s[k], &d->created[1]);
	}
	for (int i = 0; i < n; i++)
		s[i].map_total = map_total(s, n, s[i].d->map);
	qsort(s, n, sizeof(*s), site_cmp);
	*np = n;
	return s;
}

static double since_start(const struct report *r, uint64_t ts)
{
	return ts > r->t0 ? (ts - r->t0) / 1e9 : 0;
}

static void sites__text(const struct report *r, const struct site *s, int n)
{
	if (n)
		fprintf(r->out, "where to fix it, per map (most conflicts first):\n");
	for (int i = 0; i < n; i++) {
		if (!i || s[i].d->map != s[i - 1].d->map)
			fprintf(r->out, "  map %#" PRIx64 ": %" PRIu64 " conflicts\n", s[i].d->map,
				s[i].map_total);
		fprintf(r->out, "    %" PRIu64 "x  %s\n", s[i].count, s[i].d->title);
		fprintf(r->out, "          first %.1f s, last %.1f s after start", since_start(r, s[i].first_ts),
			since_start(r, s[i].last_ts));
		for (int k = 0; k < s[i].ncreated; k++)
			fprintf(r->out, "%s %s %s:%d", k ? "," : "; goroutines created by",
				s[i].created[k].func, base_name(s[i].created[k].file), s[i].created[k].line);
		fputc('\n', r->out);
	}
}

static void sites__json(const struct report *r, yyjson_mut_doc *doc, yyjson_mut_val *root,
			const struct site *s, int n)
{
	yyjson_mut_val *maps = yyjson_mut_obj_add_arr(doc, root, "maps"), *m = NULL, *pairs = NULL;
	char hex[24];

	for (int i = 0; i < n; i++) {
		yyjson_mut_val *o, *c;

		if (!i || s[i].d->map != s[i - 1].d->map) {
			m = yyjson_mut_arr_add_obj(doc, maps);
			snprintf(hex, sizeof(hex), "%#" PRIx64, s[i].d->map);
			yyjson_mut_obj_add_strcpy(doc, m, "map", hex);
			yyjson_mut_obj_add_uint(doc, m, "conflicts", s[i].map_total);
			pairs = yyjson_mut_obj_add_arr(doc, m, "pairs");
		}
		o = yyjson_mut_arr_add_obj(doc, pairs);
		yyjson_mut_obj_add_str(doc, o, "kind", s[i].d->kind);
		yyjson_mut_obj_add_uint(doc, o, "count", s[i].count);
		yyjson_mut_obj_add_real(doc, o, "first_s", since_start(r, s[i].first_ts));
		yyjson_mut_obj_add_real(doc, o, "last_s", since_start(r, s[i].last_ts));
		c = yyjson_mut_obj_add_arr(doc, o, "lines");
		json_frame(doc, yyjson_mut_arr_add_obj(doc, c), &s[i].d->top[0]);
		json_frame(doc, yyjson_mut_arr_add_obj(doc, c), &s[i].d->top[1]);
		c = yyjson_mut_obj_add_arr(doc, o, "created_by");
		for (int k = 0; k < s[i].ncreated; k++)
			json_frame(doc, yyjson_mut_arr_add_obj(doc, c), &s[i].created[k]);
	}
}

static void summary__text(const struct report *r, const struct report_end *e)
{
	const uint64_t *c = e->counters;
	struct site *s;
	int n = 0;

	fprintf(r->out, "\n--- gomapwatch summary (%.1f s) ---\n", e->seconds);
	fprintf(r->out, "map writes traced: %" PRIu64 " (exits seen %" PRIu64
		", restarts after stack growth %" PRIu64 ")\n",
		c[GMW_C_WRITE_ENTER], c[GMW_C_WRITE_EXIT], c[GMW_C_REENTER]);
	if (c[GMW_C_READ])
		fprintf(r->out, "map reads checked: %" PRIu64 "\n", c[GMW_C_READ]);
	fprintf(r->out, "conflicts: %" PRIu64 " (%d distinct)\n", c[GMW_C_CONFLICT], r->nd);
	s = sites__build(r, &n);
	if (s)
		sites__text(r, s, n);
	free(s);
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
	struct site *s;
	int n = 0;

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
		uint64_t cnt, f, l;

		distinct__stats(r, &r->d[i], &cnt, &f, &l);
		json__add_bytes(doc, o, "conflict", r->d[i].title, strlen(r->d[i].title));
		yyjson_mut_obj_add_uint(doc, o, "count", cnt);
	}
	s = sites__build(r, &n);
	if (s)
		sites__json(r, doc, root, s, n);
	free(s);
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
