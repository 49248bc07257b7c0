// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the Go build-info decoder (buildinfo.c). The input is a
 * .go.buildinfo blob; it is also the address space the decoder follows
 * pointers into (Go <= 1.17 blobs point at string headers elsewhere), laid
 * at link-time address 0 with a second window at 0x400000 (a typical
 * non-PIE base) so real pointers can land.
 */
#include <stdint.h>
#include <string.h>
#include "buildinfo.h"

struct image {
	const uint8_t *data;
	size_t size;
};

static int image_read(void *ctx, uint64_t vaddr, void *buf, size_t len)
{
	const struct image *im = ctx;

	if (vaddr >= 0x400000)
		vaddr -= 0x400000;
	if (vaddr > im->size || len > im->size - vaddr)
		return -1;
	memcpy(buf, im->data + vaddr, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image im = { data, size };
	char out[64], tiny[2];
	uint64_t v = 0;

	buildinfo__decode(data, size, image_read, &im, out, sizeof(out));
	/* truncation down to one byte and nothing */
	buildinfo__decode(data, size, image_read, &im, tiny, sizeof(tiny));
	buildinfo__decode(data, size, image_read, &im, tiny, 0);
	/* runtime.buildVersion: a string header at an address the input names */
	if (size >= 8)
		memcpy(&v, data + size - 8, 8);
	buildinfo__string(v, image_read, &im, out, sizeof(out));
	buildinfo__string(0, image_read, &im, out, sizeof(out));
	return 0;
}
