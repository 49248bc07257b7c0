// SPDX-License-Identifier: GPL-2.0
/*
 * The OTLP/HTTP transport against a small HTTP server on a loopback port,
 * told what to answer: 200, 503 a few times (with Retry-After or not),
 * 400, or nothing at all (a bound socket that never listens). Time bounds
 * are generous: the machine running the tests may be busy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <yyjson.h>
#include "otlp.h"

#define MAXREQ 32

struct srv {
	int fd;
	int port;
	bool listening;
	pthread_t thread;
	atomic_bool stop;
	/* what to answer: n503 times 503 (with Retry-After: 1 if asked), then status */
	int n503;
	bool retry_after;
	int status;
	/* what came, under mu */
	pthread_mutex_t mu;
	int nreq, nconn;
	char *head[MAXREQ], *body[MAXREQ];
	int64_t at_ms[MAXREQ];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait up to 100 ms for fd to be readable; false on a stop. */
static bool srv_ready(struct srv *s, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (!atomic_load(&s->stop))
		if (poll(&p, 1, 100) > 0)
			return true;
	return false;
}

/* One request: headers up to the blank line, then Content-Length bytes. */
static bool srv_read(struct srv *s, int fd, char **head, char **body)
{
	size_t len = 0, cap = 1 << 16, need = 0;
	char *buf = malloc(cap), *end = NULL;

	for (;;) {
		ssize_t n;

		if (end && len >= need)
			break;
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		if (!srv_ready(s, fd) || (n = recv(fd, buf + len, cap - len - 1, 0)) <= 0) {
			free(buf);
			return false;
		}
		len += n;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");

			need = end + 4 - buf + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		}
	}
	*head = strndup(buf, end + 4 - buf);
	*body = strdup(end + 4);
	free(buf);
	return true;
}

static void srv_answer(struct srv *s, int fd, int nreq)
{
	const char *body = "{}", *extra = "";
	int status = s->status;
	char out[512];
	int n;

	if (nreq < s->n503) {
		status = 503;
		body = "busy";
		extra = s->retry_after ? "Retry-After: 1\r\n" : "";
	} else if (status == 400) {
		body = "{\"code\":3,\"message\":\"log record\\n has no body\"}";
	}
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n%s", status,
		     strlen(body), extra, body);
	send(fd, out, n, MSG_NOSIGNAL);
}

static void srv_conn(struct srv *s, int fd)
{
	char *head, *body;

	while (srv_read(s, fd, &head, &body)) {
		int n;

		pthread_mutex_lock(&s->mu);
		n = s->nreq;
		if (n < MAXREQ) {
			s->head[n] = head, s->body[n] = body, s->at_ms[n] = now_ms();
			s->nreq++;
		} else {
			free(head), free(body);
		}
		pthread_mutex_unlock(&s->mu);
		srv_answer(s, fd, n);
	}
	close(fd);
}

static void *srv_run(void *arg)
{
	struct srv *s = arg;

	while (srv_ready(s, s->fd)) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			continue;
		pthread_mutex_lock(&s->mu);
		s->nconn++;
		pthread_mutex_unlock(&s->mu);
		srv_conn(s, c);
	}
	return NULL;
}

