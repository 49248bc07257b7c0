// SPDX-License-Identifier: GPL-2.0
/*
 * Events as OTLP log records (the JSON encoding of the OTLP protocol).
 * Records are built here and queued for the sender thread (otlp.c): the
 * event loop never waits for the network. Each traced process is one
 * resource, named per the semantic conventions.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "json.h"
#include "sink_otlp.h"

/* OpenTelemetry's SeverityNumber */
enum { SEV_INFO = 9, SEV_WARN = 13, SEV_ERROR = 17, SEV_FATAL = 21 };

#define MAX_RESOURCES 64

struct otlp_sink {
	struct sink base;
	struct otlp *net;
	char service[256], exe[4096], go_version[64], host[256];
	struct {
		uint32_t pid;
		int id;
	} res[MAX_RESOURCES];
	int nres;
	uint32_t last_pid;		/* of the last event: the summary's process */
	uint64_t unbuilt;		/* records that could not be made: counted as dropped */
};

static struct otlp_sink *otlp_of(struct sink *s)
{
	return (struct otlp_sink *)s;
}

/* {"key": k, "value": {"stringValue": s}}, s any bytes */
static void attr_bytes(yyjson_mut_doc *doc, yyjson_mut_val *arr, const char *k, const char *s,
		       size_t len)
{
	yyjson_mut_val *a = yyjson_mut_arr_add_obj(doc, arr);

	yyjson_mut_obj_add_strcpy(doc, a, "key", k);
	json__add_bytes(doc, yyjson_mut_obj_add_obj(doc, a, "value"), "stringValue", s, len);
}

static void attr_str(yyjson_mut_doc *doc, yyjson_mut_val *arr, const char *k, const char *s)
{
	attr_bytes(doc, arr, k, s, strlen(s));
}

/* int64 goes as a decimal string, as the OTLP JSON encoding asks */
static void attr_int(yyjson_mut_doc *doc, yyjson_mut_val *arr, const char *k, int64_t v)
{
	yyjson_mut_val *a = yyjson_mut_arr_add_obj(doc, arr);
	char n[24];

	snprintf(n, sizeof(n), "%" PRId64, v);
	yyjson_mut_obj_add_strcpy(doc, a, "key", k);
	yyjson_mut_obj_add_strcpy(doc, yyjson_mut_obj_add_obj(doc, a, "value"), "intValue", n);
}

static void attr_double(yyjson_mut_doc *doc, yyjson_mut_val *arr, const char *k, double v)
{
	yyjson_mut_val *a = yyjson_mut_arr_add_obj(doc, arr);

	yyjson_mut_obj_add_strcpy(doc, a, "key", k);
	yyjson_mut_obj_add_real(doc, yyjson_mut_obj_add_obj(doc, a, "value"), "doubleValue", v);
}

static void attr_hex(yyjson_mut_doc *doc, yyjson_mut_val *arr, const char *k, uint64_t v)
{
	char hex[24];

	snprintf(hex, sizeof(hex), "%#" PRIx64, v);
	attr_str(doc, arr, k, hex);
}

/* A resource's attributes: the process, its binary, the host. */
static char *resource_json(const struct otlp_sink *o, uint32_t pid)
{
	yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
	yyjson_mut_val *root = yyjson_mut_obj(doc), *attrs;
	char *s;

	yyjson_mut_doc_set_root(doc, root);
	attrs = yyjson_mut_obj_add_arr(doc, root, "attributes");
	attr_str(doc, attrs, "service.name", o->service);
	if (pid)
		attr_int(doc, attrs, "process.pid", pid);
	attr_str(doc, attrs, "process.executable.path", o->exe);
	attr_str(doc, attrs, "process.executable.name", ev__base_name(o->exe));
	attr_str(doc, attrs, "process.runtime.name", "go");
	if (o->go_version[0])
		attr_str(doc, attrs, "process.runtime.version", o->go_version);
	attr_str(doc, attrs, "host.name", o->host);
	attr_str(doc, attrs, "telemetry.sdk.name", "gomapwatch");
	s = yyjson_mut_write(doc, 0, NULL);
	yyjson_mut_doc_free(doc);
	return s;
}

