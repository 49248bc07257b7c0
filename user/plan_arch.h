/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between plan.c, which decides what to probe, and the per-architecture
 * decoders that find the instructions (x86-64 in plan.c, arm64 in
 * plan_arm64.c). Internal to the planner.
 */
#ifndef GOMAPWATCH_PLAN_ARCH_H
#define GOMAPWATCH_PLAN_ARCH_H

#include <capstone/capstone.h>
#include <sys/types.h>
#include "plan.h"

/* One function's instructions, and what the map checks look like. */
struct disasm {
	csh cs;
	cs_insn *insn;
	size_t n;
	const struct gobin *bin;
	uint64_t fatal_addr[3];
	uint8_t flag_mask;	/* hashWriting = 4; swiss writing: any bit */
	int flag_off;
	uint64_t *noreturn;	/* sorted entries of functions that never return */
	size_t nnoreturn;
	uint64_t fn_start, fn_end;	/* the function loaded */
};

/* plan.c: does a call to target never return? */
bool disasm__noreturn(const struct disasm *d, uint64_t target);

/* plan.c: record a probe on in (its file offset, whether it is emulated). */
int hooked_fn__add_point(struct hooked_fn *f, const struct gobin *b, const cs_insn *in,
			 enum probe_role role);

/* plan.c: the same, as an exit probe: why there, and the map's register (or -1). */
int hooked_fn__add_exit(struct hooked_fn *f, const struct gobin *b, const cs_insn *in,
			enum exit_reason why, int map_reg);

/* How control leaves one instruction, for the walk over a function's paths. */
enum flow {
	FLOW_NEXT,	/* to the next instruction (calls that return included) */
	FLOW_JUMP,	/* to the target only */
	FLOW_COND,	/* to the target or the next instruction */
	FLOW_LEAVE,	/* out of the function: a return, or a jump elsewhere */
	FLOW_STOP,	/* nowhere: a call that never returns (throw, panic), a trap */
	FLOW_UNKNOWN,	/* an indirect jump */
};

/* plan_arm64.c: the same steps as plan.c's x86-64 ones, for EM_AARCH64. */
int arm64__open(struct disasm *d, const struct gobin *b, char *err, size_t errlen);
int arm64__load(struct disasm *d, const struct gofunc *gf, char *err, size_t errlen);
const cs_insn *arm64__entry_insn(const struct disasm *d);
int arm64__flag_exits(const struct disasm *d, struct hooked_fn *f);
int arm64__ret_exits(const struct disasm *d, struct hooked_fn *f);
bool arm64_insn__emulated(const cs_insn *in);
enum flow arm64__flow(const struct disasm *d, const cs_insn *in, uint64_t *target);
ssize_t arm64__index(const struct disasm *d, uint64_t addr);

#endif
