// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "budget.h"

double budget__cost(const struct trap_cost *c, const struct probe_hits *h)
{
	return (h->emulated * c->emulated_ns + h->stepped * c->stepped_ns + h->run_ns) / 1e9;
}

/*
 * The probes run in the target's own time and are charged to it: its CPU
 * time includes them. What they add is measured against the rest, the
 * target's own work: a target they make twice as slow reads as 100%, not
 * as 50%.
 */
static double ratio(double probe, double cpu)
{
	if (cpu - probe < cpu / 100)
		return 99;	/* the estimate is all of what was measured */
	return probe / (cpu - probe);
}

static bool sample(struct budget *b, double *p, double *c)
{
	if (!b->ops->sample(b->ops->ctx, p, c))
		return false;
	if (!b->have_first) {
		b->probe_first = *p;
		b->cpu_first = *c;
		b->have_first = true;
	}
	b->probe_last = *p;
	b->cpu_last = *c;
	b->have_last = true;
	return true;
}

/* The next measurement starts now. */
static void mark(struct budget *b)
{
	double p, c;

	if (!sample(b, &p, &c))
		return;
	b->probe0 = p;
	b->cpu0 = c;
}

/*
 * What the probes cost while all attached since the mark, added up over
 * windows until the target has run enough for an estimate: a target idle
 * in a short window says nothing. Only the time with the entries on is
 * full tracing: the grace, and the attaching and detaching, cost less.
 */
static void measure(struct budget *b)
{
	double p, c;

	if (!sample(b, &p, &c))
		return;
	b->acc_probe += p - b->probe0;
	b->acc_cpu += c - b->cpu0;
	b->probe0 = p;
	b->cpu0 = c;
	if (b->acc_cpu < BUDGET_MIN_CPU)
		return;
	b->full = ratio(b->acc_probe, b->acc_cpu);
	if (b->verbose > 1)
		fprintf(stderr, "gomapwatch: the probes took %.3f s of the target's %.3f s of CPU time: "
			"%.1f%%\n", b->acc_probe, b->acc_cpu, b->full * 100);
	b->acc_probe = b->acc_cpu = 0;
}

/*
 * What a whole period cost (windows, grace and pauses), over the share of
 * it that was traced. It is full tracing's cost for a target whose own
 * work does not change; less for one that uses all the CPU it gets, whose
 * own work the probes push out while they run, and come back when they
 * go: that one can be traced longer for the same budget.
 */
static void period_end(struct budget *b, double now)
{
	double p, c, on = b->traced - b->ptraced, unit;
	bool measured = b->pstart >= 0;

	if (!sample(b, &p, &c))
		return;
	if (measured && on > 0 && c - b->pcpu >= BUDGET_MIN_CPU) {
		unit = ratio(p - b->pprobe, c - b->pcpu) * (now - b->pstart) / on;
		b->unit = b->unit < 0 ? unit : (b->unit + unit) / 2;
	}
	b->pstart = now;
	b->pprobe = p;
	b->pcpu = c;
	b->ptraced = b->traced;
}

static double duty_for(const struct budget *b)
{
	double d = BUDGET_AIM * b->limit / (b->unit > 0 ? b->unit : b->full);

	return d < BUDGET_MIN_DUTY ? BUDGET_MIN_DUTY : d > 1 ? 1 : d;
}

/*
 * A pause of random length around the rest of a period: a race on a timer
 * (every 3 s, say) must not keep falling in the pauses.
 */
static double pause_s(struct budget *b)
{
	return (1 - b->duty) * b->period * (0.5 + erand48(b->seed));
}

static const char *pct(double share, char *buf, size_t len)
{
	snprintf(buf, len, share < 0.1 ? "%.1f%%" : "%.0f%%", share * 100);
	return buf;
}

static void say(const struct budget *b, const char *what)
{
	char full[16];

	fprintf(stderr, "gomapwatch: %s (full tracing costs ~%s of the target's CPU, budget %g%%): ",
		what, pct(b->full, full, sizeof(full)), b->limit * 100);
	if (b->state == BUDGET_FULL)
		fprintf(stderr, "tracing in full\n");
	else
		fprintf(stderr, "tracing %.2g s of every %g s%s\n", b->duty * b->period, b->period,
			b->duty == BUDGET_MIN_DUTY ? ", the least it does" : "");
}

