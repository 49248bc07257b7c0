/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Probe planning: which runtime functions to hook, and on which instructions.
 * Decided by disassembling each function (capstone), never by byte patterns.
 */
#ifndef GOMAPWATCH_PLAN_H
#define GOMAPWATCH_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gobin.h"
#include "offsets.h"

enum probe_role {
	ROLE_WRITE_ENTER,	/* mapassign*, mapdelete*, mapclear */
	ROLE_WRITE_EXIT,
	ROLE_READ,		/* mapaccess*, map iteration start */
	ROLE_ITER_NEXT,		/* mapiternext / mapIterNext */
	ROLE_FATAL,		/* runtime.fatal, runtime.throw */
	ROLE_PANIC,		/* runtime.gopanic */
	ROLE_FATALPANIC,	/* runtime.fatalpanic */
};

enum exit_strategy {
	EXIT_NONE,		/* not a write: no exit probe */
	EXIT_FLAG_CHECK,	/* the write-flag check before the flag is cleared */
	EXIT_RET,		/* every RET: the check was not found */
};

/* Why an exit probe sits where it does. */
enum exit_reason {
	WHY_NONE,		/* not an exit */
	WHY_FLAG_CHECK,		/* the write-flag check before the flag is cleared */
	WHY_EARLY_RETURN,	/* a way out that does not pass a flag check */
	WHY_RET,		/* a RET of a function without a flag check */
};

#define PLAN_MAX_POINTS 32

struct probe_point {
	uint64_t addr;		/* link-time virtual address */
	uint64_t file_off;	/* what the uprobe attaches to */
	enum probe_role role;
	enum exit_reason why;
	int map_reg;		/* exits: register holding the map there (GMW_REG_*), or -1 */
	bool emulated;		/* a jump the kernel emulates, not single-steps */
	char insn[64];		/* "jbe 0x40fdc4" */
};

struct hooked_fn {
	char name[96];
	uint64_t start, end;
	uint8_t op;		/* enum gmw_op, 0 for fatal/panic hooks */
	uint8_t keyform;	/* enum gmw_keyform: how it is given the key */
	/*
	 * Its entry also records goroutine -> map: some exit cannot name the
	 * map from a register, or the function can panic once inside.
	 */
	bool owner;
	enum exit_strategy exit;
	int npoints;
	struct probe_point points[PLAN_MAX_POINTS];
};

struct plan_opts {
	bool reads;		/* also hook reads and iteration */
	bool force_ret;		/* exits on every RET even where a flag check exists */
};

struct plan {
	struct hooked_fn *fns;
	int nfns;
	int nwrite_fns;		/* map functions that write */
};

/* 0, or -1 with a one-line reason in err. */
int plan__build(struct plan *p, const struct gobin *b, const struct go_offsets *o,
		const struct plan_opts *opts, char *err, size_t errlen);
void plan__free(struct plan *p);
const char *probe_role__name(enum probe_role r);
const char *exit_strategy__name(enum exit_strategy s);
const char *exit_reason__name(enum exit_reason w);
int plan__npoints(const struct plan *p);
/* The hooked function holding link-time address addr, or -1. */
int plan__fn_at(const struct plan *p, uint64_t addr);

#endif
