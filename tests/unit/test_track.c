// SPDX-License-Identifier: GPL-2.0
/*
 * The detection rule (bpf/track.h) fed synthetic event sequences through an
 * in-memory stand-in for the two BPF hash tables, with the same semantics:
 * a claim inserts only if absent, a lookup returns the element itself.
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
		struct gmw_inflight rec;
	} w[NSLOT];
	struct {
		bool used;
		__u64 g, map;
	} o[NSLOT];
	struct gmw_inflight recent;	/* a one-slot cache of recent exits */
	bool full;		/* simulate a table with no room */
	bool owners_full;	/* ... or an owners table with none */
	int vanish;		/* lookups that find nothing, as if the holder just left */
	__u64 reused_for;	/* lookups return an element reused for this map */
};

static long t_claim(struct table *t, const struct gmw_inflight *rec);
static struct gmw_inflight *t_lookup(struct table *t, __u64 map);
static void t_delete(struct table *t, __u64 map);
static const __u64 *t_owner(struct table *t, __u64 g);
static int t_owner_set(struct table *t, __u64 g, __u64 map);
static void t_owner_del(struct table *t, __u64 g);

#define TRACK_RECENT_PUT(st, rec)	(((struct table *)(st))->recent = *(rec))
#define TRACK_RECENT_GET(st, m)		(&((struct table *)(st))->recent)
#define TRACK_CLAIM(st, m, rec)		t_claim(st, rec)
#define TRACK_LOOKUP(st, m)		t_lookup(st, m)
#define TRACK_DELETE(st, m)		t_delete(st, m)
#define TRACK_OWNER_SET(st, g, m)	t_owner_set(st, g, m)
#define TRACK_OWNER_GET(st, g)		t_owner(st, g)
#define TRACK_OWNER_DEL(st, g)		t_owner_del(st, g)
#include "track.h"

static int slot(struct table *t, __u64 map)
{
	for (int i = 0; i < NSLOT; i++)
		if (t->w[i].used && t->w[i].rec.map == map)
			return i;
	return -1;
}

static long t_claim(struct table *t, const struct gmw_inflight *rec)
{
	if (slot(t, rec->map) >= 0)
		return -TRACK_EEXIST;
	for (int i = 0; i < NSLOT && !t->full; i++)
		if (!t->w[i].used) {
			t->w[i].used = true;
			t->w[i].rec = *rec;
			return 0;
		}
	return -7;
}

static struct gmw_inflight *t_lookup(struct table *t, __u64 map)
{
	static struct gmw_inflight reused;
	int i = slot(t, map);

	if (t->vanish > 0 && t->vanish--)
		return NULL;
	if (i >= 0 && t->reused_for) {
		reused = t->w[i].rec;
		reused.map = t->reused_for;
		return &reused;
	}
	return i < 0 ? NULL : &t->w[i].rec;
}

static void t_delete(struct table *t, __u64 map)
{
	int i = slot(t, map);

	if (i >= 0)
		t->w[i].used = false;
}

static const __u64 *t_owner(struct table *t, __u64 g)
{
	for (int i = 0; i < NSLOT; i++)
		if (t->o[i].used && t->o[i].g == g)
			return &t->o[i].map;
	return NULL;
}

static int t_owner_set(struct table *t, __u64 g, __u64 map)
{
	for (int i = 0; i < NSLOT; i++)
		if (t->o[i].used && t->o[i].g == g) {
			t->o[i].map = map;
			return 0;
		}
	for (int i = 0; i < NSLOT && !t->owners_full; i++)
		if (!t->o[i].used) {
			t->o[i].used = true;
			t->o[i].g = g;
			t->o[i].map = map;
			return 0;
		}
	return -7;
}

static void t_owner_del(struct table *t, __u64 g)
{
	for (int i = 0; i < NSLOT; i++)
		if (t->o[i].used && t->o[i].g == g)
			t->o[i].used = false;
}

#define STALE 1000000000ULL	/* 1 s, as gomapwatch's default */
#define M1 0xc000010000ULL
#define M2 0xc000020000ULL
#define PID 4242
#define G(n) (0xc000100000ULL + (n) * 0x1000)	/* goroutine n's runtime.g */

static int enter_opts(struct table *t, __u64 map, int g, __u64 ts, bool flag, bool owner,
		      struct gmw_inflight *other)
{
	struct gmw_inflight me = { .map = map, .g = G(g), .goid = g, .ts = ts, .pid = PID };

	return track__write_enter(t, &me, STALE, flag, owner, other);
}

static int enter(struct table *t, __u64 map, int g, __u64 ts, struct gmw_inflight *other)
{
	return enter_opts(t, map, g, ts, false, false, other);
}

static int leave(struct table *t, __u64 map, int g)
{
	return track__release_map(t, map, PID, G(g));
}

