// SPDX-License-Identifier: GPL-2.0
/*
 * gomapwatch inspect BINARY | -p PID: the Go version, the map layout, where
 * each offset came from, and every probe point with its cost class. It only
 * reads the binary, so it is the first thing to run on a production box.
 */
#include <argp.h>
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "bpflog.h"
#include "inspect.h"
#include "json.h"
#include "kfeat.h"
#include "offsets.h"
#include "plan.h"
#include "target.h"

static struct {
	const char *pid, *path;
	bool json, kernel;
	struct plan_opts po;
} ienv;

static const char doc[] =
	"Show what gomapwatch would probe in a Go binary, and why. Attaches nothing.\n"
	"\n"
	"EXAMPLES:\n"
	"  gomapwatch inspect ./server\n"
	"  gomapwatch inspect -p 4242 --json\n"
	"  gomapwatch inspect --kernel     # what this kernel offers gomapwatch\n"
	"\v"
	"Exit status 0 when gomapwatch can trace the binary (with --kernel: can run on\n"
	"this kernel), 1 with the reason when not. --kernel asks the BPF syscall as\n"
	"root and reads the kernel's BTF otherwise.";

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Inspect the binary of this running process" },
	{ "json", 'j', NULL, 0, "One JSON object" },
	{ "reads", 'r', NULL, 0, "Include the probes --reads would add" },
	{ "kernel", 'k', NULL, 0, "Show which BPF features the running kernel has, and what "
	  "gomapwatch does without each" },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'p':
		ienv.pid = arg;
		break;
	case 'j':
		ienv.json = true;
		break;
	case 'r':
		ienv.po.reads = true;
		break;
	case 'k':
		ienv.kernel = true;
		break;
	case ARGP_KEY_ARG:
		if (ienv.path)
			argp_error(state, "one binary at a time");
		ienv.path = arg;
		break;
	case ARGP_KEY_END:
		if (ienv.kernel && (ienv.pid || ienv.path))
			argp_error(state, "--kernel inspects the kernel: give no BINARY or -p PID");
		if (!ienv.kernel && !ienv.pid == !ienv.path)
			argp_error(state, "give either a BINARY or -p PID (or --kernel)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct facts {
	struct gobin bin;
	struct go_offsets off;
	struct plan plan;
	bool bin_ok, off_ok, plan_ok;
	char err[512];
};

static const char *field_name(const struct facts *f, enum offset_field k)
{
	if (k == OFF_MAP_FLAGS)
		return f->off.swiss ? "internal/runtime/maps.Map.writing" : "runtime.hmap.flags";
	if (k == OFF_ITER_MAP)
		return f->off.swiss ? "internal/runtime/maps.Iter.m" : "runtime.hiter.h";
	return offset_field__name(k);
}

/* As far as it gets: each stage needs the one before. */
static void facts__gather(struct facts *f, const char *path)
{
	bool swiss;

	if (gobin__open(&f->bin, path, f->err, sizeof(f->err)))
		return;
	f->bin_ok = true;
	swiss = gobin__swiss(&f->bin);
	f->off_ok = !offsets__load(&f->off, &f->bin, swiss, f->err, sizeof(f->err));
	f->off.swiss = swiss;
	if (f->off_ok)
		f->plan_ok = !plan__build(&f->plan, &f->bin, &f->off, &ienv.po, f->err,
					  sizeof(f->err));
}

static void count_points(const struct plan *p, int *emul, int *step)
{
	*emul = *step = 0;
	for (int i = 0; i < p->nfns; i++)
		for (int k = 0; k < p->fns[i].npoints; k++)
			(*(p->fns[i].points[k].emulated ? emul : step))++;
}

static void text_plan(const struct plan *p)
{
	int emul, step;

	count_points(p, &emul, &step);
	printf("probes   %d functions, %d points (%d emulated, %d single-stepped)\n", p->nfns,
	       emul + step, emul, step);
	for (int i = 0; i < p->nfns; i++) {
		const struct hooked_fn *fn = &p->fns[i];

		printf("  %s [%#" PRIx64 ", %#" PRIx64 ")", fn->name, fn->start, fn->end);
		if (fn->exit != EXIT_NONE)
			printf("  exit: %s%s", exit_strategy__name(fn->exit),
			       fn->exit == EXIT_RET ? " (no write-flag check in this function)" : "");
		printf("\n");
		for (int k = 0; k < fn->npoints; k++) {
			const struct probe_point *pp = &fn->points[k];

			printf("    %-11s %#" PRIx64 " +%-5" PRIu64 " file %#-8" PRIx64 " %-26s %s%s%s\n",
			       probe_role__name(pp->role), pp->addr, pp->addr - fn->start,
			       pp->file_off, pp->insn, pp->emulated ? "emulated" : "single-stepped",
			       pp->why ? ", " : "", exit_reason__name(pp->why));
		}
	}
}

