/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Names to entry numbers, built in one pass over the entries: sorting
 * 80,000 function names by strcmp took tens of milliseconds of a large
 * binary's start-up, hashing them takes a few. Names are not copied: they
 * must outlive the index (they point into the binary's mapping).
 */
#ifndef GOMAPWATCH_NAMEIDX_H
#define GOMAPWATCH_NAMEIDX_H

#include <stddef.h>
#include <stdint.h>

struct nameidx_slot {
	const char *name;	/* NULL: empty */
	uint32_t hash;
	uint32_t idx;
};

struct nameidx {
	struct nameidx_slot *slot;
	size_t mask, used;
};

/* Room for n names. 0, or -1 out of memory. */
int nameidx__init(struct nameidx *x, size_t n);
void nameidx__free(struct nameidx *x);
/*
 * Entry idx is called name; an earlier entry of the same name keeps it, and
 * names past the n given to init are dropped.
 */
void nameidx__add(struct nameidx *x, const char *name, uint32_t idx);
/* The first entry added under name. 0, or -1 when there is none. */
int nameidx__find(const struct nameidx *x, const char *name, uint32_t *idx);

#endif
