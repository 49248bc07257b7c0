// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP/HTTP JSON transport. Records wait in a ring of queue_max slots and
 * only the sender thread takes them out, once the collector has answered:
 * a batch being retried still counts against queue_max, and a push is a
 * mutex and an append.
 */
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "otlp.h"

#define OTLP_PATH	   "/v1/logs"
#define OTLP_SCOPE	   "{\"name\":\"gomapwatch\",\"version\":\"0.1\"}"
#define OTLP_USER_AGENT	   "gomapwatch/0.1"
#define BACKOFF_FIRST_MS   250
#define BACKOFF_MAX_MS	   8000
/* Records keep coming meanwhile: a longer pause would only turn them into drops. */
#define RETRY_AFTER_MAX_MS 60000
#define DROPS_SAID_EVERY   10000
#define BODY_SAID	   200
/* How long past its deadline a flush waits for a request curl is still ending. */
#define FLUSH_GRACE_MS	   1000

struct otlp_rec {
	char *json;
	size_t len;
	int res;
	int64_t at_ms;	/* pushed at: its batch leaves flush_ms later at most */
};

enum otlp_outcome { OTLP_SENT, OTLP_RETRY, OTLP_REFUSED, OTLP_ABORTED };

struct otlp_answer {
	enum otlp_outcome outcome;
	CURLcode rc;
	long status;
	int64_t wait_ms;	/* Retry-After, or 0 */
};

struct otlp {
	struct otlp_cfg cfg;	/* defaults filled in */
	char *url;
	char *shown;		/* url as said: no credentials */
	struct curl_slist *hdrs;
	CURL *curl;
	bool curl_global;
	char errbuf[CURL_ERROR_SIZE];	/* curl's own words on the last failure */
	char body[BODY_SAID + 1];	/* the start of the last answer's body */
	size_t body_len;

	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t wake;	/* sender: a first record, a full batch, a flush, stop */
	pthread_cond_t idle;	/* flushers: nothing held, the sender quiet */

	/* under mu */
	struct otlp_rec *ring;
	int head, count;
	bool busy;		/* the sender has a batch, and may have something to say */
	char **res;
	int nres, res_cap;
	struct otlp_stats st;
	uint64_t full_drops, full_said;	/* dropped as the queue was full; said so far */
	int64_t full_said_at;
	uint64_t late_drops;		/* left at a flush deadline */
	int flushers;

	/* also read by the progress callback, without mu */
	atomic_bool stop;
	_Atomic int64_t deadline;	/* of the flush in progress, or 0 */

