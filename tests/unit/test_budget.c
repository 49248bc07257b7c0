// SPDX-License-Identifier: GPL-2.0
/*
 * --max-overhead's windows (user/budget.c) against a simulated target: it
 * works `load` CPU seconds a second, and while the probes are attached
 * they add `cost` times that, charged to it as the kernel charges them.
 * A saturated one (sat) has one CPU second a second whatever happens: the
 * probes take their share of it from its own work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "budget.h"

struct sim {
	double now, load, cost;
	bool sat;
	double probe_s, cpu_s, own_s;
	bool entries, exits, gone;
	int entries_off, exits_off, resumes;
	int fail_resume;
	const char *order_err;	/* set when the ways out go before the ways in */
};

static bool sim_sample(void *ctx, double *probe_s, double *cpu_s)
{
	struct sim *s = ctx;

	*probe_s = s->probe_s;
	*cpu_s = s->cpu_s;
	return !s->gone;
}

static void sim_entries_off(void *ctx)
{
	struct sim *s = ctx;

	s->entries = false;
	s->entries_off++;
}

static void sim_exits_off(void *ctx)
{
	struct sim *s = ctx;

	if (s->entries)
		s->order_err = "exits detached while the entries are on";
	s->exits = false;
	s->exits_off++;
}

static int sim_resume(void *ctx)
{
	struct sim *s = ctx;

	if (s->fail_resume)
		return -1;
	s->exits = s->entries = true;
	s->resumes++;
	return 0;
}

static const struct budget_ops ops = {
	.sample = sim_sample, .entries_off = sim_entries_off,
	.exits_off = sim_exits_off, .resume = sim_resume,
};

/* Run the loop for secs in 10 ms steps, as the main loop would. */
static void run(struct budget *b, struct sim *s, double secs)
{
	for (double end = s->now + secs; s->now < end; s->now += 0.01) {
		double own = s->load * 0.01, probe = s->entries ? own * s->cost : 0;

		if (s->sat && s->entries) {
			own = 0.01 / (1 + s->cost);
			probe = 0.01 - own;
		}
		s->probe_s += probe;
		s->cpu_s += own + probe;
		s->own_s += own;
		assert_int_equal(budget__step(b, s->now), 0);
	}
}

static void start(struct budget *b, struct sim *s, double pct)
{
	struct budget_ops *o = test_malloc(sizeof(*o));

	*o = ops;
	o->ctx = s;
	s->entries = s->exits = true;
	budget__init(b, pct, o, s->now);
}

static void stop(struct budget *b, struct sim *s, struct budget_result *r)
{
	budget__end(b, s->now, r);
	test_free((void *)b->ops);
}

static void under_budget_traces_in_full(void **state)
{
	struct sim s = { .load = 1, .cost = 0.03 };
	struct budget_result r;
	struct budget b;

	start(&b, &s, 5);
	run(&b, &s, 30);
	stop(&b, &s, &r);
	assert_int_equal(s.entries_off, 0);
	assert_false(r.sampled);
	assert_int_equal(r.windows, 1);
	assert_true(r.duty == 1);
	assert_true(r.overhead > 0.029 && r.overhead < 0.031);
}

/* The probes double what the target uses: 100% of its own work, not 50%. */
static void cost_is_against_the_targets_own_work(void **state)
{
	struct sim s = { .load = 1, .cost = 1 };
	struct budget_result r;
	struct budget b;

	start(&b, &s, 100);
	run(&b, &s, 5);
	stop(&b, &s, &r);
	assert_false(r.sampled);
	assert_true(r.full > 0.99 && r.full < 1.01);
}

static void over_budget_samples_at_its_share(void **state)
{
	struct sim s = { .load = 1, .cost = 0.5 };
	struct budget_result r;
	struct budget b;

	start(&b, &s, 5);
	run(&b, &s, 200.5);
	assert_null(s.order_err);
	assert_true(b.sampled);
	/* what fits 90% of 5% at 50%: 9% of each period */
	assert_true(b.duty > 0.089 && b.duty < 0.091);
	stop(&b, &s, &r);
	assert_true(r.sampled);
	assert_int_equal(s.resumes + 1, r.windows);
	assert_true(r.windows >= 15 && r.windows <= 25);
	assert_true(s.entries_off == s.exits_off || s.entries_off == s.exits_off + 1);
	assert_true(r.duty > 0.07 && r.duty < 0.11);
	assert_true(r.overhead > 0.035 && r.overhead < 0.055);
	assert_true(r.full > 0.49 && r.full < 0.51);
}

/*
 * A target that uses all the CPU it gets loses to the probes only what
 * they take while they run: it is traced longer for the same budget, and
 * what it gets done is what the budget allows.
 */
