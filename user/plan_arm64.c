// SPDX-License-Identifier: GPL-2.0
/*
 * Probe planning on arm64 (Go >= 1.18: ABIInternal, g in R28). The same
 * placements as on x86-64: entry on the B.LS after the stack-bound check,
 * exits on the write-flag checks (TBZ/TBNZ, CBZ/CBNZ, or a B.EQ/B.NE after
 * TST/CMP) whose flag-clear side calls fatal("concurrent map ...").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plan_arch.h"

/* BRK #0xf00d: stands in for a word capstone cannot decode. */
static const uint8_t opaque_word[4] = { 0xa0, 0x01, 0x3e, 0xd4 };

/* What the scan knows about the write flag at one instruction. */
struct flagscan {
	uint32_t raw;	/* registers holding the flag byte as loaded */
	uint32_t zero;	/* registers that are zero exactly when the flag is clear */
	bool z_clear;	/* NZCV.Z is set exactly when the flag is clear */
};

/* W0..W30 and X0..X30 -> 0..30; SP, ZR and the rest -> -1. */
static int reg_num(unsigned int r)
{
	if (r >= ARM64_REG_X0 && r <= ARM64_REG_X28)
		return r - ARM64_REG_X0;
	if (r >= ARM64_REG_W0 && r <= ARM64_REG_W30)
		return r - ARM64_REG_W0;
	if (r == ARM64_REG_X29)
		return 29;
	return r == ARM64_REG_X30 ? 30 : -1;
}

static int op_reg(const cs_insn *in, int k)
{
	const cs_arm64 *a = &in->detail->arm64;

	return k < a->op_count && a->operands[k].type == ARM64_OP_REG ?
		       reg_num(a->operands[k].reg) : -1;
}

/* The immediate operand k, shifted as printed ("#1, lsl #12"). */
static bool op_imm(const cs_insn *in, int k, uint64_t *v)
{
	const cs_arm64_op *op = &in->detail->arm64.operands[k < 0 ? 0 : k];

	if (k < 0 || k >= in->detail->arm64.op_count || op->type != ARM64_OP_IMM)
		return false;
	*v = (uint64_t)op->imm << (op->shift.type == ARM64_SFT_LSL ? op->shift.value : 0);
	return true;
}

static bool has_reg_bit(uint32_t set, int r)
{
	return r >= 0 && (set >> r) & 1;
}

static bool is_bcond(const cs_insn *in)
{
	arm64_cc cc = in->detail->arm64.cc;

	return in->id == ARM64_INS_B && cc != ARM64_CC_INVALID && cc != ARM64_CC_AL &&
	       cc != ARM64_CC_NV;
}

static bool is_cond_branch(const cs_insn *in)
{
	return is_bcond(in) || in->id == ARM64_INS_CBZ || in->id == ARM64_INS_CBNZ ||
	       in->id == ARM64_INS_TBZ || in->id == ARM64_INS_TBNZ;
}

/*
 * After these the next instruction is reached only by a jump, or (calls)
 * every register but g, SP and FP may have changed: Go's ABI saves none.
 */
static bool ends_block(const cs_insn *in)
{
	switch (in->id) {
	case ARM64_INS_B:
		return !is_bcond(in);
	case ARM64_INS_BL:
	case ARM64_INS_BLR:
	case ARM64_INS_BR:
	case ARM64_INS_RET:
	case ARM64_INS_BRK:
		return true;
	default:
		return false;
	}
}

/* Branch target: the last operand of B, BL, B.cond, CBZ, TBZ. */
static uint64_t branch_target(const cs_insn *in)
{
	uint64_t t = 0;

	return op_imm(in, in->detail->arm64.op_count - 1, &t) ? t : 0;
}

/* Every word was decoded (load guarantees it): index by address. */
static const cs_insn *insn_at(const struct disasm *d, uint64_t addr)
{
	uint64_t i;

	if (!d->n || addr < d->insn[0].address || (addr - d->insn[0].address) % 4)
		return NULL;
	i = (addr - d->insn[0].address) / 4;
	return i < d->n ? &d->insn[i] : NULL;
}

static uint32_t regs_written(const struct disasm *d, const cs_insn *in)
{
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;
	uint32_t mask = 0;

	if (cs_regs_access(d->cs, in, rd, &nrd, wr, &nwr))
		return ~0u;
	for (int i = 0; i < nwr; i++) {
		int r = reg_num(wr[i]);

		if (r >= 0)
			mask |= 1u << r;
	}
	return mask;
}