	/* the sender's own */
	struct otlp_rec *batch;
	const char **batch_res;
	bool down;
	uint64_t outage_retries;
	long refused_said;	/* the refusal last said (status, or -CURLcode) */
	unsigned int seed;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait on c at most until at_ms (CLOCK_MONOTONIC, as the conditions are set up). */
static void wait_until(pthread_cond_t *c, pthread_mutex_t *mu, int64_t at_ms)
{
	struct timespec ts = { .tv_sec = at_ms / 1000, .tv_nsec = at_ms % 1000 * 1000000 };

	pthread_cond_timedwait(c, mu, &ts);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

__attribute__((format(printf, 2, 3)))
static void say(const struct otlp *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (o->cfg.quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "gomapwatch: otlp: %s\n", line);
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Requests go to .../v1/logs, whether the user named the base or the whole path. */
static CURLUcode otlp__set_path(CURLU *u, const char *path)
{
	size_t n = strlen(path), tail = strlen(OTLP_PATH);
	CURLUcode rc;
	char *p;

	if (n >= tail && !strcmp(path + n - tail, OTLP_PATH))
		return CURLUE_OK;
	while (n && path[n - 1] == '/')
		n--;
	if (asprintf(&p, "%.*s%s", (int)n, path, OTLP_PATH) < 0)
		return CURLUE_OUT_OF_MEMORY;
	rc = curl_url_set(u, CURLUPART_PATH, p, 0);
	free(p);
	return rc;
}

/* The whole URL of u, duplicated with malloc (curl's own strings need curl_free). */
static CURLUcode url_dup(CURLU *u, char **out)
{
	char *s;
	CURLUcode rc = curl_url_get(u, CURLUPART_URL, &s, 0);

	if (rc)
		return rc;
	*out = strdup(s);
	curl_free(s);
	return *out ? CURLUE_OK : CURLUE_OUT_OF_MEMORY;
}

/* The URL to post to, and the one to say: without user and password. */
static int otlp__make_url(struct otlp *o, const char *url, char *err, size_t errlen)
{
	char *host = NULL, *path = NULL;
	CURLUcode rc;
	CURLU *u;

	if (!url || (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)))
		return fail(err, errlen, "--otlp \"%s\": not an http:// or https:// URL",
			    url ? url : "");
	u = curl_url();
	if (!u)
		return fail(err, errlen, "otlp: out of memory");
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (!rc)
		rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
	if (!rc)
		rc = curl_url_get(u, CURLUPART_PATH, &path, 0);
	if (!rc)
		rc = otlp__set_path(u, path);
	if (!rc)
		rc = url_dup(u, &o->url);
	if (!rc)
		rc = curl_url_set(u, CURLUPART_USER, NULL, 0);
	if (!rc)
		rc = curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	if (!rc)
		rc = url_dup(u, &o->shown);
	curl_free(host);
	curl_free(path);
	curl_url_cleanup(u);
	if (rc)
		return fail(err, errlen, "--otlp \"%s\": %s", url, curl_url_strerror(rc));
	return 0;
}

/* A header name is an RFC 9110 token. */
static bool is_token(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("!#$%&'*+-.^_`|~", s[i]))
			return false;
	return true;
}

/* No line breaks, nor other control bytes but tab, in a value. */
static bool is_field_value(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return false;
	return true;
}

/* Length of the token at the start of s: what an error may echo of a header. */
static int token_len(const char *s)
{
	int n = 0;

	while (s[n] && is_token(s + n, 1))
		n++;
	return n;
}

/*
 * "K=V" from --otlp-header into "K: V", blanks around either trimmed. An
 * error echoes the name only: values tend to be credentials.
 */
static int otlp__add_header(struct otlp *o, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '='), *k = kv, *v;
	size_t klen, vlen;
	struct curl_slist *l;
	char *line;

	while (*k == ' ' || *k == '\t')
		k++;
	if (!eq)
		return fail(err, errlen, "--otlp-header \"%.*s%s\": expected NAME=VALUE",
			    token_len(k), k, k[token_len(k)] ? "..." : "");
	for (klen = eq - k; klen && (k[klen - 1] == ' ' || k[klen - 1] == '\t');)
		klen--;
	for (v = eq + 1; *v == ' ' || *v == '\t';)
		v++;
	for (vlen = strlen(v); vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t');)
		vlen--;
	if (!is_token(k, klen))
		return fail(err, errlen,
			    "--otlp-header \"%.*s=...\": expected NAME=VALUE, "
			    "NAME a header name (letters, digits, -_.!#$%%&'*+^`|~)",
			    (int)(eq - kv), kv);
	if (!is_field_value(v, vlen))
		return fail(err, errlen,
			    "--otlp-header \"%.*s=...\": a control character in the value",
			    (int)klen, k);
	/* curl drops "K:" with nothing after it; "K;" sends it empty */
	if (asprintf(&line, vlen ? "%.*s: %.*s" : "%.*s;", (int)klen, k, (int)vlen, v) < 0)
		return fail(err, errlen, "otlp: out of memory");
	l = curl_slist_append(o->hdrs, line);
	free(line);
	if (!l)
		return fail(err, errlen, "otlp: out of memory");
	o->hdrs = l;
	return 0;
}

static int otlp__headers(struct otlp *o, char *err, size_t errlen)
{
	/* Expect: 100-continue costs a round trip per large batch */
	static const char *const fixed[] = { "Content-Type: application/json", "Expect:" };

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		struct curl_slist *l = curl_slist_append(o->hdrs, fixed[i]);

		if (!l)
			return fail(err, errlen, "otlp: out of memory");
		o->hdrs = l;
	}
	for (int i = 0; i < o->cfg.nheaders; i++)
		if (otlp__add_header(o, o->cfg.headers[i], err, errlen))
			return -1;
	return 0;
}

