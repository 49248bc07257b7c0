// SPDX-License-Identifier: GPL-2.0
/* Probe planning with capstone: entry on the stack-check jump, exit on the write-flag check. */
#include <capstone/capstone.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gomapwatch.h"
#include "plan.h"
#include "plan_arch.h"

struct fn_spec {
	const char *name;
	uint8_t op;
	enum probe_role role;
	bool may_panic;		/* hashes a key of any type: can panic once inside */
};

static const struct fn_spec write_fns[] = {
	{ "runtime.mapassign", GMW_OP_WRITE, ROLE_WRITE_ENTER, true },
	{ "runtime.mapassign_fast32", GMW_OP_WRITE, ROLE_WRITE_ENTER },
	{ "runtime.mapassign_fast32ptr", GMW_OP_WRITE, ROLE_WRITE_ENTER },
	{ "runtime.mapassign_fast64", GMW_OP_WRITE, ROLE_WRITE_ENTER },
	{ "runtime.mapassign_fast64ptr", GMW_OP_WRITE, ROLE_WRITE_ENTER },
	{ "runtime.mapassign_faststr", GMW_OP_WRITE, ROLE_WRITE_ENTER },
	{ "runtime.mapdelete", GMW_OP_DELETE, ROLE_WRITE_ENTER, true },
	{ "runtime.mapdelete_fast32", GMW_OP_DELETE, ROLE_WRITE_ENTER },
	{ "runtime.mapdelete_fast64", GMW_OP_DELETE, ROLE_WRITE_ENTER },
	{ "runtime.mapdelete_faststr", GMW_OP_DELETE, ROLE_WRITE_ENTER },
	{ "runtime.mapclear", GMW_OP_CLEAR, ROLE_WRITE_ENTER },
	{ NULL },
};

static const struct fn_spec read_fns[] = {
	{ "runtime.mapaccess1", GMW_OP_READ, ROLE_READ },
	{ "runtime.mapaccess1_fast32", GMW_OP_READ, ROLE_READ },
	{ "runtime.mapaccess1_fast64", GMW_OP_READ, ROLE_READ },
	{ "runtime.mapaccess1_faststr", GMW_OP_READ, ROLE_READ },
	{ "runtime.mapaccess1_fat", GMW_OP_READ, ROLE_READ },
	{ "runtime.mapaccess2", GMW_OP_READ, ROLE_READ },
	{ "runtime.mapaccess2_fast32", GMW_OP_READ, ROLE_READ },
	{ "runtime.mapaccess2_fast64", GMW_OP_READ, ROLE_READ },
	{ "runtime.mapaccess2_faststr", GMW_OP_READ, ROLE_READ },
	{ "runtime.mapaccess2_fat", GMW_OP_READ, ROLE_READ },
	{ NULL },
};

/* Swiss builds of 1.24/1.25 keep mapiterinit only as a linkname shim. */
static const struct fn_spec iter_old_fns[] = {
	{ "runtime.mapiterinit", GMW_OP_ITER, ROLE_READ },
	{ "runtime.mapiternext", GMW_OP_ITER, ROLE_ITER_NEXT },
	{ NULL },
};

static const struct fn_spec iter_swiss_fns[] = {
	{ "runtime.mapIterStart", GMW_OP_ITER, ROLE_READ },
	{ "runtime.mapIterNext", GMW_OP_ITER, ROLE_ITER_NEXT },
	{ NULL },
};

static const struct fn_spec fatal_fns[] = {
	{ "runtime.fatal", 0, ROLE_FATAL },
	{ "runtime.throw", 0, ROLE_FATAL },
	{ "runtime.gopanic", 0, ROLE_PANIC },
	{ "runtime.fatalpanic", 0, ROLE_FATALPANIC },
	{ NULL },
};

/* What the map functions call when the runtime's own check fires. */
static const char *const map_fatal_names[] = {
	"runtime.fatal", "runtime.throw", "internal/runtime/maps.fatal", NULL,
};

/*
 * Functions that never return to their caller. A path ends at a call to
 * one; calling a function that does return "noreturn" would hide a way
 * out, so only names known to be final are here (plus runtime.panic*).
 */
