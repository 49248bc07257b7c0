/* SPDX-License-Identifier: GPL-2.0 */
/* NDJSON helpers on top of yyjson: any bytes in, valid JSON out. */
#ifndef GOMAPWATCH_JSON_H
#define GOMAPWATCH_JSON_H

#include <stdio.h>
#include <yyjson.h>

/*
 * Add key: string to obj from arbitrary bytes (Go strings are not always
 * UTF-8). Invalid sequences become U+FFFD; yyjson escapes control bytes.
 */
bool json__add_bytes(yyjson_mut_doc *doc, yyjson_mut_val *obj, const char *key,
		     const char *s, size_t len);
/* Write doc as one line to out and free it. 0 or -1. */
int json__emit(yyjson_mut_doc *doc, FILE *out);

#endif
