/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which goroutine is inside a write on which map: the detection rule, shared
 * by the BPF programs and the unit tests so both run the same code.
 *
 * A conflict is a goroutine entering an operation on a map while another
 * goroutine is between entry and exit of a write on it. Probes sit inside
 * whatever lock the caller holds, so correctly synchronized code can never
 * produce one.
 *
 * The map's write flag at entry is the second signal: set means a write is
 * in progress right now (correctly synchronized code never sees it), which
 * also covers a writer past its exit probe that has not cleared the flag yet.
 *
 * The includer provides the two tables (st is passed through untouched):
 *   TRACK_LOOKUP(st, map)              -> struct gmw_writer * or NULL
 *   TRACK_INSERT(st, map, writer, excl) -> 0, or < 0 (excl: fail if present)
 *   TRACK_OWNER_GET(st, goid)          -> __u64 * (map) or NULL
 *   TRACK_OWNER_SET(st, goid, map)      -> 0, or < 0 when the table is full
 *   TRACK_OWNER_DEL(st, goid)
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

enum track_verdict {
	TRACK_ENTERED,		/* recorded: this goroutine is now inside */
	TRACK_REENTERED,	/* same goroutine again: morestack restarted it */
	TRACK_CONFLICT,		/* another goroutine is inside a write */
	TRACK_CONFLICT_UNSEEN,	/* the write flag is set by a write never seen entering */
	TRACK_AGED,		/* replaced an entry whose exit never came */
	TRACK_FULL,		/* the table had no room */
	TRACK_CLEAR,		/* (reads) nobody is inside */
};

static __always_inline int track__decide(const struct gmw_writer *in, __u64 goid,
					 __u64 now, __u64 stale_ns, bool flag_set)
{
	if (!in)
		return flag_set ? TRACK_CONFLICT_UNSEEN : TRACK_ENTERED;
	if (in->exited) {
		/* past its exit probe but the flag not cleared yet: still inside */
		if (flag_set && in->side.goid != goid)
			return TRACK_CONFLICT;
		return TRACK_ENTERED;
	}
	if (in->side.goid == goid)
		return TRACK_REENTERED;
	/* An exit lost to a panic inside the function must not accuse forever. */
	if (now > in->side.ts && now - in->side.ts > stale_ns)
		return TRACK_AGED;
	return TRACK_CONFLICT;
}

/* Goroutine goid left its write (its exit probe, or it panicked). 1 if it held one. */
static __always_inline int track__release(void *st, __u64 goid, __u64 now)
{
	struct gmw_writer *in;
	__u64 *mp, map;
	int held = 0;

	mp = TRACK_OWNER_GET(st, goid);
	if (!mp)
		return 0;
	map = *mp;
	in = TRACK_LOOKUP(st, map);
	if (in && in->side.goid == goid && !in->exited) {
		in->exited = now ? now : 1;
		held = 1;
	}
	TRACK_OWNER_DEL(st, goid);
	return held;
}

static __always_inline int track__write_enter(void *st, __u64 map,
					      const struct gmw_writer *me,
					      __u64 stale_ns, bool flag_set,
					      struct gmw_side *other)
{
	struct gmw_writer *in;
	__u64 *mp;
	int v;

	in = TRACK_LOOKUP(st, map);
	v = track__decide(in, me->side.goid, me->side.ts, stale_ns, flag_set);
	if (v == TRACK_CONFLICT && in) {
		*other = in->side;
		return v;
	}
	if (v == TRACK_REENTERED || v == TRACK_CONFLICT_UNSEEN)
		return v;
	/* A goroutine is inside one map write at a time: any other is over. */
	mp = TRACK_OWNER_GET(st, me->side.goid);
	if (mp && *mp != map)
		track__release(st, me->side.goid, me->side.ts);
	if (TRACK_INSERT(st, map, me, !in)) {
		/* Another CPU recorded its goroutine between lookup and insert. */
		in = TRACK_LOOKUP(st, map);
		if (in && in->side.goid != me->side.goid && !in->exited) {
			*other = in->side;
			return TRACK_CONFLICT;
		}
		return TRACK_FULL;
	}
	if (TRACK_OWNER_SET(st, me->side.goid, map)) {
		/* Its exit could not find this entry: never leave it "inside". */
		in = TRACK_LOOKUP(st, map);
		if (in && in->side.goid == me->side.goid)
			in->exited = me->side.ts ? me->side.ts : 1;
		return TRACK_FULL;
	}
	return v;
}

/* A read or iteration: only checks, never records. */
static __always_inline int track__read_check(void *st, __u64 map, __u64 goid,
					     __u64 now, __u64 stale_ns, bool flag_set,
					     struct gmw_side *other)
{
	struct gmw_writer *in;
	int v;

	in = TRACK_LOOKUP(st, map);
	v = track__decide(in, goid, now, stale_ns, flag_set);
	if (v == TRACK_CONFLICT && in) {
		*other = in->side;
		return v;
	}
	return v == TRACK_CONFLICT_UNSEEN ? v : TRACK_CLEAR;
}

#endif