static const char *const noreturn_names[] = {
	"runtime.fatal", "runtime.throw", "internal/runtime/maps.fatal", "runtime.fatalthrow",
	"runtime.fatalpanic", "runtime.gopanic", NULL,
};

static bool is_noreturn_name(const char *name)
{
	for (int i = 0; noreturn_names[i]; i++)
		if (!strcmp(name, noreturn_names[i]))
			return true;
	/* panicIndex, panicshift, panicdivide, goPanicIndex...; not the checks */
	return (!strncmp(name, "runtime.panic", 13) || !strncmp(name, "runtime.goPanic", 15)) &&
	       strncmp(name, "runtime.panicCheck", 18) != 0;
}

const char *probe_role__name(enum probe_role r)
{
	static const char *const names[] = {
		[ROLE_WRITE_ENTER] = "write-entry", [ROLE_WRITE_EXIT] = "write-exit",
		[ROLE_READ] = "read",		   [ROLE_ITER_NEXT] = "iter-next",
		[ROLE_FATAL] = "fatal",		   [ROLE_PANIC] = "panic",
		[ROLE_FATALPANIC] = "fatalpanic",
	};
	return names[r];
}

const char *exit_strategy__name(enum exit_strategy s)
{
	return s == EXIT_FLAG_CHECK ? "flag-check" : s == EXIT_RET ? "ret" : "none";
}

const char *exit_reason__name(enum exit_reason w)
{
	static const char *const names[] = {
		[WHY_NONE] = "",
		[WHY_FLAG_CHECK] = "flag-check",
		[WHY_EARLY_RETURN] = "early-return",
		[WHY_RET] = "ret",
	};
	return names[w];
}

/* Register families that never hold a map (GMW_REG_* numbering). */
#define FAM_RSP 7
#define FAM_R14 14

/* Register family (rax/eax/ax/al -> 0 ...), or -1: GMW_REG_* numbering. */
static int reg_family(csh cs, unsigned int reg)
{
	static const char *const fam[][4] = {
		{ "rax", "eax", "ax", "al" },	 { "rbx", "ebx", "bx", "bl" },
		{ "rcx", "ecx", "cx", "cl" },	 { "rdx", "edx", "dx", "dl" },
		{ "rsi", "esi", "si", "sil" },	 { "rdi", "edi", "di", "dil" },
		{ "rbp", "ebp", "bp", "bpl" },	 { "rsp", "esp", "sp", "spl" },
		{ "r8", "r8d", "r8w", "r8b" },	 { "r9", "r9d", "r9w", "r9b" },
		{ "r10", "r10d", "r10w", "r10b" }, { "r11", "r11d", "r11w", "r11b" },
		{ "r12", "r12d", "r12w", "r12b" }, { "r13", "r13d", "r13w", "r13b" },
		{ "r14", "r14d", "r14w", "r14b" }, { "r15", "r15d", "r15w", "r15b" },
	};
	const char *name = cs_reg_name(cs, reg);

	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
		for (int j = 0; j < 4; j++)
			if (!strcmp(name, fam[i][j]))
				return i;
	return -1;
}

static bool is_jcc(const cs_insn *in)
{
	return in->id >= X86_INS_JAE && in->id <= X86_INS_JS && in->id != X86_INS_JMP &&
	       in->id != X86_INS_JCXZ && in->id != X86_INS_JECXZ && in->id != X86_INS_JRCXZ;
}

static uint64_t branch_target(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	return x->op_count == 1 && x->operands[0].type == X86_OP_IMM ? x->operands[0].imm : 0;
}