static bool is_map_fatal(const struct disasm *d, uint64_t target)
{
	for (int i = 0; i < 3; i++)
		if (d->fatal_addr[i] && d->fatal_addr[i] == target)
			return true;
	return false;
}

static bool is_message(const struct disasm *d, uint64_t msg, uint64_t len)
{
	const uint8_t *s;

	if (len < 14 || len > 128)
		return false;
	s = gobin__bytes(d->bin, msg, len);
	return s && !memcmp(s, "concurrent map", 14);
}

/*
 * Does the block at addr call fatal("concurrent map ...")? The message is
 * rebuilt from ADRP+ADD into R0 and its length from the MOVZ into R1.
 */
static bool leads_to_map_fatal(const struct disasm *d, uint64_t addr)
{
	const cs_insn *in = insn_at(d, addr);
	uint64_t msg = 0, len = 0, v;

	for (int steps = 0; in && steps < 12; steps++) {
		int r = op_reg(in, 0);

		if (in->id == ARM64_INS_BL)
			return is_map_fatal(d, branch_target(in)) && is_message(d, msg, len);
		if (in->id == ARM64_INS_B && !is_bcond(in)) {
			in = insn_at(d, branch_target(in));
			continue;
		}
		if (ends_block(in) || is_cond_branch(in))
			return false;
		if (r == 0 && (in->id == ARM64_INS_ADRP || in->id == ARM64_INS_ADR) &&
		    op_imm(in, 1, &v))
			msg = v;
		else if (r == 0 && in->id == ARM64_INS_ADD && op_reg(in, 1) == 0 && op_imm(in, 2, &v))
			msg += v;
		else if (r == 1 && (in->id == ARM64_INS_MOVZ || in->id == ARM64_INS_MOV) &&
			 op_imm(in, 1, &v))
			len = v;
		else if (r == 1 && in->id == ARM64_INS_ORR && op_imm(in, 2, &v) &&
			 in->detail->arm64.operands[1].reg == ARM64_REG_XZR)
			len = v;
		else if (regs_written(d, in) & 3)
			msg = len = 0;
		in = insn_at(d, in->address + 4);
	}
	return false;
}

/* Is in a load of the map's write flag (LDRB/LDURB off(Rn))? Its register. */
static int flag_load(const struct disasm *d, const cs_insn *in)
{
	const cs_arm64 *a = &in->detail->arm64;
	const cs_arm64_op *m = &a->operands[1];

	if ((in->id != ARM64_INS_LDRB && in->id != ARM64_INS_LDURB) || a->op_count != 2 ||
	    m->type != ARM64_OP_MEM || a->writeback)
		return -1;
	if (m->mem.disp != d->flag_off || m->mem.index != ARM64_REG_INVALID ||
	    m->mem.base == ARM64_REG_SP || m->mem.base == ARM64_REG_X29)
		return -1;
	return op_reg(in, 0);
}

/* An immediate that keeps only write-flag bits, and at least one. */
static bool is_flag_bits(const struct disasm *d, uint64_t imm)
{
	return (imm & d->flag_mask) && !(imm & 0xff & ~(uint64_t)d->flag_mask);
}

/* TST Rn, #flagbits or CMP Rn, #0 on a flag register: Z = flag clear. */
static bool is_flag_compare(const struct disasm *d, const cs_insn *in, const struct flagscan *s)
{
	uint64_t v;

	if (in->id == ARM64_INS_TST)
		return has_reg_bit(s->raw, op_reg(in, 0)) && op_imm(in, 1, &v) &&
		       is_flag_bits(d, v);
	if (in->id == ARM64_INS_CMP)
		return has_reg_bit(s->zero, op_reg(in, 0)) && op_imm(in, 1, &v) && v == 0;
	return false;
}

/* Carry the flag registers across one instruction. */
static void flagscan__step(struct flagscan *s, const struct disasm *d, const cs_insn *in)
{
	uint32_t raw = 0, zero = 0, w;
	int src = op_reg(in, 1), dst;
	uint64_t v;

	if (ends_block(in)) {
		memset(s, 0, sizeof(*s));
		return;
	}
	if (is_flag_compare(d, in, s)) {
		s->z_clear = true;
		return;
	}
	if (in->detail->arm64.update_flags)
		s->z_clear = false;
	dst = flag_load(d, in);
	if (dst >= 0) {
		raw = 1u << dst;
		zero = d->flag_mask == 0xff ? raw : 0;
	} else if ((dst = op_reg(in, 0)) >= 0 && in->id == ARM64_INS_MOV &&
		   in->detail->arm64.op_count == 2 && src >= 0) {
		raw = has_reg_bit(s->raw, src) << dst;
		zero = has_reg_bit(s->zero, src) << dst;
	} else if (dst >= 0 && in->id == ARM64_INS_AND && has_reg_bit(s->raw, src) &&
		   op_imm(in, 2, &v) && is_flag_bits(d, v)) {
		zero = 1u << dst;
	}
	w = regs_written(d, in);
	s->raw = (s->raw & ~w) | raw;
	s->zero = (s->zero & ~w) | zero;
}

