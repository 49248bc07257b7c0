// SPDX-License-Identifier: GPL-2.0
/* The NDJSON sink: one object per event, "type" first. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "sink.h"

struct json_sink {
	struct sink base;
	FILE *out;
};

static FILE *out_of(struct sink *s)
{
	return ((struct json_sink *)s)->out;
}

static void add_hex(yyjson_mut_doc *doc, yyjson_mut_val *o, const char *key, uint64_t v)
{
	char hex[24];

	snprintf(hex, sizeof(hex), "%#" PRIx64, v);
	yyjson_mut_obj_add_strcpy(doc, o, key, hex);
}

static void json_frame(yyjson_mut_doc *doc, yyjson_mut_val *o, const struct gframe *f)
{
	json__add_bytes(doc, o, "function", f->func, strlen(f->func));
	json__add_bytes(doc, o, "file", f->file, strlen(f->file));
	yyjson_mut_obj_add_int(doc, o, "line", f->line);
}

static void json_stack(yyjson_mut_doc *doc, yyjson_mut_val *obj, const struct gstack *st)
{
	yyjson_mut_val *arr = yyjson_mut_obj_add_arr(doc, obj, "stack");

	for (int i = 0; i < st->n; i++) {
		const struct gframe *f = &st->f[i];
		yyjson_mut_val *o;

		if (f->hidden)
			continue;
		o = yyjson_mut_arr_add_obj(doc, arr);
		json_frame(doc, o, f);
		add_hex(doc, o, "pc", f->pc);
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

/* "key": {"kind": "string", "value": "session-17"}; absent without a key */
static void json_key(yyjson_mut_doc *doc, yyjson_mut_val *obj, const struct gokey *v)
{
	yyjson_mut_val *o;

	if (v->repr == GK_NONE)
		return;
	o = yyjson_mut_obj_add_obj(doc, obj, "key");
	yyjson_mut_obj_add_str(doc, o, "kind", v->kind);
	switch (v->repr) {
	case GK_STRING:
		json__add_bytes(doc, o, "value", (const char *)v->str, v->len);
		yyjson_mut_obj_add_uint(doc, o, "length", v->full_len);
		yyjson_mut_obj_add_bool(doc, o, "truncated", v->len < v->full_len);
		break;
	case GK_INT:
		yyjson_mut_obj_add_int(doc, o, "value", v->i);
		break;
	case GK_UINT:
		yyjson_mut_obj_add_uint(doc, o, "value", v->u);
		break;
	case GK_HEX:
		add_hex(doc, o, "value", v->u);
		break;
	case GK_FLOAT:
		yyjson_mut_obj_add_real(doc, o, "value", v->d);
		break;
	case GK_BOOL:
		yyjson_mut_obj_add_bool(doc, o, "value", v->u);
		break;
	default:
		yyjson_mut_obj_add_null(doc, o, "value");
		yyjson_mut_obj_add_str(doc, o, "note", "not shown");
	}
}

static yyjson_mut_val *json_side(yyjson_mut_doc *doc, const struct ev_side *s)
{
	yyjson_mut_val *o = yyjson_mut_obj(doc);

	yyjson_mut_obj_add_uint(doc, o, "goroutine", s->goid);
	yyjson_mut_obj_add_uint(doc, o, "tid", s->tid);
	yyjson_mut_obj_add_uint(doc, o, "pid", s->pid);
	yyjson_mut_obj_add_str(doc, o, "function", s->function);
	yyjson_mut_obj_add_str(doc, o, "op", s->op);
	json_key(doc, o, &s->key);
	yyjson_mut_obj_add_uint(doc, o, "write_flag", s->write_flag);
	json_stack(doc, o, s->stack);
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

static void json_conflict(struct sink *s, const struct ev_conflict *c)
{
	yyjson_mut_val *root, *sides;
	yyjson_mut_doc *doc = json_start("conflict", &root);

	yyjson_mut_obj_add_str(doc, root, "kind", c->kind);
	add_hex(doc, root, "map", c->map);
	if (c->has_overlap)
		yyjson_mut_obj_add_uint(doc, root, "overlap_ns", c->overlap_ns);
	sides = yyjson_mut_obj_add_arr(doc, root, "sides");
	yyjson_mut_arr_append(sides, json_side(doc, &c->side[0]));
	yyjson_mut_arr_append(sides, json_side(doc, &c->side[1]));
	json__emit(doc, out_of(s));
}

static void json_recent(yyjson_mut_doc *doc, yyjson_mut_val *root, const struct ev_message *m)
{
	yyjson_mut_val *arr;

	if (m->recent_map)
		add_hex(doc, root, "map", m->recent_map);
	arr = yyjson_mut_obj_add_arr(doc, root, "recent_ops");
	for (int i = 0; i < m->nrecent; i++) {
		const struct ev_op *e = &m->recent[i];
		yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr);

		yyjson_mut_obj_add_uint(doc, o, "before_ns", e->before_ns);
		yyjson_mut_obj_add_uint(doc, o, "goroutine", e->goid);
		yyjson_mut_obj_add_str(doc, o, "op", e->op);
		yyjson_mut_obj_add_str(doc, o, "function", e->function);
		add_hex(doc, o, "map", e->map);
		json_key(doc, o, &e->key);
		json_frame(doc, yyjson_mut_obj_add_obj(doc, o, "at"), &e->at);
	}
}

