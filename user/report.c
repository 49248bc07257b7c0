// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gokey.h"
#include "gstack.h"
#include "report.h"
#include "sink.h"

#define MAX_KEYS 16
#define FLIGHT_READ 512		/* records read from the rings on a fatal error */
#define FLIGHT_SHOW 16		/* of which shown */
#define CONFLICT_OPS 16		/* operations of recent conflicts remembered */
#define MAX_SINKS 4
#define BIAS_ALIGN 4096		/* a PIE load bias is page-aligned */

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
	struct sink *sinks[MAX_SINKS];
	int nsinks;
	struct report_src src;
	uint64_t t0;			/* CLOCK_MONOTONIC ns at start, as the kernel's */
	int64_t wall;			/* Unix time - CLOCK_MONOTONIC, ns */
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

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

const char *ev_type__name(enum ev_type t)
{
	static const char *const n[] = {
		[EV_CONFLICT] = "conflict", [EV_FATAL] = "fatal", [EV_PANIC] = "panic",
		[EV_FATALPANIC] = "fatalpanic", [EV_LOST] = "lost", [EV_SUMMARY] = "summary",
	};

	return t < sizeof(n) / sizeof(n[0]) ? n[t] : "?";
}

struct report *report__new(const struct report_src *src)
{
	struct report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->src = *src;
	r->t0 = clock_ns(CLOCK_MONOTONIC);
	r->wall = clock_ns(CLOCK_REALTIME) - r->t0;
	if (src->flight)
		r->flight = calloc(FLIGHT_READ, sizeof(*r->flight));
	return r;
}

void report__free(struct report *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nsinks; i++)
		r->sinks[i]->ops->free(r->sinks[i]);
	for (int i = 0; i < r->nd; i++)
		free(r->d[i].sig);
	for (int i = 0; i < r->nseen; i++)
		free(r->seen_msgs[i]);
	free(r->seen_msgs);
	free(r->d);
	free(r->flight);
	free(r);
}

int report__add_sink(struct report *r, struct sink *s)
{
	if (!s)
		return -1;
	if (r->nsinks == MAX_SINKS) {
		s->ops->free(s);
		return -1;
	}
	r->sinks[r->nsinks++] = s;
	return 0;
}

/* Every sink gets every event: op is the member of sink_ops to call. */
#define each_sink(r, op, ev)						\
	do {								\
		for (int i_ = 0; i_ < (r)->nsinks; i_++)		\
			(r)->sinks[i_]->ops->op((r)->sinks[i_], ev);	\
	} while (0)

static uint64_t unix_ns(const struct report *r, uint64_t mono)
{
	return mono + r->wall;
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

/* Does load bias b put the side's caller in the binary's code? */
static bool bias_fits(const struct report *r, const struct gmw_side *s, uint64_t b)
{
	uint64_t entry;

	if (b & (BIAS_ALIGN - 1))
		return false;
	return !s->ret_ip || gobin__lookup(r->src.bin, s->ret_ip - b - 1, NULL, NULL, &entry);
}

/*
 * PIE: a side's load bias from the event itself. Its stack[0] is the
 * probed instruction, one of the plan's points: the bias is what puts it
 * there (page-aligned, the caller then in the binary's code). The process
 * may have exited before its events were read, leaving no /proc/PID/maps,
 * and its PID may be another process's by now: asking /proc is the last
 * resort, for a side that carries no probed instruction.
 */
static uint64_t side_bias(const struct report *r, const struct gmw_side *s)
{
	const struct plan *p = r->src.plan;

	if (!r->src.bias)
		return 0;
	for (int i = 0; p && r->src.bin && s->stack[0] && i < p->nfns; i++)
		for (int j = 0; j < p->fns[i].npoints; j++) {
			uint64_t a = p->fns[i].points[j].addr;

			if (s->stack[0] >= a && bias_fits(r, s, s->stack[0] - a))
				return s->stack[0] - a;
		}
	return r->src.bias(r->src.bias_ctx, s->pid);
}

static void stack__load(const struct report *r, const struct gmw_side *s, struct gstack *st)
{
	gstack__load(st, r->src.bin, s->nframes ? side_bias(r, s) : 0, s, r->src.all_frames);
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
			 kind, d->top[0].func, ev__base_name(d->top[0].file), d->top[0].line);
	else
		snprintf(d->title, sizeof(d->title), "%s: %s %s:%d <-> %s %s:%d", kind,
			 d->top[0].func, ev__base_name(d->top[0].file), d->top[0].line,
			 d->top[1].func, ev__base_name(d->top[1].file), d->top[1].line);
}

