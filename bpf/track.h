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
 * The includer provides the two tables (st is passed through untouched):
 *   TRACK_LOOKUP(st, map)              -> struct gmw_side * or NULL
 *   TRACK_INSERT(st, map, side, excl)  -> 0, or < 0 (excl: fail if present)
 *   TRACK_DELETE(st, map)
 *   TRACK_OWNER_GET(st, goid)          -> __u64 * (map) or NULL
 *   TRACK_OWNER_SET(st, goid, map)
 *   TRACK_OWNER_DEL(st, goid)
 */
#ifndef GOMAPWATCH_TRACK_H
#define GOMAPWATCH_TRACK_H

#include "gomapwatch.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

enum track_verdict {
	TRACK_ENTERED,		/* recorded: this goroutine is now inside */
	TRACK_REENTERED,	/* same goroutine again: morestack restarted it */
	TRACK_CONFLICT,		/* another goroutine is inside a write */
	TRACK_AGED,		/* replaced an entry whose exit never came */
	TRACK_FULL,		/* the table had no room */
	TRACK_CLEAR,		/* (reads) nobody is inside */
};

static __always_inline int track__decide(const struct gmw_side *in, __u64 goid,
					 __u64 now, __u64 stale_ns)
{
	if (!in)
		return TRACK_ENTERED;
	if (in->goid == goid)
		return TRACK_REENTERED;
	/* An exit lost to a panic inside the function must not accuse forever. */
	if (now > in->ts && now - in->ts > stale_ns)
		return TRACK_AGED;
	return TRACK_CONFLICT;
}

/* Forget goroutine goid's write (its exit, or it panicked). 1 if one was held. */
static __always_inline int track__release(void *st, __u64 goid)
{
	struct gmw_side *in;
	__u64 *mp, map;
	int held = 0;

	mp = TRACK_OWNER_GET(st, goid);
	if (!mp)
		return 0;
	map = *mp;
	in = TRACK_LOOKUP(st, map);
	if (in && in->goid == goid) {
		TRACK_DELETE(st, map);
		held = 1;
	}
	TRACK_OWNER_DEL(st, goid);
	return held;
}

static __always_inline int track__write_enter(void *st, __u64 map,
					      const struct gmw_side *me,
					      __u64 stale_ns,
					      struct gmw_side *other)
{
	struct gmw_side *in;
	__u64 *mp;
	int v;

	in = TRACK_LOOKUP(st, map);
	v = track__decide(in, me->goid, me->ts, stale_ns);
	if (v == TRACK_CONFLICT && in) {
		*other = *in;
		return v;
	}
	if (v == TRACK_REENTERED)
		return v;
	/* A goroutine is inside one map write at a time: any other is over. */
	mp = TRACK_OWNER_GET(st, me->goid);
	if (mp && *mp != map)
		track__release(st, me->goid);
	if (TRACK_INSERT(st, map, me, v == TRACK_ENTERED)) {
		/* Another CPU recorded its goroutine between lookup and insert. */
		in = TRACK_LOOKUP(st, map);
		if (in && in->goid != me->goid) {
			*other = *in;
			return TRACK_CONFLICT;
		}
		return TRACK_FULL;
	}
	TRACK_OWNER_SET(st, me->goid, map);
	return v;
}

/* A read or iteration: only checks, never records. */
static __always_inline int track__read_check(void *st, __u64 map, __u64 goid,
					     __u64 now, __u64 stale_ns,
					     struct gmw_side *other)
{
	struct gmw_side *in;
	int v;

	in = TRACK_LOOKUP(st, map);
	v = track__decide(in, goid, now, stale_ns);
	if (v == TRACK_CONFLICT && in) {
		*other = *in;
		return v;
	}
	return TRACK_CLEAR;
}

#endif
