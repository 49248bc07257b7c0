/* SPDX-License-Identifier: GPL-2.0 */
/*
 * OpenTelemetry log records to a collector over OTLP/HTTP JSON. The caller
 * hands over each record's JSON text; a sender thread batches them per
 * resource, POSTs them and retries while the collector is away, so the
 * caller never waits on the network.
 */
#ifndef GOMAPWATCH_OTLP_H
#define GOMAPWATCH_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct otlp_cfg {
	const char *url;	/* http:// or https://; /v1/logs appended unless there */
	const char *const *headers;	/* "K=V" as given by --otlp-header; sent as "K: V" */
	int nheaders;
	int flush_ms;	/* a batch leaves at most this long after its first record (1000) */
	int max_batch;	/* records per request (256) */
	int queue_max;	/* records held at most; beyond, new ones are dropped (4096) */
	int timeout_ms;	/* per request (5000) */
	bool quiet;	/* say nothing on stderr (tests) */
};

/*
 * queued is a gauge: records held now, waiting or in flight. The others
 * count from the start: records sent and dropped (queue full, refused by
 * the collector, or left at a flush deadline), requests sent again, and
 * requests that did not get a 2xx answer.
 */
struct otlp_stats {
	uint64_t queued, sent, dropped, retries, failed_requests;
};

struct otlp;

/* NULL where this build can send OTLP; else why it cannot. */
const char *otlp__unavailable(void);

/*
 * Check the URL and the headers, start the sender thread. Zero fields of
 * cfg take the defaults in parentheses above. 0, or -1 with the reason in err.
 */
int otlp__new(struct otlp **o, const struct otlp_cfg *cfg, char *err, size_t errlen);
/* The URL requests go to, /v1/logs included, as said: user and password left out. */
const char *otlp__url(const struct otlp *o);
/*
 * A resource: the JSON text of an OTLP "resource" object ({"attributes":
 * [...]}), copied. Its id >= 0 (the same text gets the same id), or -1.
 */
int otlp__resource(struct otlp *o, const char *resource_json);
/* One LogRecord's JSON text, taken over; never blocks. 0, or -1 if dropped. */
int otlp__push(struct otlp *o, int resource, char *record_json);
/* Send what is queued, waiting at most deadline_ms; what is left is dropped. */
void otlp__flush(struct otlp *o, int deadline_ms);
void otlp__stats(struct otlp *o, struct otlp_stats *s);
/* Stop the sender and free what is still queued: call otlp__flush first. */
void otlp__free(struct otlp *o);

#endif
