/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The report model: what gomapwatch found, symbolized once. The report
 * turns records from the alert ring into these; every output (terminal,
 * NDJSON, OTLP) is a sink that renders them. Strings and stacks point into
 * the report and live only for the call that hands them to a sink.
 */
#ifndef GOMAPWATCH_EVENT_H
#define GOMAPWATCH_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "gokey.h"
#include "gomapwatch.h"
#include "gstack.h"

enum ev_type {
	EV_CONFLICT,
	EV_FATAL,		/* the runtime's fatal error: "concurrent map writes" */
	EV_PANIC,		/* a panic, recovered or not yet */
	EV_FATALPANIC,		/* a panic nothing recovered: the process dies */
	EV_LOST,
	EV_SUMMARY,
};

/* A goroutine inside a map operation. */
struct ev_side {
	bool unseen;		/* a write proven by the map's write flag, never seen entering */
	uint64_t goid;
	uint32_t pid, tid;
	const char *function;	/* the hooked runtime function */
	const char *op;		/* "read", "write", "delete", "clear", "iterate" */
	struct gokey key;	/* repr GK_NONE: no key */
	uint32_t write_flag;	/* the map's flags byte at entry */
	const struct gstack *stack;
};

struct ev_conflict {
	uint64_t time_ns;	/* Unix time */
	const char *kind;	/* "write/write", "read/write", ... */
	uint64_t map;
	const char *title;	/* kind and both first user frames, one line */
	bool has_overlap;
	uint64_t overlap_ns;	/* how long the other was inside before this one came */
	struct ev_side side[2];	/* [0] entering, [1] already inside */
};

/* One of the last map operations before a fatal error. */
struct ev_op {
	uint64_t before_ns;	/* before the fatal error */
	uint64_t goid, map;
	const char *op, *function;
	struct gokey key;
	struct gframe at;	/* the user's line that did it */
};

struct ev_message {
	enum ev_type type;	/* EV_FATAL, EV_PANIC or EV_FATALPANIC */
	uint64_t time_ns;
	const char *msg;	/* the runtime's message, not NUL-terminated */
	size_t len;
	bool truncated;
	struct ev_side who;	/* goid, pid, tid, function and stack */
	bool recorder;		/* the flight recorder's part below is there */
	uint64_t recent_map;	/* the map it died on, 0 if unknown */
	const struct ev_op *recent;	/* newest first */
	int nrecent;
};

struct ev_lost {
	uint64_t time_ns;
	uint64_t count;
	const char *what;
};

/* A pair of lines that collided on one map: where to fix it. */
#define EV_CREATED_MAX 4
struct ev_pair {
	uint64_t map, map_total;	/* the map and all its conflicts */
	const char *kind, *title;
	uint64_t count;
	double first_s, last_s;		/* after gomapwatch started */
	struct gframe lines[2];
	struct gframe created[EV_CREATED_MAX];	/* the go statements of the goroutines */
	int ncreated;
};

struct ev_count {
	const char *title;
	uint64_t count;
};

/* What a sink that leaves the process did with what it was given. */
struct ev_sink_stats {
	const char *name;
	uint64_t sent, dropped, queued;
};

/* Sampling under a CPU budget (--max-overhead). */
struct ev_budget {
	double percent;		/* the budget; 0: none (the rest unset) */
	bool sampled;		/* the probes were attached in windows at some time */
	double duty;		/* seconds with the map probes attached / seconds watched */
	int windows;		/* times the map probes were attached (1: all along) */
	double overhead;	/* the run's estimated cost, percent of the target's CPU; < 0: unknown */
	double full;		/* what full tracing costs, last estimate, percent; < 0: unknown */
	uint64_t forgotten;	/* writes still inside when their window closed */
};

/* A table of the BPF side: the most it held at one time, of how many. */
struct ev_table {
	uint32_t peak, max;
};

/*
 * gomapwatch's own footprint over the run (-v), sampled every second: on a
 * long run both should stay flat.
 */
struct ev_footprint {
	int samples;			/* 0: not sampled (the rest unset) */
	uint64_t rss_first_kb;		/* at the first sample, probes attached */
	uint64_t rss_last_kb, rss_peak_kb;
	struct ev_table writers;	/* writes in flight, by map */
	struct ev_table owners;		/* goroutines inside a write */
	struct ev_table pairs;		/* distinct conflicting stack pairs */
};

struct ev_summary {
	uint64_t time_ns;
	double seconds;
	const uint64_t *counters;	/* GMW_C__MAX of them */
	int distinct;
	const struct ev_count *counts;	/* distinct of them */
	const struct ev_pair *pairs;	/* by map, the busiest first */
	int npairs;
	int fatal_errors;
	uint64_t repeated_panics;
	int unfinished;			/* write entries never exited */
	const char *target_status;	/* "exited with status 2", or NULL */
	struct ev_budget budget;
	struct ev_footprint footprint;
	const struct ev_sink_stats *sinks;
	int nsinks;
};

const char *ev_type__name(enum ev_type t);

/* A file's name without its directories, as titles and short lines show it. */
static inline const char *ev__base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

#endif
