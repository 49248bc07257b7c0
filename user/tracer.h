/* SPDX-License-Identifier: GPL-2.0 */
/* The BPF side: load, attach the planned uprobes, read the alert ring and tables. */
#ifndef GOMAPWATCH_TRACER_H
#define GOMAPWATCH_TRACER_H

#include <stdint.h>
#include <sys/types.h>
#include "budget.h"
#include "gomapwatch.h"
#include "kfeat.h"
#include "offsets.h"
#include "plan.h"

struct tracer;

struct tracer_cfg {
	pid_t pid;			/* uprobes fire only in this process */
	const char *path;		/* the binary the uprobes attach to */
	const struct go_offsets *off;
	bool kind_unmasked;		/* Go 1.26+: the kind byte is the kind */
	uint64_t stale_ns;		/* entries older than this age out */
	const struct plan *plan;	/* what will be attached: its programs are loaded */
	const struct kfeat *feat;	/* what this kernel offers */
	bool no_recorder;		/* keep no flight recorder */
	bool budget;			/* --max-overhead: time the programs, calibrate */
};

typedef int (*tracer_event_fn)(void *ctx, void *data, size_t size);

int tracer__open(struct tracer **t, const struct tracer_cfg *cfg, tracer_event_fn fn,
		 void *ctx, char *err, size_t errlen);
int tracer__attach(struct tracer *t, const struct plan *p, char *err, size_t errlen);
/* Wait up to timeout_ms for alerts; < 0 on error other than EINTR. */
int tracer__poll(struct tracer *t, int timeout_ms);
int tracer__drain(struct tracer *t);
void tracer__counters(struct tracer *t, uint64_t out[GMW_C__MAX]);
/*
 * The flight recorder's records of every CPU, oldest first, at most max;
 * then the rings run again. Returns how many were written.
 */
int tracer__flight(void *t, struct gmw_rec *out, int max);
/* The kernel's tally of a pair of stacks; 0, or -1 if it has none. */
int tracer__pair_stats(void *t, const struct gmw_pair_key *k, struct gmw_pair_val *v);
/*
 * The write goroutine goid of process pid is inside now, as a flight
 * record (no string bytes); 0, or -1 if it holds none.
 */
int tracer__holding(void *t, uint32_t pid, uint64_t goid, struct gmw_rec *out);
/* Writes still held: at the end of a run, the ones whose exit never came. */
int tracer__unfinished(struct tracer *t);
/* Drop records older than stale_ns and those of processes that exited. */
void tracer__purge(struct tracer *t, uint64_t stale_ns);
struct ev_footprint;
/* How full the BPF tables are now; raises the peaks in f. */
void tracer__occupancy(struct tracer *t, struct ev_footprint *f);
/*
 * --max-overhead's windows: the entries go (and stop recording at once),
 * then the ways out, and every write still in flight is forgotten; resume
 * attaches the ways out, forgets again, then the entries.
 */
void tracer__stop_entries(struct tracer *t);
void tracer__stop_exits(struct tracer *t);
int tracer__resume(struct tracer *t, char *err, size_t errlen);
/* Writes forgotten so far, still inside when their window closed. */
uint64_t tracer__forgotten(struct tracer *t);
/* Probe hits and the programs' run time so far (cfg.budget). */
void tracer__hits(struct tracer *t, struct probe_hits *h);
/* What a hit costs here, timed on gomapwatch's own code; 0, or -1. */
int tracer__calibrate(struct tracer *t, struct trap_cost *c);
/* Release every probe; the tables stay readable until tracer__destroy. */
void tracer__detach(struct tracer *t);
void tracer__destroy(struct tracer *t);

#endif