static void json_message(struct sink *s, const struct ev_message *m)
{
	yyjson_mut_val *root;
	yyjson_mut_doc *doc = json_start(ev_type__name(m->type), &root);

	json__add_bytes(doc, root, "message", m->msg, m->len);
	yyjson_mut_obj_add_bool(doc, root, "truncated", m->truncated);
	yyjson_mut_obj_add_uint(doc, root, "goroutine", m->who.goid);
	yyjson_mut_obj_add_uint(doc, root, "tid", m->who.tid);
	yyjson_mut_obj_add_uint(doc, root, "pid", m->who.pid);
	yyjson_mut_obj_add_str(doc, root, "function", m->who.function);
	json_stack(doc, root, m->who.stack);
	if (m->recorder)
		json_recent(doc, root, m);
	json__emit(doc, out_of(s));
}

static void json_lost(struct sink *s, const struct ev_lost *l)
{
	yyjson_mut_val *root;
	yyjson_mut_doc *doc = json_start("lost", &root);

	yyjson_mut_obj_add_uint(doc, root, "count", l->count);
	yyjson_mut_obj_add_str(doc, root, "what", l->what);
	json__emit(doc, out_of(s));
}

static void json_pairs(yyjson_mut_doc *doc, yyjson_mut_val *root, const struct ev_summary *sum)
{
	yyjson_mut_val *maps = yyjson_mut_obj_add_arr(doc, root, "maps"), *m = NULL, *pairs = NULL;
	const struct ev_pair *p = sum->pairs;

	for (int i = 0; i < sum->npairs; i++) {
		yyjson_mut_val *o, *c;

		if (!i || p[i].map != p[i - 1].map) {
			m = yyjson_mut_arr_add_obj(doc, maps);
			add_hex(doc, m, "map", p[i].map);
			yyjson_mut_obj_add_uint(doc, m, "conflicts", p[i].map_total);
			pairs = yyjson_mut_obj_add_arr(doc, m, "pairs");
		}
		o = yyjson_mut_arr_add_obj(doc, pairs);
		yyjson_mut_obj_add_str(doc, o, "kind", p[i].kind);
		yyjson_mut_obj_add_uint(doc, o, "count", p[i].count);
		yyjson_mut_obj_add_real(doc, o, "first_s", p[i].first_s);
		yyjson_mut_obj_add_real(doc, o, "last_s", p[i].last_s);
		c = yyjson_mut_obj_add_arr(doc, o, "lines");
		json_frame(doc, yyjson_mut_arr_add_obj(doc, c), &p[i].lines[0]);
		json_frame(doc, yyjson_mut_arr_add_obj(doc, c), &p[i].lines[1]);
		c = yyjson_mut_obj_add_arr(doc, o, "created_by");
		for (int k = 0; k < p[i].ncreated; k++)
			json_frame(doc, yyjson_mut_arr_add_obj(doc, c), &p[i].created[k]);
	}
}

static void json_counts(yyjson_mut_doc *doc, yyjson_mut_val *root, const struct ev_summary *sum)
{
	yyjson_mut_val *arr = yyjson_mut_obj_add_arr(doc, root, "conflict_counts");

	for (int i = 0; i < sum->distinct; i++) {
		yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr);

		json__add_bytes(doc, o, "conflict", sum->counts[i].title,
				strlen(sum->counts[i].title));
		yyjson_mut_obj_add_uint(doc, o, "count", sum->counts[i].count);
	}
}

static void json_budget(yyjson_mut_doc *doc, yyjson_mut_val *root, const struct ev_budget *b)
{
	yyjson_mut_val *o;

	if (!b->percent)
		return;
	o = yyjson_mut_obj_add_obj(doc, root, "budget");
	yyjson_mut_obj_add_real(doc, o, "max_overhead_percent", b->percent);
	yyjson_mut_obj_add_bool(doc, o, "sampled", b->sampled);
	yyjson_mut_obj_add_real(doc, o, "duty_cycle", b->duty);
	yyjson_mut_obj_add_int(doc, o, "windows", b->windows);
	if (b->overhead >= 0)
		yyjson_mut_obj_add_real(doc, o, "overhead_percent", b->overhead);
	if (b->full >= 0)
		yyjson_mut_obj_add_real(doc, o, "full_overhead_percent", b->full);
	yyjson_mut_obj_add_uint(doc, o, "forgotten", b->forgotten);
}

