// SPDX-License-Identifier: GPL-2.0
/*
 * The detection rule (bpf/track.h) fed synthetic event sequences through an
 * in-memory stand-in for the two BPF hash tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <stdbool.h>
#include <linux/types.h>
#include "gomapwatch.h"

#define NSLOT 64

struct table {
	struct {
		bool used;
		__u64 map;
		struct gmw_writer side;
	} w[NSLOT];
	struct {
		bool used;
		__u64 goid, map;
	} o[NSLOT];
	bool full;		/* simulate a table with no room */
	bool owners_full;	/* ... or an owners table with none */
};

static struct gmw_writer *t_lookup(struct table *t, __u64 map);
static int t_insert(struct table *t, __u64 map, const struct gmw_writer *s, bool excl);
static __u64 *t_owner(struct table *t, __u64 goid);
static int t_owner_set(struct table *t, __u64 goid, __u64 map);
static void t_owner_del(struct table *t, __u64 goid);

#define TRACK_LOOKUP(st, m)		t_lookup(st, m)
#define TRACK_INSERT(st, m, s, excl)	t_insert(st, m, s, excl)
#define TRACK_OWNER_GET(st, g)		t_owner(st, g)
#define TRACK_OWNER_SET(st, g, m)	t_owner_set(st, g, m)
#define TRACK_OWNER_DEL(st, g)		t_owner_del(st, g)
#include "track.h"

static struct gmw_writer *t_lookup(struct table *t, __u64 map)
{
	for (int i = 0; i < NSLOT; i++)
		if (t->w[i].used && t->w[i].map == map)
			return &t->w[i].side;
	return NULL;
}

static int t_insert(struct table *t, __u64 map, const struct gmw_writer *s, bool excl)
{
	struct gmw_writer *in = t_lookup(t, map);

	if (in) {
		if (excl)
			return -17;
		*in = *s;
		return 0;
	}
	for (int i = 0; i < NSLOT && !t->full; i++)
		if (!t->w[i].used) {
			t->w[i].used = true;
			t->w[i].map = map;
			t->w[i].side = *s;
			return 0;
		}
	return -7;
}

static __u64 *t_owner(struct table *t, __u64 goid)
{
	for (int i = 0; i < NSLOT; i++)
		if (t->o[i].used && t->o[i].goid == goid)
			return &t->o[i].map;
	return NULL;
}

static int t_owner_set(struct table *t, __u64 goid, __u64 map)
{
	__u64 *m = t_owner(t, goid);

	if (m) {
		*m = map;
		return 0;
	}
	for (int i = 0; i < NSLOT && !t->owners_full; i++)
		if (!t->o[i].used) {
			t->o[i].used = true;
			t->o[i].goid = goid;
			t->o[i].map = map;
			return 0;
		}
	return -7;
}

static void t_owner_del(struct table *t, __u64 goid)
{
	for (int i = 0; i < NSLOT; i++)
		if (t->o[i].used && t->o[i].goid == goid)
			t->o[i].used = false;
}

#define STALE 1000000000ULL	/* 1 s, as gomapwatch's default */
#define M1 0xc000010000ULL
#define M2 0xc000020000ULL

static int enter_flag(struct table *t, __u64 map, __u64 goid, __u64 ts, bool flag,
		      struct gmw_side *other)
{
	struct gmw_writer me = { .side = { .goid = goid, .ts = ts, .op = GMW_OP_WRITE } };

	return track__write_enter(t, map, &me, STALE, flag, other);
}

static int enter(struct table *t, __u64 map, __u64 goid, __u64 ts, struct gmw_side *other)
{
	return enter_flag(t, map, goid, ts, false, other);
}

/* live: an entry whose exit has not been seen */
static bool live(struct table *t, __u64 map)
{
	struct gmw_writer *w = t_lookup(t, map);

	return w && !w->exited;
}

static void overlap_is_conflict(void **state)
{
	struct table t = {};
	struct gmw_side other = {};

	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(enter(&t, M1, 9, 200, &other), TRACK_CONFLICT);
	assert_int_equal(other.goid, 7);
	assert_int_equal(other.ts, 100);
	/* the first writer's exit still finds its own entry */
	assert_int_equal(track__release(&t, 7, 1000), 1);
	assert_false(live(&t, M1));
}

static void sequential_writes_never_conflict(void **state)
{
	struct table t = {};
	struct gmw_side other = {};

	/* a mutex's worth of strictly alternating writers, many times over */
	for (__u64 i = 0; i < 1000; i++) {
		__u64 g = 1 + i % 5;

		assert_int_equal(enter(&t, M1, g, i * 10, &other), TRACK_ENTERED);
		assert_int_equal(track__release(&t, g, i * 10 + 5), 1);
	}
	assert_false(live(&t, M1));
}

static void different_maps_do_not_conflict(void **state)
{
	struct table t = {};
	struct gmw_side other = {};

	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(enter(&t, M2, 9, 150, &other), TRACK_ENTERED);
	assert_int_equal(track__release(&t, 9, 1000), 1);
	assert_int_equal(track__release(&t, 7, 1000), 1);
}