/* Is in a branch on the write flag? Where it goes when the flag is clear. */
static bool flag_branch(const struct disasm *d, const cs_insn *in, const struct flagscan *s,
			uint64_t *clear)
{
	uint64_t next = in->address + 4, bit;

	switch (in->id) {
	case ARM64_INS_TBZ:
	case ARM64_INS_TBNZ:
		if (!has_reg_bit(s->raw, op_reg(in, 0)) || !op_imm(in, 1, &bit) || bit > 7 ||
		    !((1u << bit) & d->flag_mask))
			return false;
		*clear = in->id == ARM64_INS_TBZ ? branch_target(in) : next;
		return true;
	case ARM64_INS_CBZ:
	case ARM64_INS_CBNZ:
		if (!has_reg_bit(s->zero, op_reg(in, 0)))
			return false;
		*clear = in->id == ARM64_INS_CBZ ? branch_target(in) : next;
		return true;
	case ARM64_INS_B: {
		arm64_cc cc = in->detail->arm64.cc;

		if (!s->z_clear || (cc != ARM64_CC_EQ && cc != ARM64_CC_NE))
			return false;
		*clear = cc == ARM64_CC_EQ ? branch_target(in) : next;
		return true;
	}
	default:
		return false;
	}
}

/* Every write-flag check that calls fatal when the flag is found clear. */
int arm64__flag_exits(const struct disasm *d, struct hooked_fn *f)
{
	struct flagscan s = { 0 };
	uint64_t clear;
	int found = 0;

	for (size_t i = 0; i < d->n; i++) {
		const cs_insn *in = &d->insn[i];

		if (flag_branch(d, in, &s, &clear) && leads_to_map_fatal(d, clear)) {
			if (hooked_fn__add_exit(f, d->bin, in, WHY_FLAG_CHECK, -1))
				return -1;
			found++;
		}
		flagscan__step(&s, d, in);
	}
	return found;
}

int arm64__ret_exits(const struct disasm *d, struct hooked_fn *f)
{
	int found = 0;

	for (size_t i = 0; i < d->n; i++) {
		if (d->insn[i].id != ARM64_INS_RET)
			continue;
		if (hooked_fn__add_exit(f, d->bin, &d->insn[i], WHY_RET, -1))
			return -1;
		found++;
	}
	return found;
}

ssize_t arm64__index(const struct disasm *d, uint64_t addr)
{
	const cs_insn *in = insn_at(d, addr);

	return in ? in - d->insn : -1;
}

enum flow arm64__flow(const struct disasm *d, const cs_insn *in, uint64_t *target)
{
	*target = 0;
	switch (in->id) {
	case ARM64_INS_RET:
		return FLOW_LEAVE;
	case ARM64_INS_BR:
		return FLOW_UNKNOWN;
	case ARM64_INS_BL:
		return disasm__noreturn(d, branch_target(in)) ? FLOW_STOP : FLOW_NEXT;
	case ARM64_INS_B:
		*target = branch_target(in);
		if (is_bcond(in))
			return FLOW_COND;
		return *target >= d->fn_start && *target < d->fn_end ? FLOW_JUMP : FLOW_LEAVE;
	case ARM64_INS_CBZ:
	case ARM64_INS_CBNZ:
	case ARM64_INS_TBZ:
	case ARM64_INS_TBNZ:
		*target = branch_target(in);
		return FLOW_COND;
	default:
		return FLOW_NEXT;
	}
}

/*
 * The B.LS to morestack after the stack-bound check, which is
 * MOVD 16(R28), R16 (g.stackguard0); [SUB $n, RSP, R17;] CMP R16, RSP|R17.
 * Functions without one (nosplit: fatal, throw) get their first instruction.
 */
