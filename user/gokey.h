/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A map operation's key, decoded from what the BPF side copied: by the
 * kind of the map's key type, basic kinds (integers, floats, bool,
 * strings, pointers) as values, any other kind named but not shown.
 */
#ifndef GOMAPWATCH_GOKEY_H
#define GOMAPWATCH_GOKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gomapwatch.h"

enum gokey_repr {
	GK_NONE,		/* the operation has no key (clear, iteration) */
	GK_UNSHOWN,		/* a kind not shown, or bytes that could not be read */
	GK_STRING,
	GK_INT,
	GK_UINT,
	GK_HEX,			/* pointers and uintptr */
	GK_FLOAT,
	GK_BOOL,
};

struct gokey {
	enum gokey_repr repr;
	const char *kind;	/* Go's name of the kind: "string", "int64", "struct" */
	const uint8_t *str;	/* GK_STRING: the bytes kept, len of them */
	size_t len;
	uint64_t full_len;	/* GK_STRING: the key's own length */
	int64_t i;
	uint64_t u;
	double d;
};

/* k must outlive v (v->str points into it). */
void gokey__decode(const struct gmw_key *k, struct gokey *v);
/*
 * For the terminal: `"session-17"` (escaped, `..." (40 bytes)` when cut),
 * `42`, `0xc000012345`, or `(struct, not shown)`. Empty for GK_NONE.
 */
void gokey__text(const struct gokey *v, char *buf, size_t len);
/* Go's name of kind k (reflect.Kind), "unknown" if none. */
const char *gokey__kind_name(uint8_t k);

#endif
