/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An output of the report model. Each sink renders events its own way and
 * knows nothing of the others; the report hands every event to each.
 */
#ifndef GOMAPWATCH_SINK_H
#define GOMAPWATCH_SINK_H

#include <stdio.h>
#include "event.h"

struct sink;

struct sink_ops {
	const char *name;
	void (*conflict)(struct sink *s, const struct ev_conflict *c);
	void (*message)(struct sink *s, const struct ev_message *m);
	void (*lost)(struct sink *s, const struct ev_lost *l);
	void (*summary)(struct sink *s, const struct ev_summary *sum);
	/* Optional: send what is held, waiting at most deadline_ms. */
	void (*flush)(struct sink *s, int deadline_ms);
	/* Optional: what left the process and what was dropped; false if nothing to say. */
	bool (*stats)(struct sink *s, struct ev_sink_stats *st);
	void (*free)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
};

/* The terminal's text blocks. */
struct sink *sink_text__new(FILE *out);
/* One JSON object per line. */
struct sink *sink_json__new(FILE *out);

#endif