static bool held(struct table *t, __u64 map)
{
	return slot(t, map) >= 0;
}

static void overlap_is_conflict(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	/* the second to enter cannot claim: exactly one of two decides "entered" */
	assert_int_equal(enter(&t, M1, 9, 200, &other), TRACK_CONFLICT);
	assert_int_equal(other.goid, 7);
	assert_int_equal(other.ts, 100);
	/* the first writer's exit still finds its own record; 9 never held one */
	assert_int_equal(leave(&t, M1, 9), 0);
	assert_int_equal(leave(&t, M1, 7), 1);
	assert_false(held(&t, M1));
}

static void sequential_writes_never_conflict(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	/* a mutex's worth of strictly alternating writers, many times over */
	for (__u64 i = 0; i < 1000; i++) {
		int g = 1 + i % 5;

		assert_int_equal(enter(&t, M1, g, i * 10, &other), TRACK_ENTERED);
		assert_int_equal(leave(&t, M1, g), 1);
	}
	assert_false(held(&t, M1));
}

static void exits_by_goroutine_never_conflict(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	/* RET exits that cannot name the map find it through the owner record */
	for (__u64 i = 0; i < 1000; i++) {
		int g = 1 + i % 5;

		assert_int_equal(enter_opts(&t, M1 + (i % 3) * 64, g, i * 10, false, true, &other),
				 TRACK_ENTERED);
		assert_int_equal(track__release_owned(&t, PID, G(g)), 1);
	}
	assert_false(held(&t, M1));
	assert_null(t_owner(&t, G(1)));
}

static void past_exit_with_flag_set_is_still_inside(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	/* 7 passed its exit probe but has not cleared the flag when 9 enters */
	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(leave(&t, M1, 7), 1);
	assert_false(held(&t, M1));
	assert_int_equal(enter_opts(&t, M1, 9, 160, true, false, &other), TRACK_CONFLICT);
	assert_int_equal(other.goid, 7);
	assert_int_equal(leave(&t, M1, 9), 1);
	assert_int_equal(track__read_check(&t, M1, PID, G(8), 170, STALE, true, &other),
			 TRACK_CONFLICT);
	assert_int_equal(other.goid, 9);
	/* with the flag clear, the same order is an ordinary handover */
	assert_int_equal(track__read_check(&t, M1, PID, G(8), 170, STALE, false, &other),
			 TRACK_CLEAR);
	assert_int_equal(enter(&t, M1, 9, 180, &other), TRACK_ENTERED);
	/* an exit long ago names nobody: the flag's owner was never seen */
	assert_int_equal(leave(&t, M1, 9), 1);
	assert_int_equal(enter_opts(&t, M1, 7, 180 + STALE, true, false, &other),
			 TRACK_CONFLICT_UNSEEN);
	/* nor does another map's exit in the same slot */
	assert_int_equal(track__read_check(&t, M2, PID, G(8), 180 + STALE, STALE, true, &other),
			 TRACK_CONFLICT_UNSEEN);
}

static void different_maps_do_not_conflict(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(enter(&t, M2, 9, 150, &other), TRACK_ENTERED);
	assert_int_equal(leave(&t, M2, 9), 1);
	assert_int_equal(leave(&t, M1, 7), 1);
}

static void reentry_after_stack_growth(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	/* morestack restarts the function: its entry probe fires again */
	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(enter(&t, M1, 7, 180, &other), TRACK_REENTERED);
	assert_int_equal(t_lookup(&t, M1)->ts, 100);
	assert_int_equal(leave(&t, M1, 7), 1);
	assert_int_equal(enter(&t, M1, 9, 300, &other), TRACK_ENTERED);
}

static void exit_never_seen_ages_out(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	/* within the window it is still a conflict ... */
	assert_int_equal(enter(&t, M1, 9, 100 + STALE / 2, &other), TRACK_CONFLICT);
	/* ... after it, the record is replaced, not blamed */
	assert_int_equal(enter(&t, M1, 9, 200 + STALE, &other), TRACK_AGED);
	assert_int_equal(t_lookup(&t, M1)->goid, 9);
	/* the lost goroutine's late exit does not release 9's record */
	assert_int_equal(leave(&t, M1, 7), 0);
	assert_true(held(&t, M1));
	assert_int_equal(leave(&t, M1, 9), 1);
}

static void panic_releases_the_record(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	assert_int_equal(enter_opts(&t, M1, 7, 100, false, true, &other), TRACK_ENTERED);
	/* gopanic on goroutine 7: the write was abandoned */
	assert_int_equal(track__release_owned(&t, PID, G(7)), 1);
	assert_int_equal(enter(&t, M1, 9, 200, &other), TRACK_ENTERED);
	/* a panic of a goroutine that writes nothing releases nothing */
	assert_int_equal(track__release_owned(&t, PID, G(8)), 0);
	assert_true(held(&t, M1));
}

