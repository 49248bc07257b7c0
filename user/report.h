/* SPDX-License-Identifier: GPL-2.0 */
/*
 * From the alert ring to the report model: records are decoded, their
 * stacks symbolized from the binary's pclntab, conflicts deduplicated, and
 * each resulting event (event.h) handed to every sink (sink.h).
 */
#ifndef GOMAPWATCH_REPORT_H
#define GOMAPWATCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "event.h"
#include "gobin.h"
#include "gomapwatch.h"
#include "plan.h"

struct report_src {
	const struct gobin *bin;
	const struct plan *plan;
	bool all_frames;		/* show the runtime's frames and wrappers too */
	/* PIE load bias of a process (0 for fixed-address binaries) */
	uint64_t (*bias)(void *ctx, uint32_t pid);
	void *bias_ctx;
	/* the kernel's tally of a pair of stacks: 0, or -1 */
	int (*pair_stats)(void *ctx, const struct gmw_pair_key *k, struct gmw_pair_val *v);
	/* the flight recorder's records, oldest first (tracer__flight) */
	int (*flight)(void *ctx, struct gmw_rec *out, int max);
	/* the write a goroutine is inside now (tracer__holding) */
	int (*holding)(void *ctx, uint32_t pid, uint64_t goid, struct gmw_rec *out);
	void *ctx;
};

struct report_end {
	uint64_t counters[GMW_C__MAX];
	int unfinished;			/* write entries never exited */
	double seconds;
	const char *target_status;	/* "exited with status 2", or NULL */
	struct ev_budget budget;
	struct ev_footprint footprint;
	int flush_ms;			/* how long sinks may take to send what they hold */
};

struct report;
struct sink;

struct report *report__new(const struct report_src *src);
/* s is the report's from now on, freed with it; 0, or -1 (s freed too). */
int report__add_sink(struct report *r, struct sink *s);
/* One record from the alert ring. */
int report__event(struct report *r, const void *data, size_t size);
/* n of what were dropped: said at once, as a line or a "lost" event. */
void report__lost(struct report *r, uint64_t n, const char *what);
/* Sinks send what they hold, waiting at most deadline_ms. */
void report__flush(struct report *r, int deadline_ms);
/* Flushes the sinks first, so the summary tells what they sent. */
void report__summary(struct report *r, const struct report_end *end);
/* Distinct conflicts and fatal errors reported so far. */
int report__nconflicts(const struct report *r);
int report__nfatal(const struct report *r);
/* "a Go fatal error: ..." or "an unrecovered panic: ...", or NULL */
const char *report__fatal_message(const struct report *r);
void report__free(struct report *r);

#endif