/* One side as the model has it; k must outlive the side (its string). */
static void side__model(const struct report *r, const struct gmw_side *s, const struct gstack *st,
			struct ev_side *e)
{
	e->unseen = s->fn == GMW_FN_UNSEEN;
	e->goid = s->goid;
	e->pid = s->pid;
	e->tid = s->tid;
	e->function = fn_name(r, s->fn);
	e->op = op_name(s->op);
	gokey__decode(&s->key, &e->key);
	e->write_flag = s->flag;
	e->stack = st;
}

static void conflict__emit(struct report *r, const struct gmw_conflict *c,
			   const struct distinct *d, const struct gstack *a, const struct gstack *b)
{
	struct ev_conflict e = {
		.time_ns = unix_ns(r, c->cur.ts),
		.kind = d->kind,
		.map = c->map,
		.title = d->title,
		.has_overlap = c->other.fn != GMW_FN_UNSEEN,
		.overlap_ns = c->cur.ts - c->other.ts,
	};

	side__model(r, &c->cur, a, &e.side[0]);
	side__model(r, &c->other, b, &e.side[1]);
	each_sink(r, conflict, &e);
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
		conflict__emit(r, c, d, a, b);
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

/* The picked records as the model has them; keys must outlive ops. */
static void flight__model(const struct report *r, const struct gmw_message *m,
			  const struct gmw_rec **e, int n, struct ev_op *ops, struct gmw_key *keys)
{
	uint64_t bias = side_bias(r, &m->who);

	for (int i = 0; i < n; i++) {
		int fi = r->src.plan ? plan__fn_at(r->src.plan, e[i]->ip - bias) : -1;

		ops[i].before_ns = m->who.ts - e[i]->ts;
		ops[i].goid = e[i]->goid;
		ops[i].map = e[i]->map;
		ops[i].op = fi < 0 ? "?" : op_name(r->src.plan->fns[fi].op);
		ops[i].function = fi < 0 ? "?" : r->src.plan->fns[fi].name;
		rec__key(r, e[i], bias, &keys[i]);
		gokey__decode(&keys[i], &ops[i].key);
		rec__where(r, e[i]->ret_ip, bias, &ops[i].at);
	}
}

/* --- fatal errors and panics ---------------------------------------- */

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

static enum ev_type message_type(uint32_t type)
{
	return type == GMW_EV_FATAL ? EV_FATAL : type == GMW_EV_PANIC ? EV_PANIC : EV_FATALPANIC;
}

static void message__emit(struct report *r, const struct gmw_message *m, const struct gstack *st)
{
	const struct gmw_rec *recent[FLIGHT_SHOW];
	struct ev_op ops[FLIGHT_SHOW];
	struct gmw_key keys[FLIGHT_SHOW];
	struct ev_message e = {
		.type = message_type(m->type),
		.time_ns = unix_ns(r, m->who.ts),
		.msg = m->msg,
		.len = m->len,
		.truncated = m->full_len > m->len,
		.recorder = m->type == GMW_EV_FATAL && r->src.flight,
		.recent = ops,
	};

	side__model(r, &m->who, st, &e.who);
	/* the rings stopped at the fatal error: read them now, which restarts them */
	if (m->type == GMW_EV_FATAL)
		e.nrecent = flight__pick(r, m, recent, &e.recent_map);
	flight__model(r, m, recent, e.nrecent, ops, keys);
	each_sink(r, message, &e);
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
		message__emit(r, m, st);
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
	bias = side_bias(r, s);
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
	struct ev_lost e = { .time_ns = clock_ns(CLOCK_REALTIME), .count = n, .what = what };

	r->lost += n;
	each_sink(r, lost, &e);
}

/* --- the summary: where to fix it ------------------------------------ */


/* One pair of lines on one map: distinct stacks that meet at the same lines. */
struct site {
	const struct distinct *d;	/* the first of them: kind, lines, map */
	char key[600];			/* kind and both lines, either way round */
	uint64_t count, first_ts, last_ts;
	uint64_t map_total;		/* conflicts on its map, all pairs */
	struct gframe created[EV_CREATED_MAX];
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
	if (s->ncreated < EV_CREATED_MAX)
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

/* The sites as the model's pairs. */
static struct ev_pair *pairs__model(const struct report *r, const struct site *s, int n)
{
	struct ev_pair *p = calloc(n ? n : 1, sizeof(*p));

	for (int i = 0; p && i < n; i++) {
		p[i] = (struct ev_pair){
			.map = s[i].d->map, .map_total = s[i].map_total,
			.kind = s[i].d->kind, .title = s[i].d->title, .count = s[i].count,
			.first_s = since_start(r, s[i].first_ts),
			.last_s = since_start(r, s[i].last_ts),
			.lines = { s[i].d->top[0], s[i].d->top[1] },
			.ncreated = s[i].ncreated,
		};
		memcpy(p[i].created, s[i].created, sizeof(p[i].created));
	}
	return p;
}

static struct ev_count *counts__model(const struct report *r)
{
	struct ev_count *c = calloc(r->nd ? r->nd : 1, sizeof(*c));
	uint64_t f, l;

	for (int i = 0; c && i < r->nd; i++) {
		c[i].title = r->d[i].title;
		distinct__stats(r, &r->d[i], &c[i].count, &f, &l);
	}
	return c;
}

/* What the sinks that leave the process did: sent, dropped. */
static int sinks__stats(struct report *r, struct ev_sink_stats *st)
{
	int n = 0;

	for (int i = 0; i < r->nsinks; i++)
		if (r->sinks[i]->ops->stats && r->sinks[i]->ops->stats(r->sinks[i], &st[n]))
			n++;
	return n;
}

void report__flush(struct report *r, int deadline_ms)
{
	for (int i = 0; i < r->nsinks; i++)
		if (r->sinks[i]->ops->flush)
			r->sinks[i]->ops->flush(r->sinks[i], deadline_ms);
}

void report__summary(struct report *r, const struct report_end *e)
{
	struct ev_sink_stats st[MAX_SINKS];
	struct ev_summary sum = {
		.time_ns = clock_ns(CLOCK_REALTIME),
		.seconds = e->seconds,
		.counters = e->counters,
		.distinct = r->nd,
		.fatal_errors = r->nfatal,
		.repeated_panics = r->msg_repeats,
		.unfinished = e->unfinished,
		.target_status = e->target_status,
		.budget = e->budget,
		.footprint = e->footprint,
		.sinks = st,
	};
	struct site *s = sites__build(r, &sum.npairs);
	struct ev_pair *pairs = s ? pairs__model(r, s, sum.npairs) : NULL;
	struct ev_count *counts = counts__model(r);

	if (!pairs)
		sum.npairs = 0;
	if (!counts)
		sum.distinct = 0;
	sum.pairs = pairs;
	sum.counts = counts;
	/* what the summary says was sent is what was sent by the end */
	report__flush(r, e->flush_ms);
	sum.nsinks = sinks__stats(r, st);
	each_sink(r, summary, &sum);
	free(pairs);
	free(counts);
	free(s);
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
