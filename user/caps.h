/* SPDX-License-Identifier: GPL-2.0 */
/* The capabilities a run needs, checked before anything is loaded. */
#ifndef GOMAPWATCH_CAPS_H
#define GOMAPWATCH_CAPS_H

#include <stdbool.h>
#include <stddef.h>

/* sysexits' EX_NOPERM: a capability is missing */
#define CAPS_EXIT 77

/*
 * 0 if the effective set holds what the run needs: CAP_BPF and
 * CAP_PERFMON (or CAP_SYS_ADMIN, which stands for both), and CAP_SYS_ADMIN
 * itself when stats (--max-overhead times the programs: BPF_ENABLE_STATS).
 * Else -1 with the missing ones named in msg.
 */
int caps__check(bool stats, char *msg, size_t len);
/* Does the effective set hold capability cap? */
bool caps__has(int cap);

#endif