void budget__init(struct budget *b, double limit_pct, const struct budget_ops *ops, double now)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit_pct / 100;
	b->period = BUDGET_PERIOD;
	b->grace = BUDGET_GRACE;
	b->ops = ops;
	b->state = BUDGET_FULL;
	b->t0 = b->on_since = now;
	b->next = now + BUDGET_FIRST;
	b->duty = 1;
	b->full = b->unit = b->pstart = -1;
	b->windows = 1;
	memcpy(b->seed, &now, sizeof(b->seed));
	if (b->limit)
		mark(b);
}

void budget__env(struct budget *b, const char *val)
{
	double period, grace;
	int n;

	if (!val)
		return;
	n = sscanf(val, "%lf,%lf", &period, &grace);
	if (n >= 1 && period > 0)
		b->period = period;
	if (n == 2 && grace >= 0)
		b->grace = grace;
}

double budget__wait(const struct budget *b, double now)
{
	if (!b->limit)
		return 86400;
	return b->next > now ? b->next - now : 0;
}

/* Entries first: no write can be recorded while its way out is going. */
static void entries_off(struct budget *b, double now)
{
	b->ops->entries_off(b->ops->ctx);
	b->traced += now - b->on_since;
	b->state = BUDGET_GRACE_WAIT;
	b->next = now + b->grace;
}

static void exits_off(struct budget *b, double now)
{
	b->ops->exits_off(b->ops->ctx);
	b->state = BUDGET_OFF;
	b->next = b->off_until > now ? b->off_until : now;
}

/*
 * Tracing in full is checked every second, so that a load that makes it
 * costly is met soon. Over budget: this window ends, the pause takes the
 * rest of a period.
 */
static void full_check(struct budget *b, double now)
{
	measure(b);
	if (b->full < 0 || b->full <= b->limit) {
		b->next = now + BUDGET_CHECK;
		return;
	}
	b->sampled = true;
	b->unit = b->pstart = -1;
	b->duty = duty_for(b);
	b->state = BUDGET_ON;
	say(b, "over budget");
	b->off_until = now + pause_s(b);
	entries_off(b, now);
}

static int resume(struct budget *b, double now)
{
	bool back = b->full <= b->limit * BUDGET_BACK;
	double was = b->duty;
	int err;

	err = b->ops->resume(b->ops->ctx);
	if (err)
		return err;
	b->windows++;
	b->on_since = now;
	mark(b);
	period_end(b, now);
	if (back) {
		b->state = BUDGET_FULL;
		b->duty = 1;
		b->next = now + BUDGET_CHECK;
		say(b, "within budget");
		return 0;
	}
	b->state = BUDGET_ON;
	b->duty = duty_for(b);
	b->next = now + b->duty * b->period;
	b->off_until = b->next + pause_s(b);
	if (b->verbose && (b->duty > was * 1.2 || b->duty < was / 1.2))
		say(b, "new estimate");
	return 0;
}

int budget__step(struct budget *b, double now)
{
	if (!b->limit || now < b->next)
		return 0;
	switch (b->state) {
	case BUDGET_FULL:
		full_check(b, now);
		break;
	case BUDGET_ON:
		measure(b);
		entries_off(b, now);
		break;
	case BUDGET_GRACE_WAIT:
		exits_off(b, now);
		break;
	case BUDGET_OFF:
		return resume(b, now);
	}
	return 0;
}

void budget__end(struct budget *b, double now, struct budget_result *r)
{
	double traced = b->traced, p, c;

	if (b->state == BUDGET_FULL || b->state == BUDGET_ON)
		traced += now - b->on_since;
	memset(r, 0, sizeof(*r));
	r->sampled = b->sampled;
	r->windows = b->windows;
	r->duty = now > b->t0 && b->sampled ? traced / (now - b->t0) : 1;
	r->full = b->full;
	r->overhead = -1;
	if (!b->limit)
		return;
	sample(b, &p, &c);
	if (b->have_last && b->cpu_last - b->cpu_first >= BUDGET_MIN_CPU)
		r->overhead = ratio(b->probe_last - b->probe_first, b->cpu_last - b->cpu_first);
}