static int otlp__progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			  curl_off_t ulnow);
static size_t otlp__write(char *data, size_t size, size_t n, void *p);

/* One easy handle for the whole run, so the connection is kept and reused. */
static int otlp__curl(struct otlp *o, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();

	if (!c)
		return fail(err, errlen, "otlp: cannot set up libcurl");
	o->curl = c;
	/* the tracer's signal handlers, not curl's alarm, own the process's signals */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_URL, o->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, o->hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, OTLP_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, otlp__progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, o);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, otlp__write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, o);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, o->errbuf);
	return 0;
}

static int otlp__defaults(struct otlp *o, const struct otlp_cfg *cfg, char *err, size_t errlen)
{
	o->cfg = *cfg;
	if (cfg->flush_ms < 0 || cfg->max_batch < 0 || cfg->queue_max < 0 ||
	    cfg->timeout_ms < 0 || cfg->nheaders < 0)
		return fail(err, errlen, "otlp: negative flush, batch, queue or timeout setting");
	if (!o->cfg.flush_ms)
		o->cfg.flush_ms = 1000;
	if (!o->cfg.max_batch)
		o->cfg.max_batch = 256;
	if (!o->cfg.queue_max)
		o->cfg.queue_max = 4096;
	if (!o->cfg.timeout_ms)
		o->cfg.timeout_ms = 5000;
	if (o->cfg.max_batch > o->cfg.queue_max)
		o->cfg.max_batch = o->cfg.queue_max;
	o->ring = calloc(o->cfg.queue_max, sizeof(*o->ring));
	o->batch = calloc(o->cfg.max_batch, sizeof(*o->batch));
	o->batch_res = calloc(o->cfg.max_batch, sizeof(*o->batch_res));
	if (!o->ring || !o->batch || !o->batch_res)
		return fail(err, errlen, "otlp: out of memory");
	return 0;
}

static int otlp__sync_init(struct otlp *o)
{
	pthread_condattr_t ca;
	int ret;

	pthread_mutex_init(&o->mu, NULL);
	pthread_condattr_init(&ca);
	/* waits are measured on the clock the records are stamped with */
	ret = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->wake, &ca);
	pthread_cond_init(&o->idle, &ca);
	pthread_condattr_destroy(&ca);
	return ret;
}

static void *otlp__run(void *arg);

/* The sender blocks every signal: they are for the tracer's own threads (EINTR). */
static int otlp__start(struct otlp *o, char *err, size_t errlen)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&o->thread, NULL, otlp__run, o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return fail(err, errlen, "otlp: cannot start the sender thread: %s", strerror(ret));
	o->started = true;
	return 0;
}

const char *otlp__unavailable(void)
{
	return NULL;
}

int otlp__new(struct otlp **op, const struct otlp_cfg *cfg, char *err, size_t errlen)
{
	struct otlp *o = calloc(1, sizeof(*o));

	*op = NULL;
	if (!o)
		return fail(err, errlen, "otlp: out of memory");
	o->seed = getpid() ^ (unsigned int)now_ms();
	if (otlp__sync_init(o)) {
		otlp__free(o);
		return fail(err, errlen, "otlp: no monotonic clock for waits");
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fail(err, errlen, "otlp: cannot set up libcurl");
		goto out;
	}
	o->curl_global = true;
	if (otlp__defaults(o, cfg, err, errlen) || otlp__make_url(o, cfg->url, err, errlen) ||
	    otlp__headers(o, err, errlen) || otlp__curl(o, err, errlen) ||
	    otlp__start(o, err, errlen))
		goto out;
	*op = o;
	return 0;
out:
	otlp__free(o);
	return -1;
}

const char *otlp__url(const struct otlp *o)
{
	return o->shown;
}