static void saturated_target_is_traced_longer(void **state)
{
	struct sim s = { .load = 1, .cost = 4, .sat = true };
	struct budget_result r;
	struct budget b;
	double own;

	start(&b, &s, 5);
	run(&b, &s, 60);
	own = s.own_s;
	run(&b, &s, 200);
	stop(&b, &s, &r);
	/* 4.5% at 4x in full would be 1.1% of the time; its probes take 80% */
	assert_true(b.duty > 0.05 && b.duty < 0.06);
	assert_true((s.own_s - own) / 200 > 0.95);
	assert_true(r.overhead < 0.05);
}

/* However costly: at least BUDGET_MIN_DUTY of every period is traced. */
static void duty_has_a_floor(void **state)
{
	struct sim s = { .load = 1, .cost = 20 };
	struct budget_result r;
	struct budget b;

	start(&b, &s, 1);
	run(&b, &s, 40);
	assert_true(b.duty == BUDGET_MIN_DUTY);
	stop(&b, &s, &r);
	assert_true(r.windows >= 4);
}

static void back_to_full_when_cheap_again(void **state)
{
	struct sim s = { .load = 1, .cost = 0.5 };
	struct budget_result r;
	struct budget b;

	start(&b, &s, 5);
	run(&b, &s, 30);
	assert_true(b.state != BUDGET_FULL);
	s.cost = 0.02;
	run(&b, &s, 30);
	assert_int_equal(b.state, BUDGET_FULL);
	assert_true(s.entries && s.exits);
	stop(&b, &s, &r);
	assert_true(r.sampled);
}

/* Between a budget and its half: no flapping back and forth. */
static void a_cost_near_the_budget_keeps_sampling(void **state)
{
	struct sim s = { .load = 1, .cost = 0.5 };
	struct budget_result r;
	struct budget b;

	start(&b, &s, 5);
	run(&b, &s, 12);
	s.cost = 0.045;
	run(&b, &s, 40);
	assert_int_equal(b.state == BUDGET_FULL, 0);
	stop(&b, &s, &r);
}

/*
 * A target that hardly runs gives no estimate until what it ran adds up
 * to BUDGET_MIN_CPU: a few ticks of its CPU clock say nothing.
 */
static void idle_target_is_judged_on_enough(void **state)
{
	struct sim s = { .load = 0.001, .cost = 5 };
	struct budget_result r;
	struct budget b;

	start(&b, &s, 5);
	run(&b, &s, 5);
	assert_false(b.sampled);
	assert_true(b.full < 0);
	run(&b, &s, 10);
	assert_true(b.sampled);
	stop(&b, &s, &r);
	assert_true(r.full > 4.9 && r.full < 5.1);
}

static void failed_resume_ends_tracing(void **state)
{
	struct sim s = { .load = 1, .cost = 0.5 };
	struct budget_result r;
	struct budget b;
	int err = 0;

	start(&b, &s, 5);
	run(&b, &s, 2);
	s.fail_resume = 1;
	for (; s.now < 30 && !err; s.now += 0.01)
		err = budget__step(&b, s.now);
	assert_true(err < 0);
	stop(&b, &s, &r);
}

static void no_budget_does_nothing(void **state)
{
	struct sim s = { .load = 1, .cost = 5 };
	struct budget_result r;
	struct budget b;

	start(&b, &s, 0);
	assert_true(budget__wait(&b, 0) > 3600);
	run(&b, &s, 20);
	stop(&b, &s, &r);
	assert_int_equal(s.entries_off, 0);
	assert_true(r.duty == 1 && r.windows == 1 && r.overhead < 0);
}

static void windows_from_the_environment(void **state)
{
	struct sim s = { .load = 1, .cost = 0.5 };
	struct budget_result r;
	struct budget b;

	start(&b, &s, 5);
	budget__env(&b, "2,0");
	assert_true(b.period == 2 && b.grace == 0);
	budget__env(&b, "junk");
	assert_true(b.period == 2);
	run(&b, &s, 20.5);
	stop(&b, &s, &r);
	assert_true(r.windows >= 10);
}

static void cost_of_hits(void **state)
{
	struct trap_cost c = { .emulated_ns = 1000, .stepped_ns = 10000 };
	struct probe_hits h = { .emulated = 1000000, .stepped = 100, .run_ns = 500000000 };

	assert_true(budget__cost(&c, &h) > 1.50099 && budget__cost(&c, &h) < 1.50101);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(under_budget_traces_in_full),
		cmocka_unit_test(cost_is_against_the_targets_own_work),
		cmocka_unit_test(over_budget_samples_at_its_share),
		cmocka_unit_test(saturated_target_is_traced_longer),
		cmocka_unit_test(duty_has_a_floor),
		cmocka_unit_test(back_to_full_when_cheap_again),
		cmocka_unit_test(a_cost_near_the_budget_keeps_sampling),
		cmocka_unit_test(idle_target_is_judged_on_enough),
		cmocka_unit_test(failed_resume_ends_tracing),
		cmocka_unit_test(no_budget_does_nothing),
		cmocka_unit_test(windows_from_the_environment),
		cmocka_unit_test(cost_of_hits),
	};

	return cmocka_run_group_tests_name("budget", tests, NULL, NULL);
}
