// SPDX-License-Identifier: GPL-2.0
/*
 * What the static build links instead of otlp.c: it has no libcurl (whose
 * static archive would bring a TLS stack along), so --otlp is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "otlp.h"

const char *otlp__unavailable(void)
{
	return "not in this static build, which links no libcurl; use the dynamic one";
}

int otlp__new(struct otlp **o, const struct otlp_cfg *cfg, char *err, size_t errlen)
{
	*o = NULL;
	if (errlen)
		snprintf(err, errlen, "--otlp: %s", otlp__unavailable());
	return -1;
}

/* Never reached: no struct otlp is ever made. */
const char *otlp__url(const struct otlp *o)
{
	return "";
}

int otlp__resource(struct otlp *o, const char *resource_json)
{
	return -1;
}

int otlp__push(struct otlp *o, int resource, char *record_json)
{
	free(record_json);
	return -1;
}

void otlp__flush(struct otlp *o, int deadline_ms)
{
}

void otlp__stats(struct otlp *o, struct otlp_stats *s)
{
	memset(s, 0, sizeof(*s));
}

void otlp__free(struct otlp *o)
{
}
