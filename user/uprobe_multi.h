/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uprobe_multi links (Linux 6.6): one BPF link for many probe points of
 * one binary, attached in one call and released in one. Made with the BPF
 * syscall directly, as the UAPI lays it out, so that a libbpf older than
 * the feature can use it.
 */
#ifndef GOMAPWATCH_UPROBE_MULTI_H
#define GOMAPWATCH_UPROBE_MULTI_H

#include <stdint.h>

#define GMW_TRACE_UPROBE_MULTI	48	/* enum bpf_attach_type */

/*
 * A link of prog_fd (loaded with expected_attach_type GMW_TRACE_UPROBE_MULTI)
 * on cnt file offsets of path, each with its cookie (cookies may be NULL),
 * firing only in pid (0: every process). The link's fd, or -1 with errno.
 */
int uprobe_multi__link(int prog_fd, const char *path, const uint64_t *offsets,
		       const uint64_t *cookies, uint32_t cnt, int pid);

#endif