int otlp__resource(struct otlp *o, const char *resource_json)
{
	const char *json = resource_json && *resource_json ? resource_json : "{}";
	int id;

	pthread_mutex_lock(&o->mu);
	for (id = 0; id < o->nres; id++)
		if (!strcmp(o->res[id], json))
			goto out;
	if (o->nres == o->res_cap) {
		int cap = o->res_cap ? o->res_cap * 2 : 8;
		char **r = realloc(o->res, cap * sizeof(*r));

		if (!r) {
			id = -1;
			goto out;
		}
		o->res = r, o->res_cap = cap;
	}
	o->res[id] = strdup(json);
	if (o->res[id])
		o->nres++;
	else
		id = -1;
out:
	pthread_mutex_unlock(&o->mu);
	return id;
}

int otlp__push(struct otlp *o, int resource, char *record_json)
{
	int64_t at = now_ms();
	struct otlp_rec *r;

	pthread_mutex_lock(&o->mu);
	if (!record_json || resource < 0 || resource >= o->nres ||
	    o->count == o->cfg.queue_max) {
		o->st.dropped++;
		if (o->count == o->cfg.queue_max)
			o->full_drops++;
		pthread_mutex_unlock(&o->mu);
		free(record_json);
		return -1;
	}
	r = &o->ring[(o->head + o->count) % o->cfg.queue_max];
	*r = (struct otlp_rec){ record_json, strlen(record_json), resource, at };
	o->count++;
	/* the sender needs waking only to start a timer or to send a full batch */
	if (o->count == 1 || o->count == o->cfg.max_batch)
		pthread_cond_signal(&o->wake);
	pthread_mutex_unlock(&o->mu);
	return 0;
}

/* Flushers return once nothing is held and the sender has said its piece. Under mu. */
static void otlp__idle(struct otlp *o)
{
	if (!o->count && !o->busy)
		pthread_cond_broadcast(&o->idle);
}

/* Free the n oldest records. Under mu. */
static void otlp__pop(struct otlp *o, int n)
{
	for (int i = 0; i < n; i++) {
		free(o->ring[o->head].json);
		o->head = (o->head + 1) % o->cfg.queue_max;
	}
	o->count -= n;
	otlp__idle(o);
}

/* A flush deadline passed: everything held is dropped. Under mu. */
static void otlp__drop_all(struct otlp *o)
{
	o->late_drops += o->count;
	o->st.dropped += o->count;
	otlp__pop(o, o->count);
}

static bool otlp__past_deadline(struct otlp *o, int64_t now)
{
	int64_t d = atomic_load(&o->deadline);

	return d && now >= d;
}

/* When queue-full drops not said yet may be said, or INT64_MAX if there are none. Under mu. */
static int64_t otlp__drops_due(struct otlp *o)
{
	if (o->full_drops == o->full_said)
		return INT64_MAX;
	return o->full_said ? o->full_said_at + DROPS_SAID_EVERY : 0;
}

/* Queue-full drops, said at most once per DROPS_SAID_EVERY ms unless forced. */
static void otlp__say_drops(struct otlp *o, bool force)
{
	int64_t now = now_ms();
	uint64_t n, total;

	pthread_mutex_lock(&o->mu);
	total = o->full_drops;
	n = total - o->full_said;
	if (!n || (!force && now < otlp__drops_due(o))) {
		pthread_mutex_unlock(&o->mu);
		return;
	}
	o->full_said = total;
	o->full_said_at = now;
	pthread_mutex_unlock(&o->mu);
	/* said unlocked: a stderr that blocks must not block otlp__push */
	say(o, "dropped %llu records (queue full), %llu in all", (unsigned long long)n,
	    (unsigned long long)total);
}