/* The resource of process pid, made on its first event. */
static int resource_of(struct otlp_sink *o, uint32_t pid)
{
	char *json;
	int id;

	for (int i = 0; i < o->nres; i++)
		if (o->res[i].pid == pid)
			return o->res[i].id;
	json = resource_json(o, pid);
	id = json ? otlp__resource(o->net, json) : -1;
	free(json);
	if (id >= 0 && o->nres < MAX_RESOURCES)
		o->res[o->nres].pid = pid, o->res[o->nres++].id = id;
	return id;
}

/* A record with its time, severity, event name and body; attributes to add. */
static yyjson_mut_val *record_start(yyjson_mut_doc *doc, uint64_t time_ns, int sev,
				    const char *event, const char *body, size_t len)
{
	static const char *const sev_text[] = {
		[SEV_INFO] = "INFO", [SEV_WARN] = "WARN", [SEV_ERROR] = "ERROR", [SEV_FATAL] = "FATAL",
	};
	yyjson_mut_val *r = yyjson_mut_obj(doc), *attrs;
	char t[24];

	yyjson_mut_doc_set_root(doc, r);
	snprintf(t, sizeof(t), "%" PRIu64, time_ns);
	yyjson_mut_obj_add_strcpy(doc, r, "timeUnixNano", t);
	yyjson_mut_obj_add_strcpy(doc, r, "observedTimeUnixNano", t);
	yyjson_mut_obj_add_int(doc, r, "severityNumber", sev);
	yyjson_mut_obj_add_str(doc, r, "severityText", sev_text[sev]);
	yyjson_mut_obj_add_str(doc, r, "eventName", event);
	json__add_bytes(doc, yyjson_mut_obj_add_obj(doc, r, "body"), "stringValue", body, len);
	attrs = yyjson_mut_obj_add_arr(doc, r, "attributes");
	attr_str(doc, attrs, "event.name", event);
	return attrs;
}

/* Queue the record of doc for process pid; a drop is counted by otlp. */
static void record_send(struct otlp_sink *o, yyjson_mut_doc *doc, uint32_t pid)
{
	char *json = yyjson_mut_write(doc, 0, NULL);
	int res = resource_of(o, pid);

	yyjson_mut_doc_free(doc);
	if (json && res >= 0) {
		otlp__push(o->net, res, json);
	} else {
		free(json);
		o->unbuilt++;
	}
	if (pid)
		o->last_pid = pid;
}

/* A stack as Go's traceback prints it: "func(...)\n\tfile:line". */
static void stack_text(FILE *f, uint64_t goid, const struct gstack *st)
{
	fprintf(f, "goroutine %" PRIu64 " [running]:\n", goid);
	for (int i = 0; i < st->n; i++)
		if (!st->f[i].hidden)
			fprintf(f, "%s(...)\n\t%s:%d\n", st->f[i].func, st->f[i].file, st->f[i].line);
	if (st->truncated)
		fprintf(f, "...additional frames elided...\n");
	else if (st->left)
		fprintf(f, "...(it left its write before its callers could be read)\n");
	if (!st->created.pc)
		return;
	fprintf(f, "created by %s", st->created.func);
	if (st->parent_goid)
		fprintf(f, " in goroutine %" PRIu64, st->parent_goid);
	fprintf(f, "\n\t%s:%d\n", st->created.file, st->created.line);
}

static void attr_stack(yyjson_mut_doc *doc, yyjson_mut_val *attrs, const char *k,
		       const struct ev_side *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	stack_text(f, s->goid, s->stack);
	fclose(f);
	attr_bytes(doc, attrs, k, text, len);
	free(text);
}

