/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which goroutine is inside a write on which map: the detection rule, shared
 * by the BPF programs and the unit tests so both run the same code.
 *
 * The table holds one record per map being written: a write's entry probe
 * claims its map (insert if absent, or take the place of a finished
 * write), its exit marks the record exited (only the goroutine that holds
 * it), and the next write of the map replaces it. A goroutine entering any
 * operation on a map held by another goroutine that has not exited, or has
 * exited but not yet cleared the write flag, is a conflict.
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
 *  2. So A's release of M (a store in its record, in the kernel on A's
 *     thread, before the trap returns) happens before A clears the flag, which
 *     happens before A releases L, before B acquires L, before B's entry
 *     probe claims M. Across CPUs and threads the chain holds because each
 *     link is a release/acquire pair (L's atomics, the hash bucket lock,
 *     the uprobe trap being a serializing instruction), whatever thread A
 *     migrated to between its entry and its exit (state is keyed by
 *     goroutine and map, never by thread or CPU).
 *  3. Hence when B claims M, A's record is exited and the flag clear: B
 *     takes its place. B is accused only by a record not exited (its owner
 *     has not reached its release: it runs inside its write while B runs
 *     inside its own, a real race), or an exited one with the flag still
 *     set (its owner is between its exit probe and the flag clear).
 *  4. The write flag read at B's entry is cleared by A before A releases
 *     L (point 2), so correctly synchronized code never sees it set either.
 *  5. State lives in hash entries and on the BPF stack only, never in
 *     per-CPU scratch (a preempted uprobe handler could find it
 *     overwritten). A record copied out of an entry is checked to be for
 *     this map and process before it accuses anyone: hash elements can be
 *     reused for another key as soon as they are deleted.
 *  6. Ownership is the goroutine's g (R14 / R28), the same at entry, after
 *     morestack restarts the function (a re-entry, not a second writer),
 *     and at every exit; a release marks only its own record. Storing into
 *     an element that was meanwhile reused for another key can only mark
 *     another writer exited: a missed conflict, never a false one.
 * What can still go wrong is a missed release (a path the planner could
 * not see): such a record ages out after stale_ns and is counted, so the
 * summary shows it instead of it accusing writers forever. Exited records
 * of maps not written again are deleted by the loader (tracer__purge).
 *
 * The includer provides the tables (st is passed through untouched):
 *   TRACK_CLAIM(st, map, rec)    -> 0; -EEXIST when held; other < 0: full
 *   TRACK_LOOKUP(st, map)        -> struct gmw_inflight * or NULL
 *   TRACK_DELETE(st, map)
 *   TRACK_OWNER_SET(st, g, map)  -> 0, or < 0 when the table is full
 *   TRACK_OWNER_GET(st, g)       -> const __u64 * (map) or NULL
 *   TRACK_OWNER_DEL(st, g)
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

/* Does the holder's record accuse goroutine g, which found the flag as flag_set? */
static __always_inline bool track__accuses(const struct gmw_inflight *in, __u64 g, __u64 now,
					   __u64 stale_ns, bool flag_set)
{
	if (in->g == g)
		return false;
	if (in->exited)
		return flag_set;	/* past its exit probe, flag not cleared yet */
	return !track__stale(in, now, stale_ns);
}

/*
 * Goroutine me->g enters a write on me->map. On TRACK_CONFLICT other holds
 * the record of the goroutine inside.
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
		} else if (other->g == me->g && !other->exited) {
			return TRACK_REENTERED;
		} else if (track__accuses(other, me->g, me->ts, stale_ns, flag_set)) {
			return TRACK_CONFLICT;
		} else {
			/* a finished write, or one whose exit never came: take its place */
			if (!other->exited && other->g != me->g)
				v = TRACK_AGED;
			TRACK_DELETE(st, me->map);
			err = TRACK_CLAIM(st, me->map, me);
		}
	}
	/* two took the place at once: the one that lost was racing the winner */
	if (err == -TRACK_EEXIST && track__holder(st, me->map, me->pid, other) &&
	    track__accuses(other, me->g, me->ts, stale_ns, flag_set))
		return TRACK_CONFLICT;
	if (err)
		return TRACK_FULL;
	if (owner && TRACK_OWNER_SET(st, me->g, me->map)) {
		/* an exit that looks the map up by goroutine would miss it */
		TRACK_DELETE(st, me->map);
		return TRACK_FULL;
	}
	return flag_set ? TRACK_CONFLICT_UNSEEN : v;
}

/* Goroutine g leaves its write on map: mark the record exited if it is g's. 1 if so. */
static __always_inline int track__release_map(void *st, __u64 map, __u32 pid, __u64 g)
{
	struct gmw_inflight *in = TRACK_LOOKUP(st, map);

	if (!in || in->g != g || in->map != map || in->pid != pid || in->exited)
		return 0;
	in->exited = 1;
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
	if (track__holder(st, map, pid, other) &&
	    track__accuses(other, g, now, stale_ns, flag_set))
		return TRACK_CONFLICT;
	/* the flag set and nobody to name: a write never seen entering */
	return flag_set ? TRACK_CONFLICT_UNSEEN : TRACK_CLEAR;
}

#endif
