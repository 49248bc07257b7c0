/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --max-overhead: a budget for what the probes cost the target, as a share
 * of its CPU time. Full tracing is measured first; when it costs more than
 * the budget, the map probes are attached for part of each period only (a
 * window), as long a part as the budget allows, and the estimate is
 * renewed every window. Nothing here touches the kernel: the tracer's
 * side comes through budget_ops.
 */
#ifndef GOMAPWATCH_BUDGET_H
#define GOMAPWATCH_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define BUDGET_DEFAULT	5.0	/* percent, where nobody watches the run end */
#define BUDGET_PERIOD	10.0	/* s: a window and the pause after it */
#define BUDGET_GRACE	0.02	/* s: exits stay after the entries went, for writes inside */
#define BUDGET_FIRST	0.5	/* s of full tracing before the first estimate */
#define BUDGET_CHECK	1.0	/* s between estimates while tracing in full */
#define BUDGET_MIN_CPU	0.05	/* s of the target's CPU time an estimate needs */
#define BUDGET_MIN_DUTY	0.02	/* the least share of a period traced */
#define BUDGET_AIM	0.9	/* the share of the budget aimed at: noise stays inside */
#define BUDGET_BACK	0.8	/* full tracing again below this share of the budget */

/* What one uprobe hit costs the target before its program runs. */
struct trap_cost {
	double emulated_ns;	/* the kernel emulates the instruction (a jump) */
	double stepped_ns;	/* it single-steps it out of line (a RET, a SUB) */
	bool calibrated;	/* measured here; else the design's figures */
};

/* Cumulative since the programs were loaded. */
struct probe_hits {
	uint64_t emulated, stepped;
	uint64_t run_ns;	/* the programs' own run time */
};

/* Seconds of the target's CPU time the hits took. */
double budget__cost(const struct trap_cost *c, const struct probe_hits *h);

struct budget_ops {
	void *ctx;
	/* cumulative seconds: the probes' cost, the target's CPU time; false if gone */
	bool (*sample)(void *ctx, double *probe_s, double *cpu_s);
	void (*entries_off)(void *ctx);
	void (*exits_off)(void *ctx);
	/* the ways out, a clean slate, the entries: 0, or < 0 if tracing cannot go on */
	int (*resume)(void *ctx);
};

enum budget_state { BUDGET_FULL, BUDGET_ON, BUDGET_GRACE_WAIT, BUDGET_OFF };

struct budget {
	double limit;			/* share of the target's CPU; 0: no budget */
	double period, grace;
	const struct budget_ops *ops;
	int verbose;
	enum budget_state state;
	bool sampled;			/* the probes have been off at some point */
	double next;			/* when budget__step has work */
	double t0, on_since, traced;	/* traced: seconds with the entries attached */
	double off_until;
	double duty;			/* share of a period with the probes attached */
	double full;			/* last estimate of full tracing's cost; < 0: none */
	double unit;			/* a period's cost over its duty; < 0: none yet */
	double probe0, cpu0;		/* the current measurement's start */
	double acc_probe, acc_cpu;	/* measured while attached, not enough yet */
	double pstart;			/* the current period's start; < 0: none */
	double pprobe, pcpu, ptraced;	/* and the sums then */
	unsigned short seed[3];		/* the pauses' jitter */
	double probe_first, cpu_first;	/* the run's first sample */
	double probe_last, cpu_last;	/* the latest sample */
	bool have_first, have_last;
	int windows;			/* times the probes were attached */
};

struct budget_result {
	bool sampled;
	double duty;			/* seconds traced / seconds watched */
	int windows;
	double overhead;		/* the run's cost, share of the target's CPU; < 0: unknown */
	double full;			/* full tracing's, last estimate; < 0: unknown */
};

/* limit_pct 0: no budget, budget__step never has work. */
void budget__init(struct budget *b, double limit_pct, const struct budget_ops *ops, double now);
/* Seconds until budget__step has work (a day without a budget). */
double budget__wait(const struct budget *b, double now);
/* Whatever is due at now; < 0 if tracing cannot go on. */
int budget__step(struct budget *b, double now);
void budget__end(struct budget *b, double now, struct budget_result *r);
/* The period and grace from GOMAPWATCH_WINDOWS=PERIOD[,GRACE] (seconds), for tests. */
void budget__env(struct budget *b, const char *val);

#endif