static void attr_key(yyjson_mut_doc *doc, yyjson_mut_val *attrs, const char *k,
		     const struct gokey *key)
{
	char buf[256];

	if (key->repr == GK_NONE)
		return;
	gokey__text(key, buf, sizeof(buf));
	attr_str(doc, attrs, k, buf);
}

/* One side's attributes, each named gomapwatch.<who>.<what>. */
static void attr_side(yyjson_mut_doc *doc, yyjson_mut_val *attrs, const char *who,
		      const struct ev_side *s)
{
	const struct gframe *f;
	char k[64];

#define K(what) (snprintf(k, sizeof(k), "gomapwatch.%s.%s", who, what), k)
	if (s->unseen) {
		attr_str(doc, attrs, K("goroutine.id"), "unseen");
		return;
	}
	attr_int(doc, attrs, K("goroutine.id"), s->goid);
	attr_int(doc, attrs, K("thread.id"), s->tid);
	attr_str(doc, attrs, K("function"), s->function);
	attr_str(doc, attrs, K("op"), s->op);
	attr_key(doc, attrs, K("key"), &s->key);
	attr_stack(doc, attrs, K("stacktrace"), s);
	f = gstack__first(s->stack);
	if (f) {
		attr_str(doc, attrs, K("code.function.name"), f->func);
		attr_str(doc, attrs, K("code.file.path"), f->file);
		attr_int(doc, attrs, K("code.line.number"), f->line);
	}
#undef K
}

/* Both stacks in one text, as exception.stacktrace */
static void attr_both_stacks(yyjson_mut_doc *doc, yyjson_mut_val *attrs, const struct ev_conflict *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	stack_text(f, c->side[0].goid, c->side[0].stack);
	if (!c->side[1].unseen) {
		fputc('\n', f);
		stack_text(f, c->side[1].goid, c->side[1].stack);
	}
	fclose(f);
	attr_bytes(doc, attrs, "exception.stacktrace", text, len);
	free(text);
}

static void otlp_conflict(struct sink *s, const struct ev_conflict *c)
{
	yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
	char body[600];
	yyjson_mut_val *attrs;
	const struct gframe *f = gstack__first(c->side[0].stack);

	snprintf(body, sizeof(body), "concurrent map access: %s", c->title);
	attrs = record_start(doc, c->time_ns, SEV_ERROR, "gomapwatch.conflict", body, strlen(body));
	attr_str(doc, attrs, "gomapwatch.conflict.kind", c->kind);
	attr_hex(doc, attrs, "gomapwatch.map", c->map);
	if (c->has_overlap)
		attr_int(doc, attrs, "gomapwatch.overlap_ns", c->overlap_ns);
	attr_side(doc, attrs, "entering", &c->side[0]);
	attr_side(doc, attrs, "inside", &c->side[1]);
	attr_str(doc, attrs, "exception.type", "concurrent map access");
	attr_str(doc, attrs, "exception.message", body);
	attr_both_stacks(doc, attrs, c);
	if (f) {
		attr_str(doc, attrs, "code.function.name", f->func);
		attr_str(doc, attrs, "code.file.path", f->file);
		attr_int(doc, attrs, "code.line.number", f->line);
	}
	record_send(otlp_of(s), doc, c->side[0].pid);
}

/* The flight recorder's operations, one line each, newest first. */
static void attr_recent(yyjson_mut_doc *doc, yyjson_mut_val *attrs, const struct ev_message *m)
{
	yyjson_mut_val *a = yyjson_mut_arr_add_obj(doc, attrs), *v, *arr;

	yyjson_mut_obj_add_str(doc, a, "key", "gomapwatch.recent_ops");
	v = yyjson_mut_obj_add_obj(doc, a, "value");
	arr = yyjson_mut_obj_add_arr(doc, yyjson_mut_obj_add_obj(doc, v, "arrayValue"), "values");
	for (int i = 0; i < m->nrecent; i++) {
		const struct ev_op *e = &m->recent[i];
		char line[512], key[256] = "";

		if (e->key.repr != GK_NONE)
			gokey__text(&e->key, key, sizeof(key));
		snprintf(line, sizeof(line), "%.3f ms before: goroutine %" PRIu64 " %s%s%s on map %#"
			 PRIx64 " at %s %s:%d", e->before_ns / 1e6, e->goid, e->op, *key ? " key " : "",
			 key, e->map, e->at.func, e->at.file, e->at.line);
		json__add_bytes(doc, yyjson_mut_arr_add_obj(doc, arr), "stringValue", line,
				strlen(line));
	}
	if (m->recent_map)
		attr_hex(doc, attrs, "gomapwatch.map", m->recent_map);
}

