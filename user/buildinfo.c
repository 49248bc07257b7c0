// SPDX-License-Identifier: GPL-2.0
/*
 * Go build info and version strings. Blob format from cmd/link's
 * (*Link).buildinfo and debug/buildinfo's readRawBuildInfo.
 */
#include <stdio.h>
#include <string.h>
#include "buildinfo.h"
#include "gobin.h"

#define BUILDINFO_HDR		32
#define BUILDINFO_BIGENDIAN	0x1
#define BUILDINFO_INLINE	0x2	/* Go 1.18+: strings follow the header */
#define VERSION_MAX		256	/* longer is corrupt, not a version */

static uint64_t le(const uint8_t *b, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | b[n];
	return v;
}

static void buildinfo__copy(char *out, size_t outlen, const void *s, size_t n)
{
	if (!outlen)
		return;
	if (n > outlen - 1)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

static int buildinfo__read_string(uint64_t vaddr, unsigned ptrsize,
				  buildinfo_read_fn read, void *ctx,
				  char *out, size_t outlen)
{
	uint8_t hdr[16];
	char s[VERSION_MAX];
	uint64_t n;

	if (read(ctx, vaddr, hdr, 2 * ptrsize))
		return -1;
	n = le(hdr + ptrsize, ptrsize);
	if (!n || n >= sizeof(s) || read(ctx, le(hdr, ptrsize), s, n))
		return -1;
	buildinfo__copy(out, outlen, s, n);
	return 0;
}

int buildinfo__string(uint64_t vaddr, buildinfo_read_fn read, void *ctx,
		      char *out, size_t outlen)
{
	return buildinfo__read_string(vaddr, 8, read, ctx, out, outlen);
}

/* Go 1.18+: uvarint length, then the bytes, right after the header. */
static int buildinfo__inline(const uint8_t *blob, size_t len, char *out,
			     size_t outlen)
{
	size_t pos = BUILDINFO_HDR;
	uint64_t n = 0;
	unsigned shift;

	for (shift = 0; pos < len && shift < 64; shift += 7) {
		n |= (uint64_t)(blob[pos] & 0x7f) << shift;
		if (!(blob[pos++] & 0x80))
			break;
	}
	if (!n || n >= VERSION_MAX || pos > len || n > len - pos)
		return -1;
	buildinfo__copy(out, outlen, blob + pos, n);
	return 0;
}

int buildinfo__decode(const uint8_t *blob, size_t len, buildinfo_read_fn read,
		      void *ctx, char *out, size_t outlen)
{
	unsigned ptrsize, flags;

	if (len < BUILDINFO_HDR ||
	    memcmp(blob, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN))
		return -1;
	ptrsize = blob[BUILDINFO_MAGIC_LEN];
	flags = blob[BUILDINFO_MAGIC_LEN + 1];
	if (flags & BUILDINFO_BIGENDIAN)
		return -1;
	if (flags & BUILDINFO_INLINE)
		return buildinfo__inline(blob, len, out, outlen);
	/* Go <= 1.17: the address of runtime.buildVersion's string header */
	if ((ptrsize != 4 && ptrsize != 8) || !read)
		return -1;
	return buildinfo__read_string(le(blob + 16, ptrsize), ptrsize, read,
				      ctx, out, outlen);
}

/* Up to 9 decimal digits at *s; advances *s. -1 if none. */
static int version__number(const char **s)
{
	int n = 0, digits = 0;

	while (**s >= '0' && **s <= '9' && digits < 9) {
		n = n * 10 + (*(*s)++ - '0');
		digits++;
	}
	return digits ? n : -1;
}

static const char *version__start(const char *s)
{
	for (; (s = strstr(s, "go")); s++) {
		if (s[2] >= '0' && s[2] <= '9')
			return s + 2;
	}
	return NULL;
}

int go_version__parse(struct go_version *v, const char *s)
{
	const char *p, *x;

	memset(v, 0, sizeof(*v));
	if (!s)
		return -1;
	buildinfo__copy(v->raw, sizeof(v->raw), s, strlen(s));
	/* "devel go1.23-abc Tue ..." puts the version after a prefix */
	p = version__start(s);
	if (!p)
		return -1;
	v->major = version__number(&p);
	if (v->major < 0 || *p++ != '.')
		goto bad;
	v->minor = version__number(&p);
	if (v->minor < 0)
		goto bad;
	/* "go1.21" and "go1.21rc2" are the .0 release or before it */
	if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
		p++;
		v->patch = version__number(&p);
	}
	x = strstr(p, " X:");
	v->noswiss = x && strstr(x, "noswissmap");
	return 0;
bad:
	v->major = v->minor = 0;
	return -1;
}

int go_version__cmp(const struct go_version *v, int major, int minor, int patch)
{
	if (v->major != major)
		return v->major < major ? -1 : 1;
	if (v->minor != minor)
		return v->minor < minor ? -1 : 1;
	if (v->patch != patch)
		return v->patch < patch ? -1 : 1;
	return 0;
}

bool go_version__swiss(const struct go_version *v)
{
	return v->major == 1 && v->minor >= 24 && !v->noswiss;
}