/* Resource JSON text of id, and the record texts, concatenated: no parsing. */
struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p, b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* One resourceLogs entry: the records of o->batch[first..k) from the same resource. */
static void otlp__group(struct otlp *o, struct buf *b, int first, int k)
{
	int res = o->batch[first].res;
	bool more = false;

	buf_str(b, "{\"resource\":");
	buf_str(b, o->batch_res[first]);
	buf_str(b, ",\"scopeLogs\":[{\"scope\":" OTLP_SCOPE ",\"logRecords\":[");
	for (int i = first; i < k; i++) {
		if (o->batch[i].res != res)
			continue;
		if (more)
			buf_str(b, ",");
		buf_add(b, o->batch[i].json, o->batch[i].len);
		more = true;
	}
	buf_str(b, "]}]}");
}

/* The request body of the batch, one resourceLogs entry per resource in it. */
static char *otlp__body(struct otlp *o, int k, size_t *len)
{
	struct buf b = { 0 };
	bool more = false;

	buf_str(&b, "{\"resourceLogs\":[");
	for (int i = 0; i < k; i++) {
		int j;

		for (j = 0; j < i && o->batch[j].res != o->batch[i].res; j++)
			;
		if (j < i)
			continue;	/* its resource has its entry already */
		if (more)
			buf_str(&b, ",");
		otlp__group(o, &b, i, k);
		more = true;
	}
	buf_str(&b, "]}");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/*
 * Under mu: how many records to send now (copied into o->batch), 0 after
 * a wait, -1 to stop.
 */
static int otlp__next(struct otlp *o)
{
	int64_t now = now_ms(), due = INT64_MAX, wake;
	int k = o->count < o->cfg.max_batch ? o->count : o->cfg.max_batch;

	if (atomic_load(&o->stop))
		return -1;
	if (otlp__past_deadline(o, now)) {
		otlp__drop_all(o);
		return 0;
	}
	if (o->count)
		due = o->ring[o->head].at_ms + o->cfg.flush_ms;
	if (k && (k == o->cfg.max_batch || o->flushers || now >= due)) {
		for (int i = 0; i < k; i++) {
			o->batch[i] = o->ring[(o->head + i) % o->cfg.queue_max];
			/* resource texts are never freed before otlp__free: safe unlocked */
			o->batch_res[i] = o->res[o->batch[i].res];
		}
		o->busy = true;
		return k;
	}
	/* woken for drops left unsaid, the caller says them and comes back */
	wake = min64(due, otlp__drops_due(o));
	if (wake == INT64_MAX)
		pthread_cond_wait(&o->wake, &o->mu);
	else if (now < wake)
		wait_until(&o->wake, &o->mu, wake);
	return 0;
}

/* Abort the request in flight when a flush deadline passes or otlp__free stops. */
static int otlp__progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			  curl_off_t ulnow)
{
	struct otlp *o = p;

	return atomic_load(&o->stop) || otlp__past_deadline(o, now_ms());
}

/* Keep the start of the answer's body, to say with a refusal. */
static size_t otlp__write(char *data, size_t size, size_t n, void *p)
{
	struct otlp *o = p;
	size_t len = size * n, room = BODY_SAID - o->body_len;

	if (room > len)
		room = len;
	memcpy(o->body + o->body_len, data, room);
	o->body_len += room;
	o->body[o->body_len] = '\0';
	return len;
}

/* Retried: the collector is away or busy (the OTLP/HTTP list), for now. */
static enum otlp_outcome otlp__judge(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		return OTLP_ABORTED;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return OTLP_RETRY;
	default:
		return OTLP_REFUSED;
	}
	if (status >= 200 && status < 300)
		return OTLP_SENT;
	if (status == 429 || status == 502 || status == 503 || status == 504)
		return OTLP_RETRY;
	return OTLP_REFUSED;
}