static ssize_t insn_index(const struct disasm *d, uint64_t addr)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (d->insn[mid].address == addr)
			return mid;
		if (d->insn[mid].address < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static bool is_map_fatal(const struct disasm *d, uint64_t target)
{
	for (int i = 0; i < 3; i++)
		if (d->fatal_addr[i] && d->fatal_addr[i] == target)
			return true;
	return false;
}

/*
 * Does the block at addr call fatal("concurrent map ...")? The message is
 * read from the LEA that loads it, so only the runtime's own map checks match.
 */
static bool leads_to_map_fatal(const struct disasm *d, uint64_t addr)
{
	uint64_t msg = 0, len = 0;
	ssize_t i = insn_index(d, addr);

	for (int steps = 0; i >= 0 && (size_t)i < d->n && steps < 12; steps++, i++) {
		const cs_insn *in = &d->insn[i];
		const cs_x86 *x = &in->detail->x86;

		if (in->id == X86_INS_LEA && x->operands[1].mem.base == X86_REG_RIP &&
		    reg_family(d->cs, x->operands[0].reg) == 0)
			msg = in->address + in->size + x->operands[1].mem.disp;
		else if (in->id == X86_INS_MOV && x->operands[1].type == X86_OP_IMM &&
			 x->operands[0].type == X86_OP_REG &&
			 reg_family(d->cs, x->operands[0].reg) == 1)
			len = x->operands[1].imm;
		else if (in->id == X86_INS_CALL) {
			const uint8_t *s;

			if (!is_map_fatal(d, branch_target(in)) || len < 14 || len > 128)
				return false;
			s = gobin__bytes(d->bin, msg, len);
			return s && !memcmp(s, "concurrent map", 14);
		} else if (in->id == X86_INS_JMP) {
			i = insn_index(d, branch_target(in)) - 1;
		} else if (is_jcc(in) || in->id == X86_INS_RET) {
			return false;
		}
	}
	return false;
}

static bool mem_is_flag(const struct disasm *d, const cs_x86_op *op)
{
	return op->type == X86_OP_MEM && op->size == 1 && op->mem.disp == d->flag_off &&
	       op->mem.base != X86_REG_RIP && op->mem.index == X86_REG_INVALID;
}

#define NOT_FLAG (-2)	/* base[] of a register that does not hold the flag */

/*
 * Is this a test of the map's write flag? Every form recognised leaves
 * ZF = 1 exactly when the flag is clear. Returns the register family that
 * holds the map (-1 when unknown), or NOT_FLAG. base[r] is that register
 * for a register r loaded with the flag, else NOT_FLAG.
 */
static int flag_test(const struct disasm *d, const cs_insn *in, const int base[16])
{
	const cs_x86 *x = &in->detail->x86;
	const cs_x86_op *a = &x->operands[0], *b = &x->operands[1];
	int where = NOT_FLAG, fa;

	if ((in->id != X86_INS_TEST && in->id != X86_INS_CMP) || x->op_count != 2)
		return NOT_FLAG;
	if (mem_is_flag(d, a))
		where = reg_family(d->cs, a->mem.base);
	else if (a->type == X86_OP_REG && (fa = reg_family(d->cs, a->reg)) >= 0)
		where = base[fa];
	if (where == NOT_FLAG)
		return NOT_FLAG;
	if (b->type == X86_OP_IMM)
		return (in->id == X86_INS_TEST ? (b->imm & d->flag_mask) != 0 : b->imm == 0) ?
			       where : NOT_FLAG;
	return in->id == X86_INS_TEST && b->type == X86_OP_REG && a->type == X86_OP_REG &&
			       reg_family(d->cs, a->reg) == reg_family(d->cs, b->reg) ?
		       where : NOT_FLAG;
}

static unsigned int regs_written(const struct disasm *d, const cs_insn *in)
{
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;
	unsigned int mask = 0;

	if (cs_regs_access(d->cs, in, rd, &nrd, wr, &nwr))
		return ~0u;
	for (int i = 0; i < nwr; i++) {
		int f = reg_family(d->cs, wr[i]);

		if (f >= 0)
			mask |= 1u << f;
	}
	return mask;
}

/* Instructions that may sit between a test and its jump without touching flags. */
static bool keeps_flags(const cs_insn *in)
{
	return in->id == X86_INS_NOP || in->id == X86_INS_MOV || in->id == X86_INS_LEA ||
	       in->id == X86_INS_MOVZX;
}

int hooked_fn__add_point(struct hooked_fn *f, const struct gobin *b, const cs_insn *in,
			 enum probe_role role)
{
	struct probe_point *pp;

	if (f->npoints >= PLAN_MAX_POINTS)
		return -1;
	pp = &f->points[f->npoints];
	pp->addr = in->address;
	if (gobin__file_offset(b, in->address, &pp->file_off))
		return -1;
	pp->role = role;
	pp->emulated = b->machine == EM_AARCH64 ? arm64_insn__emulated(in) :
						  is_jcc(in) || in->id == X86_INS_JMP;
	pp->why = WHY_NONE;
	pp->map_reg = -1;
	snprintf(pp->insn, sizeof(pp->insn), "%.15s %.40s", in->mnemonic, in->op_str);
	f->npoints++;
	return 0;
}

int hooked_fn__add_exit(struct hooked_fn *f, const struct gobin *b, const cs_insn *in,
			enum exit_reason why, int map_reg)
{
	if (hooked_fn__add_point(f, b, in, ROLE_WRITE_EXIT))
		return -1;
	f->points[f->npoints - 1].why = why;
	f->points[f->npoints - 1].map_reg = map_reg;
	return 0;
}

/* The conditional jump to morestack right after the stack-bound check. */
static const cs_insn *entry_insn(const struct disasm *d)
{
	if (d->bin->machine == EM_AARCH64)
		return arm64__entry_insn(d);
	for (size_t i = 0; i + 1 < d->n && i < 6; i++) {
		const cs_insn *in = &d->insn[i];
		const cs_x86 *x = &in->detail->x86;

		if (in->id != X86_INS_CMP || x->op_count != 2)
			continue;
		for (int k = 0; k < 2; k++)
			if (x->operands[k].type == X86_OP_MEM &&
			    x->operands[k].mem.base == X86_REG_R14 &&
			    x->operands[k].mem.disp == 16 && is_jcc(&d->insn[i + 1]))
				return &d->insn[i + 1];
	}
	return &d->insn[0];
}

/* Carry base[] (see flag_test) across an instruction that writes w. */
static void flagregs__clobber(int base[16], unsigned int w)
{
	for (int r = 0; r < 16; r++) {
		if ((w >> r) & 1)
			base[r] = NOT_FLAG;
		else if (base[r] >= 0 && (w >> base[r]) & 1)
			base[r] = -1;	/* still the flag, the map's register reused */
	}
}

/* MOVZX/MOV reg, byte [map + flag_off]: base[reg] = map's register. */
static bool flag_load(const struct disasm *d, const cs_insn *in, int base[16])
{
	const cs_x86 *x = &in->detail->x86;
	int dst, src;

	if ((in->id != X86_INS_MOVZX && in->id != X86_INS_MOV) || x->op_count != 2 ||
	    x->operands[0].type != X86_OP_REG || !mem_is_flag(d, &x->operands[1]))
		return false;
	dst = reg_family(d->cs, x->operands[0].reg);
	src = reg_family(d->cs, x->operands[1].mem.base);
	if (dst < 0)
		return false;
	flagregs__clobber(base, 1u << dst);
	base[dst] = src == dst ? -1 : src;
	return true;
}

/*
 * Every write-flag check that calls fatal when the flag is found clear,
 * with the register that holds the map there (so the exit can name it).
 */
static int plan_flag_exits(const struct disasm *d, struct hooked_fn *f, const struct gobin *b)
{
	int base[16], pending = NOT_FLAG, found = 0;

	if (b->machine == EM_AARCH64)
		return arm64__flag_exits(d, f);
	for (int r = 0; r < 16; r++)
		base[r] = NOT_FLAG;
	for (size_t i = 0; i < d->n; i++) {
		const cs_insn *in = &d->insn[i];
		unsigned int w;
		int t;

		if (pending != NOT_FLAG && (in->id == X86_INS_JE || in->id == X86_INS_JNE)) {
			bool to_t = leads_to_map_fatal(d, branch_target(in));
			bool to_f = leads_to_map_fatal(d, in->address + in->size);
			/* rsp and r14 (g) never hold a map; the BPF side reads neither */
			int reg = pending == FAM_RSP || pending == FAM_R14 ? -1 : pending;

			if ((in->id == X86_INS_JE && to_t) || (in->id == X86_INS_JNE && to_f)) {
				if (hooked_fn__add_exit(f, b, in, WHY_FLAG_CHECK, reg))
					return -1;
				found++;
			}
		}
		t = flag_test(d, in, base);
		if (t != NOT_FLAG) {
			pending = t;
			continue;
		}
		if (flag_load(d, in, base)) {
			pending = NOT_FLAG;
			continue;
		}
		w = regs_written(d, in);
		if (pending == NOT_FLAG || !keeps_flags(in))
			pending = NOT_FLAG;
		else if (pending >= 0 && (w >> pending) & 1)
			pending = -1;
		flagregs__clobber(base, w);
	}
	return found;
}

static int plan_ret_exits(const struct disasm *d, struct hooked_fn *f, const struct gobin *b)
{
	int found = 0;

	if (b->machine == EM_AARCH64)
		return arm64__ret_exits(d, f);
	for (size_t i = 0; i < d->n; i++) {
		if (d->insn[i].id != X86_INS_RET)
			continue;
		if (hooked_fn__add_exit(f, b, &d->insn[i], WHY_RET, -1))
			return -1;
		found++;
	}
	return found;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

bool disasm__noreturn(const struct disasm *d, uint64_t target)
{
	return d->nnoreturn &&
	       bsearch(&target, d->noreturn, d->nnoreturn, sizeof(target), cmp_u64);
}

static enum flow x86_flow(const struct disasm *d, const cs_insn *in, uint64_t *target)
{
	const cs_x86 *x = &in->detail->x86;
	bool imm = x->op_count == 1 && x->operands[0].type == X86_OP_IMM;

	*target = imm ? (uint64_t)x->operands[0].imm : 0;
	switch (in->id) {
	case X86_INS_RET:
		return FLOW_LEAVE;
	case X86_INS_INT3:
	case X86_INS_UD2:
		return FLOW_STOP;
	case X86_INS_CALL:
		return imm && disasm__noreturn(d, *target) ? FLOW_STOP : FLOW_NEXT;
	case X86_INS_JMP:
		if (!imm)
			return FLOW_UNKNOWN;
		return *target >= d->fn_start && *target < d->fn_end ? FLOW_JUMP : FLOW_LEAVE;
	default:
		return is_jcc(in) || in->id == X86_INS_JCXZ || in->id == X86_INS_JECXZ ||
				       in->id == X86_INS_JRCXZ ?
			       FLOW_COND :
			       FLOW_NEXT;
	}
}

static size_t insn_pos(const struct disasm *d, uint64_t addr)
{
	ssize_t i = d->bin->machine == EM_AARCH64 ? arm64__index(d, addr) : insn_index(d, addr);

	return i < 0 ? 0 : i;
}

static bool is_exit_point(const struct hooked_fn *f, uint64_t addr)
{
	for (int k = 0; k < f->npoints; k++)
		if (f->points[k].role == ROLE_WRITE_EXIT && f->points[k].addr == addr)
			return true;
	return false;
}

struct walk {
	const struct disasm *d;
	uint8_t *seen;
	size_t *todo, ntodo;
};

/* Queue the instruction at addr; -1 if no instruction starts there. */
static int walk__push(struct walk *w, uint64_t addr)
{
	ssize_t i = w->d->bin->machine == EM_AARCH64 ? arm64__index(w->d, addr) :
						       insn_index(w->d, addr);

	if (i < 0)
		return -1;
	if (!w->seen[i]) {
		w->seen[i] = 1;
		w->todo[w->ntodo++] = i;
	}
	return 0;
}

/* Follow one instruction's successors; the ways out go to f as exits. */
static int walk__step(struct walk *w, struct hooked_fn *f, const cs_insn *in)
{
	uint64_t t, next = in->address + in->size;
	enum flow fl = w->d->bin->machine == EM_AARCH64 ? arm64__flow(w->d, in, &t) :
							   x86_flow(w->d, in, &t);

	switch (fl) {
	case FLOW_NEXT:
		return walk__push(w, next);
	case FLOW_JUMP:
		return walk__push(w, t);
	case FLOW_COND:
		return walk__push(w, next) || walk__push(w, t);
	case FLOW_LEAVE:
		return hooked_fn__add_exit(f, w->d->bin, in, WHY_EARLY_RETURN, -1);
	case FLOW_STOP:
		return 0;
	default:
		return -1;
	}
}

/*
 * Every way out of the function that a goroutine can take after the entry
 * probe without passing an exit probe gets an exit probe of its own:
 * otherwise the goroutine stays "inside" and accuses the next correct
 * writer (mapclear and mapdelete return early on an empty map). Calls are
 * taken to return unless the callee is known never to (throw, panic).
 * 0, or -1 when some path cannot be followed (an indirect jump).
 */
static int plan_early_exits(const struct disasm *d, struct hooked_fn *f, const cs_insn *entry)
{
	struct walk w = { .d = d };
	int ret = -1;

	w.seen = calloc(d->n, 1);
	w.todo = malloc(d->n * sizeof(*w.todo));
	if (!w.seen || !w.todo || walk__push(&w, entry->address))
		goto out;
	while (w.ntodo) {
		const cs_insn *in = &d->insn[w.todo[--w.ntodo]];

		if (is_exit_point(f, in->address))
			continue;
		if (walk__step(&w, f, in))
			goto out;
	}
	ret = 0;
out:
	free(w.seen);
	free(w.todo);
	return ret;
}

static int disasm__load(struct disasm *d, const struct gobin *b, const struct gofunc *gf,
			char *err, size_t errlen)
{
	const uint8_t *code = gobin__bytes(b, gf->start, gf->end - gf->start);
	uint64_t decoded;

	if (b->machine == EM_AARCH64)
		return arm64__load(d, gf, err, errlen);
	if (!code) {
		snprintf(err, errlen, "%s: cannot read its code", gf->name);
		return -1;
	}
	d->n = cs_disasm(d->cs, code, gf->end - gf->start, gf->start, 0, &d->insn);
	decoded = d->n ? d->insn[d->n - 1].address + d->insn[d->n - 1].size : gf->start;
	/* Functions end in INT3 padding; anything else undecoded is a surprise. */
	for (uint64_t a = decoded; a < gf->end; a++) {
		if (code[a - gf->start] != 0xcc) {
			snprintf(err, errlen, "%s: cannot disassemble at %#lx", gf->name,
				 (unsigned long)a);
			/* plan_fn frees only what a successful load gives it */
			cs_free(d->insn, d->n);
			d->insn = NULL;
			d->n = 0;
			return -1;
		}
	}
	return 0;
}

/* Exits of a write function: flag checks, plus every way around them. */
static int plan_write_exits(const struct disasm *d, struct hooked_fn *f, const struct fn_spec *s,
			    const struct plan_opts *opts)
{
	int nentry = f->npoints, n = 0;

	if (!opts->force_ret)
		n = plan_flag_exits(d, f, d->bin);
	if (n > 0 && plan_early_exits(d, f, &d->insn[insn_pos(d, f->points[0].addr)])) {
		f->npoints = nentry;	/* a path we cannot follow: every RET then */
		n = 0;
	}
	f->exit = n > 0 ? EXIT_FLAG_CHECK : EXIT_RET;
	if (n <= 0)
		n = plan_ret_exits(d, f, d->bin);
	if (n <= 0)
		return -1;
	f->owner = s->may_panic;
	for (int k = 0; k < f->npoints; k++)
		if (f->points[k].role == ROLE_WRITE_EXIT && f->points[k].map_reg < 0)
			f->owner = true;
	return 0;
}

/* The runtime's naming says how a map function takes its key. */
static uint8_t fn_keyform(const struct fn_spec *s)
{
	const char *v = strrchr(s->name, '_');

	if (s->op == GMW_OP_CLEAR || s->op == GMW_OP_ITER)
		return GMW_KEY_NONE;
	if (!v || !strncmp(v, "_fat", 5))
		return GMW_KEY_PTR;
	if (!strcmp(v, "_faststr"))
		return GMW_KEY_STR;
	if (!strncmp(v, "_fast", 5))
		return GMW_KEY_VALUE;
	return GMW_KEY_PTR;
}

static int plan_fn(struct plan *p, struct disasm *d, const struct fn_spec *s,
		   const struct plan_opts *opts, char *err, size_t errlen)
{
	struct gofunc gf;
	struct hooked_fn *f;

	if (gobin__func(d->bin, s->name, &gf))
		return 0;	/* not linked into this binary */
	f = &p->fns[p->nfns];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", s->name);
	f->start = gf.start;
	f->end = gf.end;
	f->op = s->op;
	f->keyform = fn_keyform(s);
	if (disasm__load(d, d->bin, &gf, err, errlen))
		return -1;
	d->fn_start = gf.start;
	d->fn_end = gf.end;
	if (hooked_fn__add_point(f, d->bin, entry_insn(d), s->role))
		goto fail;
	if (s->role == ROLE_WRITE_ENTER) {
		if (plan_write_exits(d, f, s, opts))
			goto fail;
		p->nwrite_fns++;
	}
	cs_free(d->insn, d->n);
	d->insn = NULL;
	p->nfns++;
	return 0;
fail:
	snprintf(err, errlen, "%s: no usable probe point (pattern not recognised)", s->name);
	cs_free(d->insn, d->n);
	d->insn = NULL;
	return -1;
}

static int plan_specs(struct plan *p, struct disasm *d, const struct fn_spec *specs,
		      const struct plan_opts *opts, char *err, size_t errlen)
{
	for (const struct fn_spec *s = specs; s->name; s++)
		if (plan_fn(p, d, s, opts, err, errlen))
			return -1;
	return 0;
}

static int noreturn__add(const struct gofunc *f, void *ctx)
{
	struct disasm *d = ctx;
	uint64_t *n;

	if (!is_noreturn_name(f->name))
		return 0;
	n = realloc(d->noreturn, (d->nnoreturn + 1) * sizeof(*n));
	if (!n)
		return -1;
	d->noreturn = n;
	d->noreturn[d->nnoreturn++] = f->start;
	return 0;
}

static int disasm__init(struct disasm *d, const struct gobin *b, const struct go_offsets *o,
			char *err, size_t errlen)
{
	struct gofunc gf;

	memset(d, 0, sizeof(*d));
	if (b->machine == EM_AARCH64) {
		if (arm64__open(d, b, err, errlen))
			return -1;
	} else if (b->machine != EM_X86_64) {
		snprintf(err, errlen, "%s: only x86-64 and arm64 binaries can be traced", b->path);
		return -1;
	} else if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->cs) != CS_ERR_OK) {
		snprintf(err, errlen, "capstone: cannot open the x86-64 disassembler");
		return -1;
	}
	cs_option(d->cs, CS_OPT_DETAIL, CS_OPT_ON);
	d->bin = b;
	d->flag_off = o->off[OFF_MAP_FLAGS];
	d->flag_mask = o->swiss ? 0xff : 4;
	for (int i = 0; map_fatal_names[i]; i++)
		if (!gobin__func(b, map_fatal_names[i], &gf))
			d->fatal_addr[i] = gf.start;
	if (gobin__foreach_func(b, noreturn__add, d) < 0) {
		snprintf(err, errlen, "out of memory");
		cs_close(&d->cs);
		return -1;
	}
	/* none found leaves the list NULL, which qsort must not be given */
	if (d->nnoreturn)
		qsort(d->noreturn, d->nnoreturn, sizeof(*d->noreturn), cmp_u64);
	return 0;
}

