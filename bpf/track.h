/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which goroutine is inside a write on which map: the detection rule, shared
 * by the BPF programs and the unit tests so both run the same code.
 *
 * The table holds writes in flight only: a write's entry probe claims its
 * map (insert if absent: of two goroutines entering at once exactly one
 * succeeds), every way out of the write releases it (delete, and only by
 * the goroutine that holds it). A goroutine entering any operation on a map
 * held by another goroutine is a conflict.
 *
 * A release also leaves a copy of the record in a small cache of recent
 * exits. Between its exit probe and the instruction that clears the write
 * flag the owner is still inside; a goroutine that finds the flag set and
 * no record names the owner from there. The cache only ever names: the
 * verdict in that case comes from the flag itself.
 *
 * Why correctly synchronized code never produces one. Let A and B be two
 * goroutines whose operations on map M are ordered by a lock L (a mutex, an
 * RWMutex, a channel: any happens-before edge works the same way).
 *  1. Probes sit inside L: the entry probe is the map function's first
 *     jump, after the caller took L; every exit probe sits on the write-flag
 *     check before the flag is cleared, or on a way out of the function
 *     that passes no such check (the planner finds every one of those by
 *     walking all paths from the entry, user/plan.c). A panic inside the
 *     function releases at runtime.gopanic, before any deferred unlock runs.
 *  2. So A's release of M (a hash delete: a locked, hence ordered, kernel
 *     operation on A's thread) happens before A clears the flag, which
 *     happens before A releases L, before B acquires L, before B's entry
 *     probe claims M. Across CPUs and threads the chain holds because each
 *     link is a release/acquire pair (L's atomics, the hash bucket lock,
 *     the uprobe trap being a serializing instruction), whatever thread A
 *     migrated to between its entry and its exit (state is keyed by
 *     goroutine and map, never by thread or CPU).
 *  3. Hence when B claims M, A's record is gone: the claim succeeds. B sees
 *     a record only if its owner has not reached its release, i.e. still
 *     runs inside its write while B runs inside its own: a real race.
 *  4. The write flag read at B's entry is cleared by A before A releases
 *     L (point 2), so correctly synchronized code never sees it set either.
 *  5. State lives in hash entries and on the BPF stack only, never in
 *     per-CPU scratch (a preempted uprobe handler could find it
 *     overwritten). A record copied out of an entry is checked to be for
 *     this map and process before it accuses anyone: hash elements can be
 *     reused for another key as soon as they are deleted.
 *  6. Ownership is the goroutine's g (R14 / R28), the same at entry, after
 *     morestack restarts the function (a re-entry, not a second writer),
 *     and at every exit; a release deletes only its own record.
 *  7. A map on the writer's own stack is never recorded: escape analysis
 *     put it there because no other goroutine can reach it, and its
 *     address moves when the stack is copied mid-write, so no exit could
 *     find its record (gomapwatch.bpf.c, write_enter).
 *  8. Probes that release (exits, gopanic) are attached before any entry
 *     (user/tracer.c), and before any probe is detached the entries stop
 *     recording (gomapwatch.bpf.c, stopping): no write can be recorded
 *     while a way out of it is not probed.
 * What can still go wrong is a missed release (a path the planner could
 * not see): such a record ages out after stale_ns and is counted, so the
 * summary shows it instead of it accusing writers forever. The loader
 * deletes such records, and those of exited processes, by key: at worst
 * that drops a live record, a missed conflict, never a false one.
 *
 * The includer provides the tables (st is passed through untouched):
 *   TRACK_CLAIM(st, map, rec)    -> 0; -EEXIST when held; other < 0: full
 *   TRACK_LOOKUP(st, map)        -> const struct gmw_inflight * or NULL
 *   TRACK_DELETE(st, map)
 *   TRACK_OWNER_SET(st, g, map)  -> 0, or < 0 when the table is full
 *   TRACK_OWNER_GET(st, g)       -> const __u64 * (map) or NULL
 *   TRACK_OWNER_DEL(st, g)
 *   TRACK_RECENT_PUT(st, rec)    remember a released record (a cache: may drop)
 *   TRACK_RECENT_GET(st, map)    -> const struct gmw_inflight * or NULL
 */
#ifndef GOMAPWATCH_TRACK_H
#define GOMAPWATCH_TRACK_H

#include "gomapwatch.h"
#ifndef __VMLINUX_H__
#include <stdbool.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define TRACK_EEXIST 17
/* How recent an exit must be to name the owner of a write flag still set. */
#define TRACK_RECENT_NS 10000000ULL

