// SPDX-License-Identifier: GPL-2.0
/* The terminal's sink: one text block per event, the summary at the end. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "sink.h"

struct text_sink {
	struct sink base;
	FILE *out;
};

static FILE *out_of(struct sink *s)
{
	return ((struct text_sink *)s)->out;
}

static void text_frames(FILE *out, const struct gstack *st)
{
	int shown = 0;

	for (int i = 0; i < st->n; i++) {
		const struct gframe *f = &st->f[i];

		if (f->hidden)
			continue;
		fprintf(out, "      %s %s:%d%s\n", f->func, f->file, f->line,
			f->inlined ? " (inlined)" : "");
		shown++;
	}
	if (!shown)
		fprintf(out, "      (stack unavailable)\n");
	else if (st->truncated)
		fprintf(out, "      ... (stack cut at %d frames)\n", GMW_STACK_MAX);
	else if (st->left)
		fprintf(out, "      ... (it left its write before its callers could be read)\n");
	if (!st->created.pc)
		return;
	fprintf(out, "      created by %s", st->created.func);
	if (st->parent_goid)
		fprintf(out, " in goroutine %" PRIu64, st->parent_goid);
	fprintf(out, " %s:%d\n", st->created.file, st->created.line);
}

/* ", key \"session-17\"", or nothing for an operation without a key */
static void text_key(FILE *out, const char *sep, const struct gokey *k)
{
	char buf[256];

	if (k->repr == GK_NONE)
		return;
	gokey__text(k, buf, sizeof(buf));
	fprintf(out, "%s%s", sep, buf);
}

static void text_side(FILE *out, const char *what, const struct ev_side *s)
{
	if (s->unseen) {
		fprintf(out, "  %s: a write never seen entering (begun before attach, or its\n"
			"      record lost); the map's write flag was set, so it was in progress\n", what);
		return;
	}
	fprintf(out, "  %s: goroutine %" PRIu64 " [pid %u tid %u] in %s (%s", what, s->goid,
		s->pid, s->tid, s->function, s->op);
	text_key(out, ", key ", &s->key);
	fprintf(out, ", write flag at entry %#x)\n", s->write_flag);
	text_frames(out, s->stack);
}

static void text_conflict(struct sink *s, const struct ev_conflict *c)
{
	FILE *out = out_of(s);

	fprintf(out, "\n=== CONFLICT %s on map %#" PRIx64 " ===\n", c->kind, c->map);
	text_side(out, "entering", &c->side[0]);
	text_side(out, "already inside", &c->side[1]);
	if (c->has_overlap)
		fprintf(out, "  (goroutine %" PRIu64 " entered its write %.1f us before goroutine %" PRIu64 ")\n",
			c->side[1].goid, c->overlap_ns / 1000.0, c->side[0].goid);
	fflush(out);
}

static void text_recent(FILE *out, const struct ev_message *m)
{
	if (m->recent_map)
		fprintf(out, "  last map operations on map %#" PRIx64 " and by goroutine %" PRIu64
			" before the crash, newest first:\n", m->recent_map, m->who.goid);
	else
		fprintf(out, "  last map operations in the process before the crash, newest first\n"
			"  (goroutine %" PRIu64 "'s own was not traced: a read? --reads traces them):\n",
			m->who.goid);
	for (int i = 0; i < m->nrecent; i++) {
		const struct ev_op *e = &m->recent[i];

		fprintf(out, "    %9.3f ms before  goroutine %-6" PRIu64 " %-7s", e->before_ns / 1e6,
			e->goid, e->op);
		text_key(out, " key ", &e->key);
		fprintf(out, "%s  %s %s:%d\n", e->map != m->recent_map ? " (another map)" : "",
			e->at.func, ev__base_name(e->at.file), e->at.line);
	}
	if (!m->nrecent)
		fprintf(out, "    (none recorded)\n");
}

static void text_message(struct sink *s, const struct ev_message *m)
{
	static const char *const title[] = {
		[EV_FATAL] = "FATAL", [EV_PANIC] = "PANIC", [EV_FATALPANIC] = "UNRECOVERED PANIC",
	};
	FILE *out = out_of(s);

	fprintf(out, "\n=== %s: ", title[m->type]);
	for (size_t i = 0; i < m->len; i++)
		fputc(m->msg[i] >= 0x20 && m->msg[i] < 0x7f ? m->msg[i] : '?', out);
	fprintf(out, "%s ===\n", m->truncated ? "..." : "");
	fprintf(out, "  goroutine %" PRIu64 " [pid %u tid %u] in %s\n", m->who.goid, m->who.pid,
		m->who.tid, m->who.function);
	text_frames(out, m->who.stack);
	if (m->recorder)
		text_recent(out, m);
	fflush(out);
}

static void text_lost(struct sink *s, const struct ev_lost *l)
{
	fprintf(out_of(s), "gomapwatch: lost %" PRIu64 " %s\n", l->count, l->what);
}