static void exit_of_a_write_seen_only_half(void **state)
{
	struct table t = {};

	/* attached mid-call: an exit with no entry is ignored */
	assert_int_equal(leave(&t, M1, 42), 0);
	assert_int_equal(track__release_owned(&t, PID, G(42)), 0);
}

static void read_checks_only(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	assert_int_equal(track__read_check(&t, M1, PID, G(9), 50, STALE, false, &other),
			 TRACK_CLEAR);
	assert_false(held(&t, M1));
	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(track__read_check(&t, M1, PID, G(9), 150, STALE, false, &other),
			 TRACK_CONFLICT);
	assert_int_equal(other.goid, 7);
	/* a goroutine reading the map it is itself writing is not a conflict */
	assert_int_equal(track__read_check(&t, M1, PID, G(7), 150, STALE, false, &other),
			 TRACK_CLEAR);
	/* nor is a record whose exit never came */
	assert_int_equal(track__read_check(&t, M1, PID, G(9), 200 + STALE, STALE, false, &other),
			 TRACK_CLEAR);
}

static void flag_set_with_no_record_is_unseen_writer(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	/* a write that began before attach, or one whose record was lost */
	assert_int_equal(enter_opts(&t, M1, 9, 100, true, false, &other), TRACK_CONFLICT_UNSEEN);
	/* the one entering is recorded all the same, and leaves */
	assert_int_equal(leave(&t, M1, 9), 1);
	assert_int_equal(track__read_check(&t, M2, PID, G(9), 100, STALE, true, &other),
			 TRACK_CONFLICT_UNSEEN);
}

static void holder_that_just_left_is_no_conflict(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	/* 7's record is there at the claim and gone at the lookup: claim again */
	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	t.vanish = 1;
	assert_int_equal(enter(&t, M1, 9, 200, &other), TRACK_CONFLICT);
	assert_int_equal(leave(&t, M1, 7), 1);
	t.vanish = 1;
	assert_int_equal(enter(&t, M1, 9, 300, &other), TRACK_ENTERED);
}

static void element_reused_for_another_map_accuses_nobody(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	/* the element found holds another map's record: no verdict from it */
	t.reused_for = M2;
	assert_int_equal(enter(&t, M1, 9, 200, &other), TRACK_FULL);
	assert_int_equal(track__read_check(&t, M1, PID, G(9), 200, STALE, false, &other),
			 TRACK_CLEAR);
	/* and its owner's release is not fooled either */
	assert_int_equal(leave(&t, M1, 7), 0);
}

static void other_process_same_address(void **state)
{
	struct table t = {};
	struct gmw_inflight other = {};

	/* with -b two processes share the table; the key carries the pid */
	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_ENTERED);
	assert_int_equal(track__read_check(&t, M1, PID + 1, G(9), 150, STALE, false, &other),
			 TRACK_CLEAR);
	assert_int_equal(track__release_map(&t, M1, PID + 1, G(7)), 0);
}

static void full_owners_table_never_leaves_a_writer_inside(void **state)
{
	struct table t = { .owners_full = true };
	struct gmw_inflight other = {};

	/* 7's exit could never find its record: it must not accuse 9 */
	assert_int_equal(enter_opts(&t, M1, 7, 100, false, true, &other), TRACK_FULL);
	assert_false(held(&t, M1));
	assert_int_equal(enter_opts(&t, M1, 9, 200, false, true, &other), TRACK_FULL);
	assert_false(held(&t, M1));
}

static void full_table_is_reported(void **state)
{
	struct table t = { .full = true };
	struct gmw_inflight other = {};

	assert_int_equal(enter(&t, M1, 7, 100, &other), TRACK_FULL);
	assert_false(held(&t, M1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overlap_is_conflict),
		cmocka_unit_test(sequential_writes_never_conflict),
		cmocka_unit_test(exits_by_goroutine_never_conflict),
		cmocka_unit_test(past_exit_with_flag_set_is_still_inside),
		cmocka_unit_test(different_maps_do_not_conflict),
		cmocka_unit_test(reentry_after_stack_growth),
		cmocka_unit_test(exit_never_seen_ages_out),
		cmocka_unit_test(panic_releases_the_record),
		cmocka_unit_test(exit_of_a_write_seen_only_half),
		cmocka_unit_test(read_checks_only),
		cmocka_unit_test(flag_set_with_no_record_is_unseen_writer),
		cmocka_unit_test(holder_that_just_left_is_no_conflict),
		cmocka_unit_test(element_reused_for_another_map_accuses_nobody),
		cmocka_unit_test(other_process_same_address),
		cmocka_unit_test(full_owners_table_never_leaves_a_writer_inside),
		cmocka_unit_test(full_table_is_reported),
	};

	return cmocka_run_group_tests_name("track", tests, NULL, NULL);
}