static void otlp_message(struct sink *s, const struct ev_message *m)
{
	static const struct {
		int sev;
		const char *event, *prefix;
	} k[] = {
		[EV_FATAL] = { SEV_FATAL, "gomapwatch.fatal", "fatal error: " },
		[EV_PANIC] = { SEV_WARN, "gomapwatch.panic", "panic: " },
		[EV_FATALPANIC] = { SEV_FATAL, "gomapwatch.fatalpanic", "unrecovered panic: " },
	};
	yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
	size_t plen = strlen(k[m->type].prefix);
	char *body = malloc(plen + m->len);
	yyjson_mut_val *attrs;

	if (!body) {
		yyjson_mut_doc_free(doc);
		return;
	}
	memcpy(body, k[m->type].prefix, plen);
	memcpy(body + plen, m->msg, m->len);
	attrs = record_start(doc, m->time_ns, k[m->type].sev, k[m->type].event, body, plen + m->len);
	free(body);
	attr_str(doc, attrs, "exception.type", m->type == EV_FATAL ? "fatal error" : "panic");
	attr_bytes(doc, attrs, "exception.message", m->msg, m->len);
	attr_side(doc, attrs, "goroutine", &m->who);
	attr_stack(doc, attrs, "exception.stacktrace", &m->who);
	if (m->recorder)
		attr_recent(doc, attrs, m);
	record_send(otlp_of(s), doc, m->who.pid);
}

static void otlp_lost(struct sink *s, const struct ev_lost *l)
{
	yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
	char body[256];
	yyjson_mut_val *attrs;

	snprintf(body, sizeof(body), "gomapwatch lost %" PRIu64 " %s", l->count, l->what);
	attrs = record_start(doc, l->time_ns, SEV_WARN, "gomapwatch.lost", body, strlen(body));
	attr_int(doc, attrs, "gomapwatch.lost.count", l->count);
	attr_str(doc, attrs, "gomapwatch.lost.what", l->what);
	record_send(otlp_of(s), doc, otlp_of(s)->last_pid);
}

static void summary_pairs(yyjson_mut_doc *doc, yyjson_mut_val *attrs, const struct ev_summary *sum)
{
	yyjson_mut_val *a = yyjson_mut_arr_add_obj(doc, attrs), *arr;

	yyjson_mut_obj_add_str(doc, a, "key", "gomapwatch.where_to_fix");
	arr = yyjson_mut_obj_add_obj(doc, yyjson_mut_obj_add_obj(doc, a, "value"), "arrayValue");
	arr = yyjson_mut_obj_add_arr(doc, arr, "values");
	for (int i = 0; i < sum->npairs; i++) {
		const struct ev_pair *p = &sum->pairs[i];
		char line[800];

		snprintf(line, sizeof(line), "%" PRIu64 "x on map %#" PRIx64 ": %s", p->count, p->map,
			 p->title);
		json__add_bytes(doc, yyjson_mut_arr_add_obj(doc, arr), "stringValue", line,
				strlen(line));
	}
}