static void text_pairs(FILE *out, const struct ev_summary *sum)
{
	const struct ev_pair *p = sum->pairs;

	if (sum->npairs)
		fprintf(out, "where to fix it, per map (most conflicts first):\n");
	for (int i = 0; i < sum->npairs; i++) {
		if (!i || p[i].map != p[i - 1].map)
			fprintf(out, "  map %#" PRIx64 ": %" PRIu64 " conflicts\n", p[i].map,
				p[i].map_total);
		fprintf(out, "    %" PRIu64 "x  %s\n", p[i].count, p[i].title);
		fprintf(out, "          first %.1f s, last %.1f s after start", p[i].first_s,
			p[i].last_s);
		for (int k = 0; k < p[i].ncreated; k++)
			fprintf(out, "%s %s %s:%d", k ? "," : "; goroutines created by",
				p[i].created[k].func, ev__base_name(p[i].created[k].file),
				p[i].created[k].line);
		fputc('\n', out);
	}
}

static void text_budget(FILE *out, const struct ev_budget *b)
{
	if (!b->percent)
		return;
	fprintf(out, "CPU budget %g%%: ", b->percent);
	if (b->sampled)
		fprintf(out, "sampled, the probes attached %.1f%% of the time in %d windows", b->duty * 100,
			b->windows);
	else
		fprintf(out, "traced in full");
	if (b->overhead >= 0)
		fprintf(out, ", estimated cost %.1f%% of the target's CPU (full tracing ~%.0f%%)",
			b->overhead, b->full < 0 ? b->overhead : b->full);
	if (b->forgotten)
		fprintf(out, "; %" PRIu64 " writes still inside when their window closed, forgotten",
			b->forgotten);
	fputc('\n', out);
}

static void text_table(FILE *out, const char *what, const struct ev_table *t)
{
	fprintf(out, "%s %" PRIu32 "/%" PRIu32, what, t->peak, t->max);
}

static void text_footprint(FILE *out, const struct ev_footprint *f)
{
	if (!f->samples)
		return;
	fprintf(out, "gomapwatch's memory: %.1f MiB after attaching, %.1f MiB at the end, "
		"%.1f MiB at most (%d samples)\n", f->rss_first_kb / 1024.0,
		f->rss_last_kb / 1024.0, f->rss_peak_kb / 1024.0, f->samples);
	fprintf(out, "BPF tables at their fullest: ");
	text_table(out, "writes in flight", &f->writers);
	text_table(out, ", goroutines inside a write", &f->owners);
	text_table(out, ", conflicting stack pairs", &f->pairs);
	fputc('\n', out);
}

static void text_sinks(FILE *out, const struct ev_summary *sum)
{
	for (int i = 0; i < sum->nsinks; i++) {
		const struct ev_sink_stats *st = &sum->sinks[i];

		fprintf(out, "%s: %" PRIu64 " records sent, %" PRIu64 " dropped, %" PRIu64
			" still queued\n", st->name, st->sent, st->dropped, st->queued);
	}
}

static void text_summary(struct sink *s, const struct ev_summary *sum)
{
	const uint64_t *c = sum->counters;
	FILE *out = out_of(s);

	fprintf(out, "\n--- gomapwatch summary (%.1f s) ---\n", sum->seconds);
	fprintf(out, "map writes traced: %" PRIu64 " (exits seen %" PRIu64
		", restarts after stack growth %" PRIu64 ")\n",
		c[GMW_C_WRITE_ENTER], c[GMW_C_WRITE_EXIT], c[GMW_C_REENTER]);
	if (c[GMW_C_READ])
		fprintf(out, "map reads checked: %" PRIu64 "\n", c[GMW_C_READ]);
	fprintf(out, "conflicts: %" PRIu64 " (%d distinct)\n", c[GMW_C_CONFLICT], sum->distinct);
	text_pairs(out, sum);
	fprintf(out, "fatal errors: %d; repeated panics (counted, not printed): %" PRIu64 "\n",
		sum->fatal_errors, sum->repeated_panics);
	fprintf(out, "entries whose exit never came: %" PRIu64 " aged out, %" PRIu64
		" cleared by a panic (of %" PRIu64 " panics), %d still open\n",
		c[GMW_C_AGED], c[GMW_C_PANIC_CLEAR], c[GMW_C_PANIC], sum->unfinished);
	fprintf(out, "lost: %" PRIu64 " alert records, %" PRIu64 " untracked writes, %" PRIu64
		" conflicts unreported (stack-pair table full)\n",
		c[GMW_C_LOST], c[GMW_C_TRACK_FULL], c[GMW_C_PAIRS_FULL]);
	text_budget(out, &sum->budget);
	text_footprint(out, &sum->footprint);
	text_sinks(out, sum);
	if (sum->target_status)
		fprintf(out, "target: %s\n", sum->target_status);
	fflush(out);
}

static void text_free(struct sink *s)
{
	free(s);
}

static const struct sink_ops text_ops = {
	.name = "text",
	.conflict = text_conflict,
	.message = text_message,
	.lost = text_lost,
	.summary = text_summary,
	.free = text_free,
};

struct sink *sink_text__new(FILE *out)
{
	struct text_sink *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->base.ops = &text_ops;
	t->out = out;
	return &t->base;
}
