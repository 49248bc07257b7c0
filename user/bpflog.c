// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "bpflog.h"

#define LOG_BEGIN "-- BEGIN PROG LOAD LOG --\n"
#define LOG_END "-- END PROG LOAD LOG --"

static enum libbpf_print_level max_level = LIBBPF_WARN;

/* Where the last n lines of [s, end) start. */
static const char *last_lines(const char *s, const char *end, int n)
{
	const char *p = end;

	if (p > s && p[-1] == '\n')
		p--;
	while (p > s && n > 0)
		if (*--p == '\n')
			n--;
	return n > 0 ? s : p + 1;
}

void bpflog__write(FILE *out, const char *msg, int tail_lines)
{
	const char *log = strstr(msg, LOG_BEGIN), *end, *tail;
	int cut = 0;

	if (!log || !(end = strstr(log, LOG_END))) {
		fputs(msg, out);
		return;
	}
	log += strlen(LOG_BEGIN);
	tail = last_lines(log, end, tail_lines);
	for (const char *p = log; p < tail; p++)
		cut += *p == '\n';
	fwrite(msg, 1, log - msg, out);
	if (cut)
		fprintf(out, "... (%d lines of the verifier's log before these; -vv for libbpf's "
			"debug output)\n", cut);
	fputs(tail, out);
}

static int print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *msg;

	if (level > max_level)
		return 0;
	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	bpflog__write(stderr, msg, BPFLOG_TAIL_LINES);
	free(msg);
	return 0;
}

void bpflog__install(bool debug)
{
	max_level = debug ? LIBBPF_DEBUG : LIBBPF_WARN;
	libbpf_set_print(print);
}
