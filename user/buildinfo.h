/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Go version recorded in a binary: the .go.buildinfo blob written by
 * cmd/link (both formats), or the runtime.buildVersion string header.
 */
#ifndef GOMAPWATCH_BUILDINFO_H
#define GOMAPWATCH_BUILDINFO_H

#include <stddef.h>
#include <stdint.h>

#define BUILDINFO_MAGIC		"\xff Go buildinf:"
#define BUILDINFO_MAGIC_LEN	14
#define BUILDINFO_ALIGN		16

/* Reads len bytes at a link-time address; 0 or -1. */
typedef int (*buildinfo_read_fn)(void *ctx, uint64_t vaddr, void *buf,
				 size_t len);

/*
 * Version string from a buildinfo blob of len bytes into out (NUL-terminated,
 * truncated to outlen). Go <= 1.17 blobs point elsewhere: read follows them.
 */
int buildinfo__decode(const uint8_t *blob, size_t len, buildinfo_read_fn read,
		      void *ctx, char *out, size_t outlen);
/* The Go string whose {ptr, len} header is at vaddr (runtime.buildVersion). */
int buildinfo__string(uint64_t vaddr, buildinfo_read_fn read, void *ctx,
		      char *out, size_t outlen);

#endif
