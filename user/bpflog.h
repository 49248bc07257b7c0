/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libbpf's messages on stderr: its warnings always (as libbpf-tools do),
 * its debug output on request. A verifier log is cut to its tail, where
 * the verifier says what it refused.
 */
#ifndef GOMAPWATCH_BPFLOG_H
#define GOMAPWATCH_BPFLOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define BPFLOG_TAIL_LINES 30

void bpflog__install(bool debug);
/* Write msg to out, a verifier log in it cut to its last tail_lines lines. */
void bpflog__write(FILE *out, const char *msg, int tail_lines);

#endif
