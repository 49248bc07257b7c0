/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the user sees: conflicts, fatal errors, panics, lost events and the
 * summary, as text blocks or as one JSON object per line. Stacks are
 * symbolized from the binary's pclntab.
 */
#ifndef GOMAPWATCH_REPORT_H
#define GOMAPWATCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>
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
	/* --max-overhead; without one: duty 1, windows 1, no estimates */
	double budget;			/* percent of the target's CPU; 0: none */
	bool sampled;			/* over budget: the probes were attached in windows */
	double duty;			/* seconds with the map probes attached / seconds watched */
	int windows;			/* times the map probes were attached (1: all along) */
	double overhead;		/* estimated cost to the target, percent of its CPU; < 0: unknown */
	double full_overhead;		/* what full tracing costs, last estimate, percent; < 0: unknown */
	uint64_t forgotten;		/* writes still inside when their window closed: forgotten */
};

struct report;

struct report *report__new(FILE *out, bool json, const struct report_src *src);
/* One record from the alert ring. */
int report__event(struct report *r, const void *data, size_t size);
/* n of what were dropped: said at once, as a line or a "lost" event. */
void report__lost(struct report *r, uint64_t n, const char *what);
void report__summary(struct report *r, const struct report_end *end);
/* Distinct conflicts and fatal errors reported so far. */
int report__nconflicts(const struct report *r);
int report__nfatal(const struct report *r);
/* "a Go fatal error: ..." or "an unrecovered panic: ...", or NULL */
const char *report__fatal_message(const struct report *r);
void report__free(struct report *r);

#endif