static void reentry_after_stack_growth(void **state)
{
	struct table t = {};
	struct gmw_side other = {};

	/* morestack restarts the function: its entry probe fires again */
	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(enter(&t, M1, 7, 180, &other), TRACK_REENTERED);
	assert_int_equal(t_lookup(&t, M1)->side.ts, 100);
	assert_int_equal(track__release(&t, 7, 1000), 1);
	assert_int_equal(enter(&t, M1, 9, 300, &other), TRACK_ENTERED);
}

static void exit_never_seen_ages_out(void **state)
{
	struct table t = {};
	struct gmw_side other = {};

	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	/* within the window it is still a conflict ... */
	assert_int_equal(enter(&t, M1, 9, 100 + STALE / 2, &other), TRACK_CONFLICT);
	/* ... after it, the entry is replaced, not blamed */
	assert_int_equal(enter(&t, M1, 9, 200 + STALE, &other), TRACK_AGED);
	assert_int_equal(t_lookup(&t, M1)->side.goid, 9);
	assert_int_equal(track__release(&t, 9, 1000), 1);
	/* the lost goroutine's late exit finds nothing of its own */
	assert_int_equal(track__release(&t, 7, 1000), 0);
}

static void panic_releases_the_entry(void **state)
{
	struct table t = {};
	struct gmw_side other = {};

	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	/* gopanic on goroutine 7: the write was abandoned */
	assert_int_equal(track__release(&t, 7, 1000), 1);
	assert_int_equal(enter(&t, M1, 9, 200, &other), TRACK_ENTERED);
}

static void next_write_elsewhere_ends_the_last(void **state)
{
	struct table t = {};
	struct gmw_side other = {};

	/* goroutine 7 left M1 without an exit we saw, then writes M2 */
	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(enter(&t, M2, 7, 200, &other), TRACK_ENTERED);
	assert_false(live(&t, M1));
	assert_int_equal(enter(&t, M1, 9, 300, &other), TRACK_ENTERED);
}

static void exit_of_a_write_seen_only_half(void **state)
{
	struct table t = {};

	/* attached mid-call: an exit with no entry is ignored */
	assert_int_equal(track__release(&t, 42, 1000), 0);
}

static void read_checks_only(void **state)
{
	struct table t = {};
	struct gmw_side other = {};

	assert_int_equal(track__read_check(&t, M1, 9, 50, STALE, false, &other), TRACK_CLEAR);
	assert_false(live(&t, M1));
	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(track__read_check(&t, M1, 9, 150, STALE, false, &other), TRACK_CONFLICT);
	assert_int_equal(other.goid, 7);
	/* a goroutine reading the map it is itself writing is not a conflict */
	assert_int_equal(track__read_check(&t, M1, 7, 150, STALE, false, &other), TRACK_CLEAR);
}

static void flag_still_set_after_exit_probe(void **state)
{
	struct table t = {};
	struct gmw_side other = {};

	/* 7 passed its exit probe but has not cleared the flag when 9 enters */
	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(track__release(&t, 7, 150), 1);
	assert_int_equal(enter_flag(&t, M1, 9, 160, true, &other), TRACK_CONFLICT);
	assert_int_equal(other.goid, 7);
	/* with the flag clear, the same order is an ordinary handover */
	assert_int_equal(enter_flag(&t, M1, 9, 170, false, &other), TRACK_ENTERED);
}

static void flag_set_with_no_record_is_unseen_writer(void **state)
{
	struct table t = {};
	struct gmw_side other = {};

	/* a write that began before attach */
	assert_int_equal(enter_flag(&t, M1, 9, 100, true, &other), TRACK_CONFLICT_UNSEEN);
	assert_int_equal(track__read_check(&t, M2, 9, 100, STALE, true, &other),
			 TRACK_CONFLICT_UNSEEN);
}

static void full_owners_table_never_leaves_a_writer_inside(void **state)
{
	struct table t = { .owners_full = true };
	struct gmw_side other = {};

	/* 7's exit could never find its entry: it must not accuse 9 */
	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_FULL);
	assert_false(live(&t, M1));
	assert_int_equal(enter(&t, M1, 9, 200, &other), TRACK_FULL);
}

static void full_table_is_reported(void **state)
{
	struct table t = { .full = true };
	struct gmw_side other = {};

	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_FULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overlap_is_conflict),
		cmocka_unit_test(sequential_writes_never_conflict),
		cmocka_unit_test(different_maps_do_not_conflict),
		cmocka_unit_test(reentry_after_stack_growth),
		cmocka_unit_test(exit_never_seen_ages_out),
		cmocka_unit_test(panic_releases_the_entry),
		cmocka_unit_test(next_write_elsewhere_ends_the_last),
		cmocka_unit_test(exit_of_a_write_seen_only_half),
		cmocka_unit_test(read_checks_only),
		cmocka_unit_test(flag_still_set_after_exit_probe),
		cmocka_unit_test(flag_set_with_no_record_is_unseen_writer),
		cmocka_unit_test(full_owners_table_never_leaves_a_writer_inside),
		cmocka_unit_test(full_table_is_reported),
	};

	return cmocka_run_group_tests_name("track", tests, NULL, NULL);
}