/* A server on 127.0.0.1; with listen false, a port that refuses connections. */
static struct srv *srv_start(bool listen_too, int status, int n503, bool retry_after)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	s->status = status, s->n503 = n503, s->retry_after = retry_after;
	pthread_mutex_init(&s->mu, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	s->listening = listen_too;
	if (listen_too) {
		assert_int_equal(listen(s->fd, 4), 0);
		assert_int_equal(pthread_create(&s->thread, NULL, srv_run, s), 0);
	}
	return s;
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, true);
	if (s->listening)
		pthread_join(s->thread, NULL);
	close(s->fd);
	for (int i = 0; i < s->nreq; i++)
		free(s->head[i]), free(s->body[i]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Wait up to 10 s for n requests; their count. */
static int srv_wait(struct srv *s, int n)
{
	int64_t end = now_ms() + 10000;
	int got;

	for (;;) {
		pthread_mutex_lock(&s->mu);
		got = s->nreq;
		pthread_mutex_unlock(&s->mu);
		if (got >= n || now_ms() > end)
			return got;
		usleep(10000);
	}
}

static char *url_of(struct srv *s)
{
	static char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
	return url;
}

static struct otlp *new_otlp(struct otlp_cfg *cfg)
{
	struct otlp *o;
	char err[256] = "";

	if (otlp__new(&o, cfg, err, sizeof(err)))
		fail_msg("otlp__new: %s", err);
	return o;
}

static char *rec(int i)
{
	char *s;

	assert_true(asprintf(&s, "{\"timeUnixNano\":\"1\",\"body\":{\"stringValue\":\"r%d\"}}", i) >
		    0);
	return s;
}

static int add_resource(struct otlp *o, int pid)
{
	char json[128];

	snprintf(json, sizeof(json),
		 "{\"attributes\":[{\"key\":\"process.pid\","
		 "\"value\":{\"intValue\":\"%d\"}}]}", pid);
	return otlp__resource(o, json);
}

/* stderr into a file while the sender talks, to check what it says. */
struct capture {
	int saved;
	FILE *f;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	c->saved = dup(2);
	dup2(fileno(c->f), 2);
}

/* The text said since capture_start (caller frees). */
static char *capture_end(struct capture *c)
{
	long n;
	char *s;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	n = ftell(c->f);
	s = calloc(1, n + 1);
	rewind(c->f);
	assert_int_equal(fread(s, 1, n, c->f), n);
	fclose(c->f);
	fputs(s, stderr);	/* still shown with the test's output */
	return s;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/*
 * One request body: each resourceLogs entry's pid and its records' numbers,
 * as "pid:n,n;pid:n;" (scope checked on the way).
 */
static void body_shape(const char *body, char *out, size_t outlen)
{
	yyjson_doc *doc = yyjson_read(body, strlen(body), 0);
	yyjson_val *rl, *r;
	size_t i, max, o = 0;

	assert_non_null(doc);
	rl = yyjson_obj_get(yyjson_doc_get_root(doc), "resourceLogs");
	assert_true(yyjson_is_arr(rl));
	out[0] = '\0';
	yyjson_arr_foreach(rl, i, max, r) {
		yyjson_val *attr = yyjson_arr_get(yyjson_obj_getn(yyjson_obj_get(r, "resource"),
								  "attributes", 10), 0);
		yyjson_val *pid = yyjson_obj_get(yyjson_obj_get(attr, "value"), "intValue");
		yyjson_val *sl = yyjson_arr_get(yyjson_obj_get(r, "scopeLogs"), 0);
		yyjson_val *scope = yyjson_obj_get(sl, "scope"), *lr, *l;
		size_t j, lmax;

		assert_int_equal(yyjson_arr_size(yyjson_obj_get(r, "scopeLogs")), 1);
		assert_string_equal(yyjson_get_str(yyjson_obj_get(scope, "name")), "gomapwatch");
		assert_string_equal(yyjson_get_str(yyjson_obj_get(scope, "version")), "0.1");
		o += snprintf(out + o, outlen - o, "%s:", yyjson_get_str(pid));
		lr = yyjson_obj_get(sl, "logRecords");
		yyjson_arr_foreach(lr, j, lmax, l) {
			const char *b = yyjson_get_str(yyjson_obj_get(yyjson_obj_get(l, "body"),
								      "stringValue"));

			o += snprintf(out + o, outlen - o, "%s%s", j ? "," : "", b + 1);
		}
		o += snprintf(out + o, outlen - o, ";");
	}
	yyjson_doc_free(doc);
}

static void check_stats(struct otlp *o, uint64_t sent, uint64_t dropped, uint64_t retries,
			uint64_t failed)
{
	struct otlp_stats st;

	otlp__stats(o, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.sent, sent);
	assert_int_equal(st.dropped, dropped);
	assert_int_equal(st.retries, retries);
	assert_int_equal(st.failed_requests, failed);
}

static void bad_url_or_header_is_refused(void **state)
{
	static const char *const urls[][2] = {
		{ "ftp://127.0.0.1/", "not an http:// or https:// URL" },
		{ "127.0.0.1:4318", "not an http:// or https:// URL" },
		{ "", "not an http:// or https:// URL" },
		{ "http://", "\"http://\": " },
		{ "http://exa mple:4318", "\"http://exa mple:4318\": " },
	};
	static const char *const hdrs[][2] = {
		{ "Authorization", "\"Authorization\": expected NAME=VALUE" },
		{ "Authorization: Bearer s3cret", "\"Authorization...\": expected NAME=VALUE" },
		{ "=s3cret", "\"=...\": expected NAME=VALUE, NAME a header name" },
		{ "Bad Name=s3cret", "\"Bad Name=...\": expected NAME=VALUE, NAME a header name" },
		{ "X-Ok=s3cret\r\nInjected: 1", "\"X-Ok=...\": a control character in the value" },
	};
	struct otlp_cfg cfg = { .quiet = true };
	struct otlp *o = (struct otlp *)1;
	char err[256];

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		cfg.url = urls[i][0];
		err[0] = '\0';
		assert_int_equal(otlp__new(&o, &cfg, err, sizeof(err)), -1);
		assert_null(o);
		if (!strstr(err, urls[i][1]))
			fail_msg("url \"%s\": \"%s\"", urls[i][0], err);
	}
	cfg.url = "http://127.0.0.1:4318";
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		cfg.headers = &hdrs[i][0];
		cfg.nheaders = 1;
		err[0] = '\0';
		assert_int_equal(otlp__new(&o, &cfg, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "--otlp-header \""));
		assert_null(strstr(err, "s3cret"));	/* values are often credentials */
		if (!strstr(err, hdrs[i][1]))
			fail_msg("header \"%s\": \"%s\"", hdrs[i][0], err);
	}
}

