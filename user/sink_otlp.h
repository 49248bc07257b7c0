/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The OpenTelemetry sink: every event as an OTLP log record, sent to a
 * collector over HTTP in the background (otlp.h). Conflicts are ERROR,
 * fatal errors and unrecovered panics FATAL; each record names its event
 * (gomapwatch.conflict, ...) and carries the goroutines, functions, keys
 * and stacks as attributes, the stacks also as exception.stacktrace.
 */
#ifndef GOMAPWATCH_SINK_OTLP_H
#define GOMAPWATCH_SINK_OTLP_H

#include <sys/types.h>
#include "otlp.h"
#include "sink.h"

struct sink_otlp_cfg {
	struct otlp_cfg net;
	const char *service_name;	/* NULL: the binary's name */
	const char *exe_path;		/* the traced binary */
	const char *go_version;		/* "go1.23.4", or NULL */
};

struct sink *sink_otlp__new(const struct sink_otlp_cfg *cfg, char *err, size_t errlen);

#endif