enum track_verdict {
	TRACK_ENTERED,		/* recorded: this goroutine is now inside */
	TRACK_REENTERED,	/* same goroutine again: morestack restarted it */
	TRACK_CONFLICT,		/* another goroutine is inside a write */
	TRACK_CONFLICT_UNSEEN,	/* the write flag is set by a write never seen entering */
	TRACK_AGED,		/* replaced a record whose exit never came */
	TRACK_FULL,		/* the table had no room */
	TRACK_CLEAR,		/* (reads) nobody is inside */
};

/* Copy the record held for map into other; false if none (or not this map's). */
static __always_inline bool track__holder(void *st, __u64 map, __u32 pid,
					  struct gmw_inflight *other)
{
	const struct gmw_inflight *in = TRACK_LOOKUP(st, map);

	if (!in)
		return false;
	*other = *in;
	/* the element may have been reused for another key meanwhile */
	return other->map == map && other->pid == pid;
}

static __always_inline bool track__stale(const struct gmw_inflight *in, __u64 now,
					 __u64 stale_ns)
{
	return now > in->ts && now - in->ts > stale_ns;
}

/*
 * The write flag is set and no record is held: name the owner from the
 * recent exits if it left just now (it has not cleared the flag yet), else
 * it is a write never seen entering.
 */
static __always_inline int track__flag_owner(void *st, __u64 map, __u32 pid, __u64 g, __u64 now,
					     struct gmw_inflight *other)
{
	const struct gmw_inflight *r = TRACK_RECENT_GET(st, map);

	if (!r)
		return TRACK_CONFLICT_UNSEEN;
	*other = *r;
	if (other->map != map || other->pid != pid || other->g == g || now < other->ts ||
	    now - other->ts > TRACK_RECENT_NS)
		return TRACK_CONFLICT_UNSEEN;
	return TRACK_CONFLICT;
}

/*
 * Goroutine g enters a write on map (me: its record). On TRACK_CONFLICT
 * other holds the record of the goroutine inside.
 */
static __always_inline int track__write_enter(void *st, const struct gmw_inflight *me,
					      __u64 stale_ns, bool flag_set, bool owner,
					      struct gmw_inflight *other)
{
	int v = TRACK_ENTERED;
	long err;

	err = TRACK_CLAIM(st, me->map, me);
	if (err == -TRACK_EEXIST) {
		if (!track__holder(st, me->map, me->pid, other)) {
			/* left between the two looks: one more try */
			err = TRACK_CLAIM(st, me->map, me);
		} else if (other->g == me->g) {
			return TRACK_REENTERED;
		} else if (!track__stale(other, me->ts, stale_ns)) {
			return TRACK_CONFLICT;
		} else {
			/* its exit never came: take its place */
			TRACK_DELETE(st, me->map);
			err = TRACK_CLAIM(st, me->map, me);
			v = TRACK_AGED;
		}
	}
	if (err == -TRACK_EEXIST && track__holder(st, me->map, me->pid, other) &&
	    other->g != me->g)
		return TRACK_CONFLICT;
	if (err)
		return TRACK_FULL;
	if (owner && TRACK_OWNER_SET(st, me->g, me->map)) {
		/* an exit that looks the map up by goroutine would miss it */
		TRACK_DELETE(st, me->map);
		return TRACK_FULL;
	}
	if (flag_set)
		return track__flag_owner(st, me->map, me->pid, me->g, me->ts, other);
	return v;
}

/* Goroutine g leaves its write on map: delete the record if it is g's. 1 if so. */
static __always_inline int track__release_map(void *st, __u64 map, __u32 pid, __u64 g)
{
	const struct gmw_inflight *in = TRACK_LOOKUP(st, map);

	if (!in || in->g != g || in->map != map || in->pid != pid)
		return 0;
	TRACK_RECENT_PUT(st, in);
	TRACK_DELETE(st, map);
	return 1;
}

/* Goroutine g leaves the write its owner record names (a RET exit, a panic). */
static __always_inline int track__release_owned(void *st, __u32 pid, __u64 g)
{
	const __u64 *mp = TRACK_OWNER_GET(st, g);
	int held;

	if (!mp)
		return 0;
	held = track__release_map(st, *mp, pid, g);
	TRACK_OWNER_DEL(st, g);
	return held;
}

/* A read or iteration by goroutine g: only checks, never records. */
static __always_inline int track__read_check(void *st, __u64 map, __u32 pid, __u64 g,
					     __u64 now, __u64 stale_ns, bool flag_set,
					     struct gmw_inflight *other)
{
	if (track__holder(st, map, pid, other) && other->g != g &&
	    !track__stale(other, now, stale_ns))
		return TRACK_CONFLICT;
	if (flag_set)
		return track__flag_owner(st, map, pid, g, now, other);
	return TRACK_CLEAR;
}

#endif