/* One POST; within a flush, cut short to end by its deadline. */
static void otlp__post(struct otlp *o, const char *body, size_t len, struct otlp_answer *a)
{
	int64_t timeout = o->cfg.timeout_ms, d = atomic_load(&o->deadline);
	curl_off_t after = 0;

	*a = (struct otlp_answer){ .outcome = OTLP_ABORTED };
	if (d)
		timeout = min64(timeout, d - now_ms());
	if (timeout <= 0 || atomic_load(&o->stop))
		return;
	curl_easy_setopt(o->curl, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(o->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(o->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	o->body_len = 0;
	o->body[0] = '\0';
	o->errbuf[0] = '\0';
	a->rc = curl_easy_perform(o->curl);
	if (a->rc == CURLE_OK)
		curl_easy_getinfo(o->curl, CURLINFO_RESPONSE_CODE, &a->status);
	a->outcome = otlp__judge(a->rc, a->status);
	if (a->outcome == OTLP_RETRY && a->status &&
	    !curl_easy_getinfo(o->curl, CURLINFO_RETRY_AFTER, &after) && after > 0)
		a->wait_ms = min64((int64_t)after * 1000, RETRY_AFTER_MAX_MS);
	if (a->outcome != OTLP_SENT) {
		pthread_mutex_lock(&o->mu);
		o->st.failed_requests++;
		pthread_mutex_unlock(&o->mu);
	}
}

/*
 * Wait before sending again: Retry-After when the collector gave one, else
 * 250 ms doubling up to 8 s, less a random part of up to half, so tracers
 * restarted together do not come back in step. false if a flush deadline
 * or a stop came first.
 */
static bool otlp__backoff(struct otlp *o, int attempt, int64_t retry_after_ms)
{
	int64_t wait = min64((int64_t)BACKOFF_FIRST_MS << (attempt < 6 ? attempt : 6),
			     BACKOFF_MAX_MS);
	int64_t until, now;
	bool go;

	wait -= rand_r(&o->seed) % (wait / 2 + 1);
	if (retry_after_ms)
		wait = retry_after_ms;
	until = now_ms() + wait;
	pthread_mutex_lock(&o->mu);
	for (;;) {
		int64_t d = atomic_load(&o->deadline), wake = min64(until, otlp__drops_due(o));

		now = now_ms();
		go = now >= until;
		if (go || atomic_load(&o->stop) || otlp__past_deadline(o, now))
			break;
		if (now >= wake) {
			pthread_mutex_unlock(&o->mu);
			otlp__say_drops(o, false);
			pthread_mutex_lock(&o->mu);
			continue;
		}
		wait_until(&o->wake, &o->mu, d ? min64(d, wake) : wake);
	}
	if (go)
		o->st.retries++;
	pthread_mutex_unlock(&o->mu);
	return go;
}

/* The first failure of an outage is said; the retries are counted. */
static void otlp__say_down(struct otlp *o, const struct otlp_answer *a)
{
	if (o->down)
		return;
	o->down = true;
	o->outage_retries = 0;
	if (a->rc)
		say(o, "collector %s unreachable (%s): retrying, records queue (at most %d)",
		    o->shown, curl_easy_strerror(a->rc), o->cfg.queue_max);
	else
		say(o, "collector %s answered HTTP %ld: retrying, records queue (at most %d)",
		    o->shown, a->status, o->cfg.queue_max);
}

/* A refusal is said once, until a batch goes through or another one comes. */
static void otlp__say_refused(struct otlp *o, int k, const struct otlp_answer *a)
{
	long what = a->rc ? -(long)a->rc : a->status;

	if (what == o->refused_said)
		return;
	o->refused_said = what;
	if (a->rc) {
		/* such as a certificate that does not verify: the details say which */
		say(o, "collector %s: %s: %d records dropped", o->shown,
		    o->errbuf[0] ? o->errbuf : curl_easy_strerror(a->rc), k);
		return;
	}
	for (size_t i = 0; i < o->body_len; i++)
		if ((unsigned char)o->body[i] < 0x20)
			o->body[i] = ' ';	/* one line on stderr */
	say(o, "collector %s refused %d records (HTTP %ld: %s): dropped; later refusals counted",
	    o->shown, k, a->status, o->body_len ? o->body : "no body");
}

/* The batch's end: sent, refused, or left to a flush deadline or to stop. */
static void otlp__settle(struct otlp *o, int k, const struct otlp_answer *a)
{
	pthread_mutex_lock(&o->mu);
	if (a->outcome == OTLP_SENT)
		o->st.sent += k;
	else if (a->outcome == OTLP_REFUSED)
		o->st.dropped += k;
	if (a->outcome != OTLP_ABORTED)
		otlp__pop(o, k);
	else if (!atomic_load(&o->stop))
		otlp__drop_all(o);
	pthread_mutex_unlock(&o->mu);

	if (a->outcome == OTLP_SENT) {
		if (o->down)
			say(o, "collector reachable again: %d records sent after %llu retries", k,
			    (unsigned long long)o->outage_retries);
		o->down = false;
		o->refused_said = 0;
	} else if (a->outcome == OTLP_REFUSED) {
		o->down = false;
		otlp__say_refused(o, k, a);
	}
}

/* Send the k records of o->batch until they are answered, refused or given up. */
static void otlp__send(struct otlp *o, int k)
{
	struct otlp_answer a = { .outcome = OTLP_REFUSED, .rc = CURLE_OUT_OF_MEMORY };
	size_t len;
	char *body = otlp__body(o, k, &len);

	if (!body)
		o->errbuf[0] = '\0';	/* said as curl's out of memory, not the last failure */
	for (int attempt = 0; body; attempt++) {
		otlp__post(o, body, len, &a);
		if (a.outcome != OTLP_RETRY)
			break;
		otlp__say_down(o, &a);
		otlp__say_drops(o, false);
		if (!otlp__backoff(o, attempt, a.wait_ms)) {
			a.outcome = OTLP_ABORTED;
			break;
		}
		o->outage_retries++;
	}
	otlp__settle(o, k, &a);
	free(body);
	pthread_mutex_lock(&o->mu);
	o->busy = false;
	otlp__idle(o);
	pthread_mutex_unlock(&o->mu);
}

static void *otlp__run(void *arg)
{
	struct otlp *o = arg;
	int k;

	do {
		otlp__say_drops(o, false);
		pthread_mutex_lock(&o->mu);
		k = otlp__next(o);
		pthread_mutex_unlock(&o->mu);
		if (k > 0)
			otlp__send(o, k);
	} while (k >= 0);
	return NULL;
}

void otlp__flush(struct otlp *o, int deadline_ms)
{
	int64_t end = now_ms() + (deadline_ms > 0 ? deadline_ms : 0);
	uint64_t late;

	pthread_mutex_lock(&o->mu);
	late = o->late_drops;
	o->flushers++;
	atomic_store(&o->deadline, end);
	pthread_cond_signal(&o->wake);
	/* the sender drops what is left at the deadline; the grace is for curl to end */
	while ((o->count || o->busy) && now_ms() < end + FLUSH_GRACE_MS)
		wait_until(&o->idle, &o->mu, end + FLUSH_GRACE_MS);
	late = o->late_drops - late;
	if (!--o->flushers)
		atomic_store(&o->deadline, 0);
	pthread_mutex_unlock(&o->mu);
	otlp__say_drops(o, true);
	if (late)
		say(o, "dropped %llu records left unsent after %d ms: collector %s still away",
		    (unsigned long long)late, deadline_ms, o->shown);
}

void otlp__stats(struct otlp *o, struct otlp_stats *s)
{
	pthread_mutex_lock(&o->mu);
	*s = o->st;
	s->queued = o->count;
	pthread_mutex_unlock(&o->mu);
}

void otlp__free(struct otlp *o)
{
	if (!o)
		return;
	if (o->started) {
		pthread_mutex_lock(&o->mu);
		atomic_store(&o->stop, true);
		pthread_cond_signal(&o->wake);
		pthread_mutex_unlock(&o->mu);
		pthread_join(o->thread, NULL);
	}
	if (o->ring)
		otlp__pop(o, o->count);
	for (int i = 0; i < o->nres; i++)
		free(o->res[i]);
	free(o->res);
	free(o->ring);
	free(o->batch);
	free(o->batch_res);
	curl_easy_cleanup(o->curl);
	curl_slist_free_all(o->hdrs);
	if (o->curl_global)
		curl_global_cleanup();
	free(o->url);
	free(o->shown);
	pthread_cond_destroy(&o->wake);
	pthread_cond_destroy(&o->idle);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