static void text_report(const struct facts *f, const char *path)
{
	const struct gobin *b = &f->bin;

	printf("binary   %s\n", path);
	if (!f->bin_ok)
		return;
	printf("         ELF %s, %s, %s\n", gobin__arch_name(b->machine),
	       b->pie ? "PIE" : "fixed address",
	       b->has_symtab ? "symbol table" : "stripped: functions from pclntab");
	printf("go       %s, %s maps\n", b->has_version ? b->ver.raw : "version unknown",
	       f->off.swiss ? "swiss" : "hmap");
	for (int k = 0; k < OFF__COUNT; k++)
		printf("%-8s %-34s %4d  %s\n", k ? "" : "offsets", field_name(f, k), f->off.off[k],
		       offset_source__name(f->off.src[k]));
	if (f->plan_ok)
		text_plan(&f->plan);
}

static yyjson_mut_val *json_plan(yyjson_mut_doc *doc, const struct plan *p)
{
	yyjson_mut_val *arr = yyjson_mut_arr(doc);

	for (int i = 0; i < p->nfns; i++) {
		const struct hooked_fn *fn = &p->fns[i];
		yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr), *pts;

		yyjson_mut_obj_add_str(doc, o, "name", fn->name);
		yyjson_mut_obj_add_uint(doc, o, "start", fn->start);
		yyjson_mut_obj_add_uint(doc, o, "end", fn->end);
		yyjson_mut_obj_add_str(doc, o, "exit", exit_strategy__name(fn->exit));
		pts = yyjson_mut_obj_add_arr(doc, o, "points");
		for (int k = 0; k < fn->npoints; k++) {
			const struct probe_point *pp = &fn->points[k];
			yyjson_mut_val *q = yyjson_mut_arr_add_obj(doc, pts);

			yyjson_mut_obj_add_str(doc, q, "role", probe_role__name(pp->role));
			yyjson_mut_obj_add_uint(doc, q, "address", pp->addr);
			yyjson_mut_obj_add_uint(doc, q, "file_offset", pp->file_off);
			yyjson_mut_obj_add_strcpy(doc, q, "instruction", pp->insn);
			yyjson_mut_obj_add_bool(doc, q, "emulated", pp->emulated);
			if (pp->why != WHY_NONE)
				yyjson_mut_obj_add_str(doc, q, "reason", exit_reason__name(pp->why));
		}
	}
	return arr;
}

static void json_report(const struct facts *f, const char *path)
{
	yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
	yyjson_mut_val *root = yyjson_mut_obj(doc), *offs;
	const struct gobin *b = &f->bin;

	yyjson_mut_doc_set_root(doc, root);
	json__add_bytes(doc, root, "binary", path, strlen(path));
	if (f->bin_ok) {
		yyjson_mut_obj_add_str(doc, root, "arch", gobin__arch_name(b->machine));
		yyjson_mut_obj_add_bool(doc, root, "pie", b->pie);
		yyjson_mut_obj_add_bool(doc, root, "symtab", b->has_symtab);
		if (b->has_version)
			json__add_bytes(doc, root, "go_version", b->ver.raw, strlen(b->ver.raw));
		yyjson_mut_obj_add_str(doc, root, "map_layout", f->off.swiss ? "swiss" : "hmap");
		offs = yyjson_mut_obj_add_obj(doc, root, "offsets");
		for (int k = 0; k < OFF__COUNT; k++) {
			yyjson_mut_val *o = yyjson_mut_obj_add_obj(doc, offs, field_name(f, k));

			yyjson_mut_obj_add_int(doc, o, "offset", f->off.off[k]);
			yyjson_mut_obj_add_str(doc, o, "source", offset_source__name(f->off.src[k]));
		}
	}
	if (f->plan_ok)
		yyjson_mut_obj_add_val(doc, root, "functions", json_plan(doc, &f->plan));
	if (f->err[0])
		json__add_bytes(doc, root, "error", f->err, strlen(f->err));
	json__emit(doc, stdout);
}

static int inspect_kernel(void)
{
	struct kfeat kf;
	char err[256];
	int ret;

	bpflog__install(false);
	kfeat__probe(&kf, geteuid() == 0);
	kfeat__print(&kf, ienv.json);
	ret = kfeat__check(&kf, err, sizeof(err));
	if (ret)
		fprintf(stderr, "gomapwatch: %s\n", err);
	return ret ? 1 : 0;
}

int inspect__main(int argc, char **argv)
{
	static const struct argp argp = { options, parse_arg, "BINARY | -p PID | --kernel", doc };
	struct facts f = { 0 };
	struct target t;
	const char *path;

	for (int k = 0; k < OFF__COUNT; k++)
		f.off.off[k] = -1;
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	if (ienv.kernel)
		return inspect_kernel();
	if (ienv.pid && target__from_pid(&t, ienv.pid, f.err, sizeof(f.err))) {
		fprintf(stderr, "gomapwatch: %s\n", f.err);
		return 1;
	}
	path = ienv.pid ? t.path : ienv.path;
	facts__gather(&f, path);
	if (ienv.json)
		json_report(&f, path);
	else
		text_report(&f, path);
	if (f.err[0])
		fprintf(stderr, "gomapwatch: %s\n", f.err);
	if (f.plan_ok)
		plan__free(&f.plan);
	if (f.bin_ok)
		gobin__close(&f.bin);
	return f.plan_ok ? 0 : 1;
}