static void json_table(yyjson_mut_doc *doc, yyjson_mut_val *o, const char *name,
		       const struct ev_table *t)
{
	yyjson_mut_val *v = yyjson_mut_obj_add_obj(doc, o, name);

	yyjson_mut_obj_add_uint(doc, v, "peak", t->peak);
	yyjson_mut_obj_add_uint(doc, v, "max", t->max);
}

static void json_footprint(yyjson_mut_doc *doc, yyjson_mut_val *root, const struct ev_footprint *f)
{
	yyjson_mut_val *o;

	if (!f->samples)
		return;
	o = yyjson_mut_obj_add_obj(doc, root, "footprint");
	yyjson_mut_obj_add_int(doc, o, "samples", f->samples);
	yyjson_mut_obj_add_uint(doc, o, "rss_first_kb", f->rss_first_kb);
	yyjson_mut_obj_add_uint(doc, o, "rss_last_kb", f->rss_last_kb);
	yyjson_mut_obj_add_uint(doc, o, "rss_peak_kb", f->rss_peak_kb);
	json_table(doc, o, "writers", &f->writers);
	json_table(doc, o, "owners", &f->owners);
	json_table(doc, o, "pairs", &f->pairs);
}

static void json_sinks(yyjson_mut_doc *doc, yyjson_mut_val *root, const struct ev_summary *sum)
{
	for (int i = 0; i < sum->nsinks; i++) {
		const struct ev_sink_stats *st = &sum->sinks[i];
		yyjson_mut_val *o = yyjson_mut_obj_add_obj(doc, root, st->name);

		yyjson_mut_obj_add_uint(doc, o, "sent", st->sent);
		yyjson_mut_obj_add_uint(doc, o, "dropped", st->dropped);
		yyjson_mut_obj_add_uint(doc, o, "queued", st->queued);
	}
}

static void json_counters(yyjson_mut_doc *doc, yyjson_mut_val *root, const uint64_t *c)
{
	yyjson_mut_obj_add_uint(doc, root, "writes", c[GMW_C_WRITE_ENTER]);
	yyjson_mut_obj_add_uint(doc, root, "write_exits", c[GMW_C_WRITE_EXIT]);
	yyjson_mut_obj_add_uint(doc, root, "reentries", c[GMW_C_REENTER]);
	yyjson_mut_obj_add_uint(doc, root, "reads", c[GMW_C_READ]);
	yyjson_mut_obj_add_uint(doc, root, "conflicts", c[GMW_C_CONFLICT]);
}

static void json_summary(struct sink *s, const struct ev_summary *sum)
{
	const uint64_t *c = sum->counters;
	yyjson_mut_val *root;
	yyjson_mut_doc *doc = json_start("summary", &root);

	yyjson_mut_obj_add_real(doc, root, "seconds", sum->seconds);
	json_counters(doc, root, c);
	yyjson_mut_obj_add_int(doc, root, "distinct_conflicts", sum->distinct);
	json_counts(doc, root, sum);
	json_pairs(doc, root, sum);
	yyjson_mut_obj_add_int(doc, root, "fatal_errors", sum->fatal_errors);
	yyjson_mut_obj_add_uint(doc, root, "repeated_panics", sum->repeated_panics);
	yyjson_mut_obj_add_uint(doc, root, "aged_out", c[GMW_C_AGED]);
	yyjson_mut_obj_add_uint(doc, root, "cleared_by_panic", c[GMW_C_PANIC_CLEAR]);
	yyjson_mut_obj_add_int(doc, root, "unfinished", sum->unfinished);
	yyjson_mut_obj_add_uint(doc, root, "lost", c[GMW_C_LOST]);
	yyjson_mut_obj_add_uint(doc, root, "untracked", c[GMW_C_TRACK_FULL]);
	yyjson_mut_obj_add_uint(doc, root, "unreported_pairs_full", c[GMW_C_PAIRS_FULL]);
	yyjson_mut_obj_add_uint(doc, root, "panics", c[GMW_C_PANIC]);
	yyjson_mut_obj_add_uint(doc, root, "other_side_left", c[GMW_C_STACK_MOVED]);
	yyjson_mut_obj_add_uint(doc, root, "stack_local_writes", c[GMW_C_STACK_LOCAL]);
	json_budget(doc, root, &sum->budget);
	json_footprint(doc, root, &sum->footprint);
	json_sinks(doc, root, sum);
	if (sum->target_status)
		yyjson_mut_obj_add_str(doc, root, "target", sum->target_status);
	json__emit(doc, out_of(s));
}

static void json_free(struct sink *s)
{
	free(s);
}

static const struct sink_ops json_ops = {
	.name = "json",
	.conflict = json_conflict,
	.message = json_message,
	.lost = json_lost,
	.summary = json_summary,
	.free = json_free,
};

struct sink *sink_json__new(FILE *out)
{
	struct json_sink *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->base.ops = &json_ops;
	j->out = out;
	return &j->base;
}