int plan__build(struct plan *p, const struct gobin *b, const struct go_offsets *o,
		const struct plan_opts *opts, char *err, size_t errlen)
{
	struct disasm d;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	if (disasm__init(&d, b, o, err, errlen))
		return -1;
	p->fns = calloc(64, sizeof(*p->fns));
	if (!p->fns) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (plan_specs(p, &d, write_fns, opts, err, errlen))
		goto out;
	if (!p->nwrite_fns) {
		snprintf(err, errlen, "%s: no Go runtime map functions found (runtime.mapassign*)",
			 b->path);
		goto out;
	}
	if (opts->reads &&
	    (plan_specs(p, &d, read_fns, opts, err, errlen) ||
	     plan_specs(p, &d, o->swiss ? iter_swiss_fns : iter_old_fns, opts, err, errlen)))
		goto out;
	if (plan_specs(p, &d, fatal_fns, opts, err, errlen))
		goto out;
	ret = 0;
out:
	cs_close(&d.cs);
	free(d.noreturn);
	if (ret)
		plan__free(p);
	return ret;
}

void plan__free(struct plan *p)
{
	free(p->fns);
	memset(p, 0, sizeof(*p));
}

int plan__fn_at(const struct plan *p, uint64_t addr)
{
	for (int i = 0; i < p->nfns; i++)
		if (addr >= p->fns[i].start && addr < p->fns[i].end)
			return i;
	return -1;
}

int plan__npoints(const struct plan *p)
{
	int n = 0;

	for (int i = 0; i < p->nfns; i++)
		n += p->fns[i].npoints;
	return n;
}