const cs_insn *arm64__entry_insn(const struct disasm *d)
{
	int guard = -1;

	for (size_t i = 0; i + 1 < d->n && i < 8; i++) {
		const cs_insn *in = &d->insn[i];
		const cs_arm64_op *m = &in->detail->arm64.operands[1];

		if (in->id == ARM64_INS_LDR && in->detail->arm64.op_count == 2 &&
		    m->type == ARM64_OP_MEM && m->mem.base == ARM64_REG_X28 && m->mem.disp == 16 &&
		    m->mem.index == ARM64_REG_INVALID)
			guard = op_reg(in, 0);
		else if (guard >= 0 && in->id == ARM64_INS_CMP && op_reg(in, 1) == guard &&
			 is_bcond(&d->insn[i + 1]))
			return &d->insn[i + 1];
	}
	return &d->insn[0];
}

/*
 * What arm64 uprobes simulate rather than single-step out of line:
 * arm_probe_decode_insn() (arch/arm64/kernel/probes/decode-insn.c) hands
 * B.cond, CBZ/CBNZ, TBZ/TBNZ, ADR/ADRP, B/BL and BR/BLR/RET to
 * simulate-insn.c, so on arm64 even the RET fallback is cheap. LDR (literal)
 * is simulated for kprobes only; uprobes refuse it. NOP is simulated only
 * by kernels with the 2024 "Simulate nop instruction" change (not in the
 * decode-insn.c read): counted as single-stepped.
 */
bool arm64_insn__emulated(const cs_insn *in)
{
	switch (in->id) {
	case ARM64_INS_B:
	case ARM64_INS_BL:
	case ARM64_INS_BR:
	case ARM64_INS_BLR:
	case ARM64_INS_RET:
	case ARM64_INS_CBZ:
	case ARM64_INS_CBNZ:
	case ARM64_INS_TBZ:
	case ARM64_INS_TBNZ:
	case ARM64_INS_ADR:
	case ARM64_INS_ADRP:
		return true;
	default:
		return false;
	}
}

/*
 * capstone 4.0.2 predates the LSE atomics (LDADDAL, LDSETALB, CASAL) that
 * Go inlines behind a CPU-feature test, e.g. in gopanic and mapiterinit.
 * Words are fixed-size, so each undecodable word becomes an opaque BRK and
 * the rest of the function still decodes.
 */
static void code__patch(csh cs, uint8_t *code, size_t len, uint64_t addr)
{
	cs_insn *in = cs_malloc(cs);

	for (size_t off = 0; in && off < len; off += 4) {
		const uint8_t *p = code + off;
		size_t left = 4;
		uint64_t a = addr + off;

		if (!cs_disasm_iter(cs, &p, &left, &a, in))
			memcpy(code + off, opaque_word, 4);
	}
	cs_free(in, 1);
}

int arm64__load(struct disasm *d, const struct gofunc *gf, char *err, size_t errlen)
{
	size_t len = (gf->end - gf->start) & ~(uint64_t)3;
	const uint8_t *code = gobin__bytes(d->bin, gf->start, len);
	uint8_t *copy;

	if (!code || gf->start % 4) {
		snprintf(err, errlen, "%s: cannot read its code", gf->name);
		return -1;
	}
	/* Functions end in zero words up to the next one's alignment. */
	while (len && !memcmp(code + len - 4, "\0\0\0\0", 4))
		len -= 4;
	copy = malloc(len ? len : 4);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, code, len);
	code__patch(d->cs, copy, len, gf->start);
	d->n = cs_disasm(d->cs, copy, len, gf->start, 0, &d->insn);
	free(copy);
	/* the entry fallback needs a real first instruction */
	if (d->n && d->n == len / 4 && d->insn[0].id != ARM64_INS_BRK)
		return 0;
	snprintf(err, errlen, "%s: cannot disassemble at %#lx", gf->name,
		 (unsigned long)gf->start + (d->n && d->n < len / 4 ? d->n * 4 : 0));
	cs_free(d->insn, d->n);
	d->insn = NULL;
	d->n = 0;
	return -1;
}

/* Go 1.17 on arm64 still passes arguments on the stack (ABI0). */
int arm64__open(struct disasm *d, const struct gobin *b, char *err, size_t errlen)
{
	if (b->has_version && go_version__cmp(&b->ver, 1, 18, 0) < 0) {
		snprintf(err, errlen,
			 "%s: %s arm64 binary: before Go 1.18 arm64 passes arguments on the "
			 "stack, not in registers; not supported",
			 b->path, b->ver.raw);
		return -1;
	}
	if (cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &d->cs) != CS_ERR_OK) {
		snprintf(err, errlen, "capstone: cannot open the arm64 disassembler");
		return -1;
	}
	return 0;
}
