// SPDX-License-Identifier: GPL-2.0
/* Open addressing, linear probing, at most two thirds full. */
#include <stdlib.h>
#include <string.h>
#include "nameidx.h"

/* FNV-1a: the names are short, and one pass over each is all it costs. */
static uint32_t nameidx__hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

int nameidx__init(struct nameidx *x, size_t n)
{
	size_t size = 16;

	while (size < n + n / 2 + 1)
		size *= 2;
	x->slot = calloc(size, sizeof(*x->slot));
	x->mask = size - 1;
	x->used = 0;
	return x->slot ? 0 : -1;
}

void nameidx__free(struct nameidx *x)
{
	free(x->slot);
	x->slot = NULL;
	x->mask = x->used = 0;
}

/* The slot holding name, or the empty one where it would go. */
static struct nameidx_slot *nameidx__slot(const struct nameidx *x,
					  const char *name, uint32_t h)
{
	size_t i = h & x->mask;

	while (x->slot[i].name && (x->slot[i].hash != h || strcmp(x->slot[i].name, name)))
		i = (i + 1) & x->mask;
	return &x->slot[i];
}

void nameidx__add(struct nameidx *x, const char *name, uint32_t idx)
{
	uint32_t h = nameidx__hash(name);
	struct nameidx_slot *s;

	/* an empty slot must remain, or a search for a missing name never ends */
	if (x->used * 3 >= x->mask * 2)
		return;
	s = nameidx__slot(x, name, h);
	if (s->name)
		return;
	*s = (struct nameidx_slot){ name, h, idx };
	x->used++;
}

int nameidx__find(const struct nameidx *x, const char *name, uint32_t *idx)
{
	const struct nameidx_slot *s;

	if (!x->slot)
		return -1;
	s = nameidx__slot(x, name, nameidx__hash(name));
	if (!s->name)
		return -1;
	*idx = s->idx;
	return 0;
}