static void otlp_summary(struct sink *s, const struct ev_summary *sum)
{
	const uint64_t *c = sum->counters;
	yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
	yyjson_mut_val *attrs;
	char body[256];

	snprintf(body, sizeof(body), "gomapwatch summary: %" PRIu64 " conflicts (%d distinct), "
		 "%d fatal errors in %.1f s", c[GMW_C_CONFLICT], sum->distinct, sum->fatal_errors,
		 sum->seconds);
	attrs = record_start(doc, sum->time_ns, SEV_INFO, "gomapwatch.summary", body, strlen(body));
	attr_double(doc, attrs, "gomapwatch.seconds", sum->seconds);
	attr_int(doc, attrs, "gomapwatch.writes", c[GMW_C_WRITE_ENTER]);
	attr_int(doc, attrs, "gomapwatch.reads", c[GMW_C_READ]);
	attr_int(doc, attrs, "gomapwatch.conflicts", c[GMW_C_CONFLICT]);
	attr_int(doc, attrs, "gomapwatch.distinct_conflicts", sum->distinct);
	attr_int(doc, attrs, "gomapwatch.fatal_errors", sum->fatal_errors);
	attr_int(doc, attrs, "gomapwatch.lost", c[GMW_C_LOST] + c[GMW_C_TRACK_FULL]);
	for (int i = 0; i < sum->nsinks; i++)
		if (!strcmp(sum->sinks[i].name, "otlp"))
			attr_int(doc, attrs, "gomapwatch.otlp.dropped", sum->sinks[i].dropped);
	if (sum->budget.percent)
		attr_double(doc, attrs, "gomapwatch.duty_cycle", sum->budget.duty);
	summary_pairs(doc, attrs, sum);
	if (sum->target_status)
		attr_str(doc, attrs, "gomapwatch.target", sum->target_status);
	record_send(otlp_of(s), doc, otlp_of(s)->last_pid);
}

static void otlp_flush(struct sink *s, int deadline_ms)
{
	otlp__flush(otlp_of(s)->net, deadline_ms);
}

static bool otlp_stats(struct sink *s, struct ev_sink_stats *st)
{
	struct otlp_stats o;

	otlp__stats(otlp_of(s)->net, &o);
	*st = (struct ev_sink_stats){ .name = "otlp", .sent = o.sent,
				      .dropped = o.dropped + otlp_of(s)->unbuilt, .queued = o.queued };
	return true;
}

/* What is still queued gets a last short chance; the rest is counted and said. */
static void otlp_free(struct sink *s)
{
	struct otlp_sink *o = otlp_of(s);
	struct otlp_stats st;

	otlp__flush(o->net, 2000);
	otlp__stats(o->net, &st);
	if (st.dropped + o->unbuilt)
		fprintf(stderr, "gomapwatch: otlp: %" PRIu64 " records dropped in all, %" PRIu64
			" sent\n", st.dropped + o->unbuilt, st.sent);
	otlp__free(o->net);
	free(o);
}

static const struct sink_ops otlp_ops = {
	.name = "otlp",
	.conflict = otlp_conflict,
	.message = otlp_message,
	.lost = otlp_lost,
	.summary = otlp_summary,
	.flush = otlp_flush,
	.stats = otlp_stats,
	.free = otlp_free,
};

struct sink *sink_otlp__new(const struct sink_otlp_cfg *cfg, char *err, size_t errlen)
{
	struct otlp_sink *o = calloc(1, sizeof(*o));

	if (!o)
		return snprintf(err, errlen, "out of memory"), NULL;
	if (otlp__new(&o->net, &cfg->net, err, errlen)) {
		free(o);
		return NULL;
	}
	o->base.ops = &otlp_ops;
	snprintf(o->exe, sizeof(o->exe), "%s", cfg->exe_path);
	snprintf(o->service, sizeof(o->service), "%.255s",
		 cfg->service_name ? cfg->service_name : ev__base_name(o->exe));
	snprintf(o->go_version, sizeof(o->go_version), "%s", cfg->go_version ? cfg->go_version : "");
	if (gethostname(o->host, sizeof(o->host)))
		strcpy(o->host, "unknown");
	return &o->base;
}