static void url_gets_v1_logs_once(void **state)
{
	static const char *const urls[][2] = {
		{ "http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/logs" },
		{ "http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/logs" },
		{ "http://127.0.0.1:4318/v1/logs", "http://127.0.0.1:4318/v1/logs" },
		{ "https://otel.example/otlp/", "https://otel.example/otlp/v1/logs" },
		{ "HTTPS://otel.example:443/a?t=x", "https://otel.example:443/a/v1/logs?t=x" },
		{ "http://user:secret@127.0.0.1:4318", "http://127.0.0.1:4318/v1/logs" },
	};

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct otlp_cfg cfg = { .url = urls[i][0], .quiet = true };
		struct otlp *o = new_otlp(&cfg);

		assert_string_equal(otlp__url(o), urls[i][1]);
		otlp__free(o);
	}
}

static void headers_arrive(void **state)
{
	static const char *const hdrs[] = { "Authorization=Bearer abc=", " X-Scope-OrgID = t1 ",
					    "X-Empty=" };
	struct srv *s = srv_start(true, 200, 0, false);
	struct otlp_cfg cfg = { .url = url_of(s), .headers = hdrs, .nheaders = 3, .quiet = true };
	struct otlp *o = new_otlp(&cfg);
	const char *h;

	assert_int_equal(otlp__push(o, add_resource(o, 1), rec(0)), 0);
	otlp__flush(o, 10000);
	assert_int_equal(srv_wait(s, 1), 1);
	h = s->head[0];
	assert_true(!strncmp(h, "POST /v1/logs HTTP/1.1\r\n", 24));
	assert_non_null(strstr(h, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(h, "\r\nUser-Agent: gomapwatch/0.1\r\n"));
	assert_non_null(strstr(h, "\r\nAuthorization: Bearer abc=\r\n"));
	assert_non_null(strstr(h, "\r\nX-Scope-OrgID: t1\r\n"));
	assert_non_null(strstr(h, "\r\nX-Empty:"));
	assert_null(strcasestr(h, "\r\nExpect:"));
	check_stats(o, 1, 0, 0, 0);
	otlp__free(o);
	srv_stop(s);
}

/* Full batches leave at once, one resourceLogs entry per resource, in push order. */
static void batches_are_grouped_per_resource(void **state)
{
	struct srv *s = srv_start(true, 200, 0, false);
	struct otlp_cfg cfg = { .url = url_of(s), .max_batch = 4, .flush_ms = 60000,
				.quiet = true };
	struct otlp *o = new_otlp(&cfg);
	int r[2] = { add_resource(o, 100), add_resource(o, 200) };
	static const int which[] = { 0, 1, 0, 0, 1, 1, 1, 0 };
	char shape[256];

	assert_int_equal(add_resource(o, 200), r[1]);
	assert_int_equal(otlp__push(o, 7, rec(99)), -1);	/* no such resource */
	for (int i = 0; i < 8; i++)
		assert_int_equal(otlp__push(o, r[which[i]], rec(i)), 0);
	/* flush_ms is a minute away: only full batches can have left */
	assert_int_equal(srv_wait(s, 2), 2);
	body_shape(s->body[0], shape, sizeof(shape));
	assert_string_equal(shape, "100:0,2,3;200:1;");
	body_shape(s->body[1], shape, sizeof(shape));
	assert_string_equal(shape, "200:4,5,6;100:7;");

	for (int i = 8; i < 11; i++)
		assert_int_equal(otlp__push(o, r[1], rec(i)), 0);
	otlp__flush(o, 10000);
	assert_int_equal(srv_wait(s, 3), 3);
	body_shape(s->body[2], shape, sizeof(shape));
	assert_string_equal(shape, "200:8,9,10;");
	assert_int_equal(s->nconn, 1);	/* one connection, kept alive */
	check_stats(o, 11, 1, 0, 0);
	otlp__free(o);
	srv_stop(s);
}

static void lone_record_leaves_after_flush_ms(void **state)
{
	struct srv *s = srv_start(true, 200, 0, false);
	struct otlp_cfg cfg = { .url = url_of(s), .flush_ms = 50, .quiet = true };
	struct otlp *o = new_otlp(&cfg);
	int64_t end = now_ms() + 10000;
	struct otlp_stats st = { 0 };

	assert_int_equal(otlp__push(o, add_resource(o, 1), rec(0)), 0);
	/* no flush: the sender's own timer sends it */
	while (!st.sent && now_ms() < end) {
		usleep(10000);
		otlp__stats(o, &st);
	}
	assert_int_equal(srv_wait(s, 1), 1);
	check_stats(o, 1, 0, 0, 0);
	otlp__free(o);
	srv_stop(s);
}

static void retried_through_503(void **state)
{
	struct srv *s = srv_start(true, 200, 2, false);
	struct otlp_cfg cfg = { .url = url_of(s), .flush_ms = 10 };
	struct otlp *o = new_otlp(&cfg);
	int r = add_resource(o, 1);
	struct capture c;
	char *said;

	capture_start(&c);
	for (int i = 0; i < 5; i++)
		assert_int_equal(otlp__push(o, r, rec(i)), 0);
	otlp__flush(o, 20000);
	said = capture_end(&c);
	check_stats(o, 5, 0, 2, 2);
	assert_int_equal(srv_wait(s, 3), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(count_of(s->body[i], "\"stringValue\""), 5);
	assert_int_equal(count_of(said, "HTTP 503: retrying, records queue (at most 4096)"), 1);
	assert_non_null(strstr(said, "collector reachable again: 5 records sent after 2 retries"));
	free(said);
	otlp__free(o);
	srv_stop(s);
}

static void retry_after_is_honoured(void **state)
{
	struct srv *s = srv_start(true, 200, 1, true);
	struct otlp_cfg cfg = { .url = url_of(s), .flush_ms = 10, .quiet = true };
	struct otlp *o = new_otlp(&cfg);

	assert_int_equal(otlp__push(o, add_resource(o, 1), rec(0)), 0);
	otlp__flush(o, 20000);
	check_stats(o, 1, 0, 1, 1);
	assert_int_equal(srv_wait(s, 2), 2);
	/* a second, less the clock's granularity; the jittered backoff would be <= 250 ms */
	assert_true(s->at_ms[1] - s->at_ms[0] >= 900);
	otlp__free(o);
	srv_stop(s);
}

static void refused_batch_is_dropped_and_said_once(void **state)
{
	struct srv *s = srv_start(true, 400, 0, false);
	struct otlp_cfg cfg = { .url = url_of(s), .flush_ms = 10 };
	struct otlp *o = new_otlp(&cfg);
	int r = add_resource(o, 1);
	struct capture c;
	char *said;

	capture_start(&c);
	for (int i = 0; i < 3; i++)
		assert_int_equal(otlp__push(o, r, rec(i)), 0);
	otlp__flush(o, 10000);
	check_stats(o, 0, 3, 0, 1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(otlp__push(o, r, rec(i)), 0);
	otlp__flush(o, 10000);
	said = capture_end(&c);
	check_stats(o, 0, 5, 0, 2);
	assert_int_equal(srv_wait(s, 2), 2);
	assert_int_equal(count_of(said, "gomapwatch: otlp: "), 1);
	assert_non_null(strstr(said, "refused 3 records (HTTP 400: {\"code\":3,\"message\":"
				     "\"log record\\n has no body\"}): dropped"));
	free(said);
	otlp__free(o);
	srv_stop(s);
}

static void flush_keeps_its_deadline_with_no_collector(void **state)
{
	struct srv *s = srv_start(false, 0, 0, false);
	struct otlp_cfg cfg = { .url = url_of(s), .flush_ms = 10 };
	struct otlp *o = new_otlp(&cfg);
	int r = add_resource(o, 1);
	struct otlp_stats st;
	struct capture c;
	int64_t t;
	char *said;

	capture_start(&c);
	for (int i = 0; i < 5; i++)
		assert_int_equal(otlp__push(o, r, rec(i)), 0);
	t = now_ms();
	otlp__flush(o, 500);
	t = now_ms() - t;
	said = capture_end(&c);
	assert_true(t < 1500);
	otlp__stats(o, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.dropped, 5);
	assert_true(st.failed_requests >= 1);
	assert_int_equal(count_of(said, "unreachable (Couldn't connect to server): retrying"), 1);
	assert_non_null(strstr(said, "dropped 5 records left unsent after 500 ms"));
	free(said);
	otlp__free(o);
	srv_stop(s);
}

static void full_queue_drops_and_counts(void **state)
{
	struct srv *s = srv_start(false, 0, 0, false);
	struct otlp_cfg cfg = { .url = url_of(s), .queue_max = 10, .flush_ms = 10 };
	struct otlp *o = new_otlp(&cfg);
	int r = add_resource(o, 1), refused = 0;
	struct otlp_stats st;
	struct capture c;
	char *said;

	capture_start(&c);
	for (int i = 0; i < 25; i++)
		refused += otlp__push(o, r, rec(i)) < 0;
	assert_int_equal(refused, 15);
	otlp__stats(o, &st);
	assert_int_equal(st.queued, 10);
	assert_int_equal(st.dropped, 15);
	otlp__flush(o, 1000);
	said = capture_end(&c);
	otlp__stats(o, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.dropped, 25);
	assert_non_null(strstr(said, "records queue (at most 10)"));
	assert_non_null(strstr(said, "(queue full), 15 in all"));
	free(said);
	otlp__free(o);
	srv_stop(s);
}

/* otlp__free stops a sender waiting to retry without waiting it out. */
static void free_stops_a_retrying_sender(void **state)
{
	struct srv *s = srv_start(false, 0, 0, false);
	struct otlp_cfg cfg = { .url = url_of(s), .flush_ms = 10, .quiet = true };
	struct otlp *o = new_otlp(&cfg);
	int r = add_resource(o, 1);
	struct otlp_stats st;
	int64_t t;

	for (int i = 0; i < 3; i++)
		assert_int_equal(otlp__push(o, r, rec(i)), 0);
	/* into the backoff: 1 + 2 + 4 s after the third failure */
	for (t = now_ms() + 10000; now_ms() < t;) {
		otlp__stats(o, &st);
		if (st.retries >= 2)
			break;
		usleep(10000);
	}
	assert_true(st.retries >= 2);
	t = now_ms();
	otlp__free(o);
	assert_true(now_ms() - t < 1500);
	srv_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_url_or_header_is_refused),
		cmocka_unit_test(url_gets_v1_logs_once),
		cmocka_unit_test(headers_arrive),
		cmocka_unit_test(batches_are_grouped_per_resource),
		cmocka_unit_test(lone_record_leaves_after_flush_ms),
		cmocka_unit_test(retried_through_503),
		cmocka_unit_test(retry_after_is_honoured),
		cmocka_unit_test(refused_batch_is_dropped_and_said_once),
		cmocka_unit_test(flush_keeps_its_deadline_with_no_collector),
		cmocka_unit_test(full_queue_drops_and_counts),
		cmocka_unit_test(free_stops_a_retrying_sender),
	};

	return cmocka_run_group_tests_name("otlp", tests, NULL, NULL);
}
