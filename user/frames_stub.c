// SPDX-License-Identifier: GPL-2.0
/* TEMPORARY until the inline tree reader lands: the outer function only. */
#include "gobin.h"

int gobin__frames(const struct gobin *b, uint64_t pc, struct pcframe *out, int max)
{
	const char *fn;

	if (max < 1)
		return 0;
	fn = gobin__lookup(b, pc, &out[0].file, &out[0].line, NULL);
	if (!fn)
		return 0;
	out[0].func = fn;
	out[0].inlined = out[0].wrapper = false;
	return 1;
}
