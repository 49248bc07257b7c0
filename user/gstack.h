/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A goroutine's stack as the Go runtime's traceback prints it: each PC
 * expanded into its inlined frames, runtime frames before the first user
 * frame and compiler-made wrappers hidden, the go statement that created
 * the goroutine and the goroutine that ran it.
 */
#ifndef GOMAPWATCH_GSTACK_H
#define GOMAPWATCH_GSTACK_H

#include <stdbool.h>
#include <stdint.h>
#include "gobin.h"
#include "gomapwatch.h"

#define GSTACK_MAX	160	/* frames after inline expansion */

struct gframe {
	uint64_t pc;		/* as recorded (load bias included) */
	const char *func, *file;	/* never NULL: "?" when unknown */
	int line;
	bool inlined;		/* inlined into the next frame */
	bool hidden;		/* not shown unless every frame is asked for */
};

struct gstack {
	int n;
	struct gframe f[GSTACK_MAX];
	bool truncated;		/* the walk stopped at its frame limit */
	bool left;		/* only its caller: it left before the rest was read */
	struct gframe created;	/* the go statement; pc 0 if unknown */
	uint64_t parent_goid;	/* the goroutine that ran it, 0 if unknown */
};

/*
 * s's stack: the probed instruction, the caller (ret_ip), then the
 * frame-pointer walk. bias: the process's PIE load bias. all: hide
 * nothing (the runtime's frames and wrappers are shown too).
 */
void gstack__load(struct gstack *st, const struct gobin *bin, uint64_t bias,
		  const struct gmw_side *s, bool all);
/* Frames of one return address, as the first frame the user would see. */
const struct gframe *gstack__first(const struct gstack *st);
/* Is this a frame the runtime's traceback hides (runtime.*, not exported)? */
bool gframe__runtime(const char *func);

#endif
