/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Struct field offsets the BPF programs need, from the binary's DWARF (libdw)
 * when present, else from a table generated from real toolchains' DWARF and
 * keyed by Go version (user/offsets_table.h, scripts/gen-offsets.sh).
 */
#ifndef GOMAPWATCH_OFFSETS_H
#define GOMAPWATCH_OFFSETS_H

#include <stddef.h>
#include "gobin.h"

enum offset_source { OFF_NONE, OFF_DWARF, OFF_TABLE };

enum offset_field {
	OFF_G_GOID,		/* runtime.g.goid */
	OFF_G_GOPC,		/* runtime.g.gopc */
	OFF_MAP_FLAGS,		/* runtime.hmap.flags, or maps.Map.writing (swiss) */
	OFF_ITER_MAP,		/* runtime.hiter.h, or maps.Iter.m (swiss) */
	OFF_PANIC_ARG,		/* runtime._panic.arg */
	OFF_G_PARENT_GOID,	/* runtime.g.parentGoid, Go 1.21 and later */
	OFF__COUNT,
};

struct go_offsets {
	int off[OFF__COUNT];			/* -1 when unknown */
	enum offset_source src[OFF__COUNT];
	bool swiss;				/* which map layout the offsets describe */
};

const char *offset_field__name(enum offset_field f);	/* "runtime.g.goid" ... */
const char *offset_source__name(enum offset_source s);	/* "dwarf", "table", "none" */

/*
 * Fill o for binary b (b->fd, b->ver, swiss layout decided by the caller).
 * Returns 0 when at least goid and the map flag offset are known, else -1
 * with a one-line reason naming the Go version in err.
 */
int offsets__load(struct go_offsets *o, const struct gobin *b, bool swiss,
		  char *err, size_t errlen);
/*
 * The same, inflating zlib-compressed DWARF window bytes at a time and only
 * as far as the wanted structs (offsets__load: 64 KB); window 0 has libdw
 * inflate and read all of it, as the tests' reference.
 */
int offsets__load_window(struct go_offsets *o, const struct gobin *b,
			 bool swiss, size_t window, char *err, size_t errlen);

#endif
