// SPDX-License-Identifier: GPL-2.0
/* gomapwatch: catch concurrent Go map writes in a live process. */
#include <argp.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bpflog.h"
#include "budget.h"
#include "caps.h"
#include "gobin.h"
#include "inspect.h"
#include "kfeat.h"
#include "offsets.h"
#include "plan.h"
#include "report.h"
#include "sink.h"
#include "sink_otlp.h"
#include "target.h"
#include "tracer.h"

static struct env {
	const char *pid;
	const char *binary;
	double duration;
	bool json, reads, force_ret, all_frames, no_recorder;
	int verbose;
	const char *output;
	long stale_ms;
	double max_overhead;		/* percent; 0: no budget */
	bool max_overhead_set;
	char **cmd;
	const char *otlp, *service_name;
	const char *otlp_headers[16];
	int notlp_headers;
} env = { .stale_ms = 10000 };

static volatile sig_atomic_t exiting, nsignals;
static volatile double stop_at;	/* when the signal came, for -v's timings */

const char *argp_program_version = "gomapwatch 0.1";
static const char doc[] =
	"Catch concurrent Go map writes in a live process, naming both goroutines.\n"
	"\n"
	"Attaches uprobes to the Go runtime's map functions of an unmodified Go\n"
	"program and reports each conflict with both goroutines' stacks, plus the\n"
	"runtime's own fatal errors and panics. Needs root, or CAP_BPF and\n"
	"CAP_PERFMON (CAP_SYS_ADMIN too for --max-overhead, CAP_SYS_PTRACE for\n"
	"another user's process); exits 77 naming what is missing.\n"
	"\n"
	"Stacks read as Go's traceback does, inlined calls expanded; each side shows\n"
	"the key it was given. A fatal error comes with the last map operations on\n"
	"that map before it (the flight recorder), and the summary at exit lists,\n"
	"per map, the pairs of lines that collided: where to fix it.\n"
	"\n"
	"EXAMPLES:\n"
	"  gomapwatch -p 4242                  # attach to a running service\n"
	"  gomapwatch -p 4242 -d 60 --json -o events.ndjson\n"
	"  gomapwatch -- ./server --port 8080  # run a command under watch\n"
	"  gomapwatch -b /usr/bin/server       # all its processes, now and later\n"
	"  gomapwatch --reads -p 4242          # also catch read/write conflicts\n"
	"  gomapwatch -b /usr/bin/server --otlp http://127.0.0.1:4318\n"
	"                                      # to the node's OpenTelemetry Collector\n"
	"  gomapwatch inspect ./server         # what would be probed; attaches nothing\n"
	"  gomapwatch inspect --kernel         # what this kernel offers gomapwatch\n"
	"\n"
	"A run nothing ends (-p, -b or --otlp without -d) holds the probes' cost\n"
	"under 5% of the target's CPU time (--max-overhead): when full tracing\n"
	"would cost more, the map probes are attached for part of every 10 s only,\n"
	"and it says so. A command started under watch, or a run with -d, is traced\n"
	"in full.\n"
	"\n"
	"-p traces that process only: children it starts are not traced and run\n"
	"untouched; -b traces every process of the binary, its children included.\n"
	"A process that execs (even its own binary again) ends the run: the probes\n"
	"were planned for the image it ran before.\n"
	"\n"
	"With -- CMD, gomapwatch exits with CMD's exit status. It exits 1 when the\n"
	"run was cut short: the process exec'd, or exited before the probes were\n"
	"attached, or the events could not be written (a closed pipe, a full\n"
	"disk; the summary then goes to stderr). Runs on Linux 5.8 or later with\n"
	"BTF; see inspect --kernel.\v"
	"SIGINT, SIGTERM and SIGHUP detach and print a summary.";

enum {
	OPT_READS = 0x100, OPT_EXIT_PROBES, OPT_STALE, OPT_ALL_FRAMES, OPT_NO_RECORDER,
	OPT_OTLP, OPT_OTLP_HEADER, OPT_SERVICE_NAME,
	OPT_MAX_OVERHEAD,
};

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Attach to this running Go process (all its threads)" },
	{ "binary", 'b', "PATH", 0,
	  "Trace every process running this binary, including ones started later" },
	{ "duration", 'd', "SECONDS", 0, "Stop after this many seconds" },
	{ "json", 'j', NULL, 0, "One JSON object per line for every event" },
	{ "output", 'o', "FILE", 0, "Write events to FILE instead of stdout" },
	{ "reads", OPT_READS, NULL, 0, "Also watch reads and iteration (more overhead)" },
	{ "otlp", OPT_OTLP, "URL", 0,
	  "Also send every event as an OpenTelemetry log record to the collector at URL "
	  "(OTLP/HTTP, e.g. http://127.0.0.1:4318; /v1/logs is added). Sent in the "
	  "background in batches, retried while the collector is away; what cannot be "
	  "sent is counted in the summary" },
	{ "otlp-header", OPT_OTLP_HEADER, "K=V", 0,
	  "Send this HTTP header with every OTLP request (authentication); repeatable" },
	{ "service-name", OPT_SERVICE_NAME, "NAME", 0,
	  "OTLP service.name (default: the binary's file name)" },
	{ "runtime-frames", OPT_ALL_FRAMES, NULL, 0,
	  "Show every frame of a stack: the runtime's own and compiler-made wrappers, "
	  "which are hidden as in Go's tracebacks" },
	{ "no-flight-recorder", OPT_NO_RECORDER, NULL, 0,
	  "Keep no record of the last map operations (shown when the runtime dies of "
	  "a fatal error); it costs a few percent of a traced operation (make bench)" },
	{ "exit-probes", OPT_EXIT_PROBES, "MODE", 0,
	  "Exit probe placement: auto (the write-flag check) or ret (every RET)" },
	{ "max-overhead", OPT_MAX_OVERHEAD, "PERCENT", 0,
	  "Hold what the probes cost the target under PERCENT of its CPU time: past "
	  "it, trace in windows, part of every 10 s (fatal errors are always caught). "
	  "Default 5 when nothing ends the run (-p, -b or --otlp without -d), else off; "
	  "0 or off: always trace in full" },
	{ "stale-ms", OPT_STALE, "MS", 0,
	  "A write with no exit after MS ms is forgotten (default 10000: on a loaded "
	  "machine a goroutine can wait seconds inside a write)" },
	{ "verbose", 'v', NULL, 0,
	  "Print the kernel's features, the probe plan and how long attaching and "
	  "detaching took, and in the summary gomapwatch's memory and how full its "
	  "BPF tables got; twice (-vv) also libbpf's debug output" },
	{},
};

static int parse_number(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out <= 0 ? -1 : 0;
}

/* PERCENT, PERCENT% or off (0) */
static int parse_percent(const char *s, double *out)
{
	char *end;

	if (!strcmp(s, "off"))
		return *out = 0, 0;
	errno = 0;
	*out = strtod(s, &end);
	if (end != s && *end == '%')
		end++;
	return errno || end == s || *end || !(*out >= 0 && *out <= 100) ? -1 : 0;
}

/* Sending to a collector with no end set: a fleet's run, for weeks. */
static bool exports_unattended(void)
{
	return env.otlp && !env.duration;
}

/*
 * The budget when none is given. Where nobody watches the run end (no -d,
 * no command of ours: a service attached with -p or -b, as the systemd
 * unit does), the probes must not cost the service more than a little. A
 * bounded run, or a command started under watch, is traced in full.
 */
static double max_overhead_default(void)
{
	if (exports_unattended() || (!env.duration && !env.cmd))
		return BUDGET_DEFAULT;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	double v;

	switch (key) {
	case 'p':
		env.pid = arg;
		break;
	case 'b':
		env.binary = arg;
		break;
	case 'd':
		if (parse_number(arg, &env.duration))
			argp_error(state, "invalid duration: %s", arg);
		break;
	case 'j':
		env.json = true;
		break;
	case 'o':
		env.output = arg;
		break;
	case 'v':
		env.verbose++;
		break;
	case OPT_READS:
		env.reads = true;
		break;
	case OPT_ALL_FRAMES:
		env.all_frames = true;
		break;
	case OPT_NO_RECORDER:
		env.no_recorder = true;
		break;
	case OPT_OTLP:
		if (otlp__unavailable())
			argp_error(state, "--otlp: %s", otlp__unavailable());
		if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
			argp_error(state, "--otlp: expected an http:// or https:// URL, got %s", arg);
		env.otlp = arg;
		break;
	case OPT_OTLP_HEADER:
		if (env.notlp_headers == 16)
			argp_error(state, "--otlp-header: at most 16");
		if (!strchr(arg, '=') || arg[0] == '=')
			argp_error(state, "--otlp-header: expected K=V, got %s", arg);
		env.otlp_headers[env.notlp_headers++] = arg;
		break;
	case OPT_SERVICE_NAME:
		env.service_name = arg;
		break;
	case OPT_EXIT_PROBES:
		if (strcmp(arg, "auto") && strcmp(arg, "ret"))
			argp_error(state, "--exit-probes: expected auto or ret, got %s", arg);
		env.force_ret = !strcmp(arg, "ret");
		break;
	case OPT_STALE:
		if (parse_number(arg, &v))
			argp_error(state, "invalid --stale-ms: %s", arg);
		env.stale_ms = v;
		break;
	case OPT_MAX_OVERHEAD:
		if (parse_percent(arg, &env.max_overhead))
			argp_error(state, "--max-overhead: expected a percentage of the target's CPU "
				   "time from 0 to 100, or off; got %s", arg);
		env.max_overhead_set = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument: %s (put the command after --)", arg);
		break;
	case ARGP_KEY_END:
		if (!!env.pid + !!env.cmd + !!env.binary != 1)
			argp_error(state, "give one of -p PID, -b PATH or -- CMD [ARGS...]");
		if ((env.notlp_headers || env.service_name) && !env.otlp)
			argp_error(state, "--otlp-header and --service-name go with --otlp URL");
		if (!env.max_overhead_set)
			env.max_overhead = max_overhead_default();
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static double now_s(void);

static void on_signal(int sig)
{
	if (!exiting)
		stop_at = now_s();
	exiting = sig;
	nsignals++;
}

static void die(const char *msg)
{
	fprintf(stderr, "gomapwatch: %s\n", msg);
}

/* clock_gettime is async-signal-safe: on_signal uses this too. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_plan(const struct gobin *b, const struct go_offsets *o, const struct plan *p)
{
	fprintf(stderr, "%s: %s, %s maps, g.goid at %d (%s), write flag at %d (%s)\n", b->path,
		b->has_version ? b->ver.raw : "unknown Go version", o->swiss ? "swiss" : "hmap",
		o->off[OFF_G_GOID], offset_source__name(o->src[OFF_G_GOID]),
		o->off[OFF_MAP_FLAGS], offset_source__name(o->src[OFF_MAP_FLAGS]));
	for (int i = 0; i < p->nfns; i++) {
		const struct hooked_fn *f = &p->fns[i];

		fprintf(stderr, "  %s [exit: %s]\n", f->name, exit_strategy__name(f->exit));
		for (int k = 0; k < f->npoints; k++)
			fprintf(stderr, "    %-11s %#lx  %-28s %s\n",
				probe_role__name(f->points[k].role),
				(unsigned long)f->points[k].addr, f->points[k].insn,
				f->points[k].emulated ? "emulated" : "single-stepped");
	}
}

#define BIAS_CACHE 64

struct session {
	struct target tgt;
	struct kfeat feat;
	double t_start, t_planned, t_loaded, t_live;
	struct {
		uint32_t pid;
		uint64_t bias;
	} bias[BIAS_CACHE];		/* PIE load bias per process */
	int nbias;
	struct gobin bin;
	struct go_offsets off;
	struct plan plan;
	struct tracer *tr;
	struct report *rep;
	FILE *out;
	bool bin_open;
	struct budget budget;		/* --max-overhead */
	struct budget_ops bops;
	struct trap_cost trap;
	struct cpu_meter cpu;
	struct ev_footprint foot;	/* -v: sampled every second */
	int out_errno;			/* writing the events failed: why */
	int exe_fd;			/* the binary planned for, held open */
	char exe_ref[32];		/* /proc/self/fd/N: what the probes attach to */
	char execd[4096];		/* the target exec'd this */
};

static uint16_t host_machine(void)
{
#if defined(__x86_64__)
	return EM_X86_64;
#elif defined(__aarch64__)
	return EM_AARCH64;
#else
	return EM_NONE;
#endif
}

/*
 * The probes go on the file that was planned for, by its inode: attaching
 * again later (--max-overhead's windows) through a path could reach
 * another binary, after an exec or a redeploy, at the old plan's offsets.
 */
static void pin_binary(struct session *s)
{
	s->exe_fd = open(s->tgt.path, O_RDONLY | O_CLOEXEC);
	if (s->exe_fd >= 0)
		snprintf(s->exe_ref, sizeof(s->exe_ref), "/proc/self/fd/%d", s->exe_fd);
}

/* Read the binary, decide offsets and probe points. Nothing is attached. */
static int read_plan(struct session *s, char *err, size_t len)
{
	struct plan_opts po = { .reads = env.reads, .force_ret = env.force_ret };
	bool swiss;

	pin_binary(s);
	if (gobin__open(&s->bin, s->tgt.path, err, len))
		return -1;
	s->bin_open = true;
	/* a foreign binary (under qemu-user, say): the kernel's breakpoints would be ours in its code */
	if (s->bin.machine != host_machine())
		return snprintf(err, len, "%.300s: an %s binary; this machine is %s (use the %s build of "
				"gomapwatch on an %s machine)", s->tgt.path, gobin__arch_name(s->bin.machine),
				gobin__arch_name(host_machine()), gobin__arch_name(s->bin.machine),
				gobin__arch_name(s->bin.machine)), -1;
	swiss = gobin__swiss(&s->bin);
	if (offsets__load(&s->off, &s->bin, swiss, err, len))
		return -1;
	if (plan__build(&s->plan, &s->bin, &s->off, &po, err, len))
		return -1;
	if (env.verbose)
		print_plan(&s->bin, &s->off, &s->plan);
	return 0;
}

/* What went wrong names the binary as the user did (-b: not /proc/self/fd/N). */
static int prepare(struct session *s, char *err, size_t len)
{
	if (read_plan(s, err, len))
		return target__say_name(&s->tgt, err, len), -1;
	return 0;
}

/* Right after a sink's write, while errno still says why it failed. */
static void note_output(struct session *s)
{
	if (!s->out_errno && ferror(s->out))
		s->out_errno = errno ? errno : EIO;
}

/*
 * A pipe whose reader has gone says so before the next write (POLLERR):
 * known before the summary, which then goes to stderr whole.
 */
static void probe_output(struct session *s)
{
	struct pollfd p = { .fd = fileno(s->out), .events = POLLOUT };

	if (!s->out_errno && poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
		s->out_errno = EPIPE;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	int ret = report__event(s->rep, data, size);

	note_output(s);
	return ret;
}

/* PIE: stack addresses carry each process's load bias, learnt once per process. */
static uint64_t session_bias(void *ctx, uint32_t pid)
{
	struct session *s = ctx;
	uint64_t bias;

	for (int i = 0; i < s->nbias; i++)
		if (s->bias[i].pid == pid)
			return s->bias[i].bias;
	bias = target__load_bias(pid, &s->bin, s->plan.fns[0].start);
	if (bias) {
		int slot = s->nbias < BIAS_CACHE ? s->nbias++ : (int)(pid % BIAS_CACHE);

		s->bias[slot].pid = pid;
		s->bias[slot].bias = bias;
	}
	return bias;
}

/* The terminal's or NDJSON output, and the collector's beside it. */
static int add_sinks(struct session *s, const struct report_src *src, char *err, size_t len)
{
	struct sink_otlp_cfg oc = {
		.net = { .url = env.otlp, .headers = env.otlp_headers,
			 .nheaders = env.notlp_headers },
		.service_name = env.service_name,
		.exe_path = target__name(&s->tgt),
		.go_version = s->bin.has_version ? s->bin.ver.raw : NULL,
	};
	struct sink *o;

	s->rep = report__new(src);
	if (!s->rep || report__add_sink(s->rep, env.json ? sink_json__new(s->out) :
							   sink_text__new(s->out)))
		return snprintf(err, len, "out of memory"), -1;
	if (!env.otlp)
		return 0;
	o = sink_otlp__new(&oc, err, len);
	return o ? report__add_sink(s->rep, o) : -1;
}

static int start(struct session *s, char *err, size_t len)
{
	struct tracer_cfg cfg = {
		.pid = s->tgt.pid,
		.path = s->exe_fd >= 0 ? s->exe_ref : s->tgt.path,
		.off = &s->off,
		.kind_unmasked = gobin__kind_whole(&s->bin),
		.stale_ns = env.stale_ms * 1000000ULL,
		.plan = &s->plan,
		.feat = &s->feat,
		.no_recorder = env.no_recorder,
		.budget = env.max_overhead > 0,
	};
	struct report_src src = {
		.bin = &s->bin, .plan = &s->plan, .all_frames = env.all_frames,
		.pair_stats = tracer__pair_stats,
		.flight = env.no_recorder ? NULL : tracer__flight,
		.holding = tracer__holding,
		.bias = s->bin.pie ? session_bias : NULL, .bias_ctx = s,
	};

	if (tracer__open(&s->tr, &cfg, on_event, s, err, len))
		return -1;
	s->t_loaded = now_s();
	src.ctx = s->tr;
	if (add_sinks(s, &src, err, len))
		return -1;
	if (tracer__attach(s->tr, &s->plan, err, len))
		return -1;
	s->t_live = now_s();
	return 0;
}

static void say_features(const struct kfeat *f)
{
	fprintf(stderr, "gomapwatch: kernel %s: attach cookies %s, uprobe_multi links %s\n",
		f->release, f->has[KF_COOKIE] ? "yes" : "no (one program per kind of write probe)",
		f->has[KF_UPROBE_MULTI] ? "yes" : "no (one perf-event link per probe)");
}

static void say_attach_times(const struct session *s)
{
	fprintf(stderr, "gomapwatch: probes live %.0f ms after start (binary and plan %.0f ms, "
		"BPF load %.0f ms, attach %.0f ms)\n", (s->t_live - s->t_start) * 1e3,
		(s->t_planned - s->t_start) * 1e3, (s->t_loaded - s->t_planned) * 1e3,
		(s->t_live - s->t_loaded) * 1e3);
}

/* Learn the bias while the process lives: it may die of what it reports. */
static void learn_bias(struct session *s)
{
	if (!s->bin.pie || s->tgt.pid <= 0)
		return;
	for (int i = 0; i < 200 && !target__gone(&s->tgt); i++) {
		if (session_bias(s, s->tgt.pid))
			return;
		usleep(5000);
	}
}

/* What the kernel side had to drop since last time: said as it happens. */
static void say_drops(struct session *s, uint64_t seen[GMW_C__MAX])
{
	static const struct {
		enum gmw_counter c;
		const char *what;
	} drops[] = {
		{ GMW_C_LOST, "alert records (ring buffer full)" },
		{ GMW_C_PAIRS_FULL, "conflicts (the table of reported stack pairs is full: counted only)" },
		{ GMW_C_TRACK_FULL, "map writes untracked (the table of writes is full)" },
	};
	uint64_t c[GMW_C__MAX];

	tracer__counters(s->tr, c);
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
		if (c[drops[i].c] > seen[drops[i].c])
			report__lost(s->rep, c[drops[i].c] - seen[drops[i].c], drops[i].what);
		seen[drops[i].c] = c[drops[i].c];
	}
}

static bool budget_sample(void *ctx, double *probe_s, double *cpu_s)
{
	struct session *s = ctx;
	struct probe_hits h;

	if (target__cpu(&s->tgt, &s->cpu, cpu_s))
		return false;
	tracer__hits(s->tr, &h);
	*probe_s = budget__cost(&s->trap, &h);
	return true;
}

static void budget_entries_off(void *ctx)
{
	tracer__stop_entries(((struct session *)ctx)->tr);
}

static void budget_exits_off(void *ctx)
{
	tracer__stop_exits(((struct session *)ctx)->tr);
}

/*
 * The target exec'd: the plan, the symbols and the load bias are the old
 * image's. The probes sit on the old file's inode, harmless to a new one,
 * but an exec of the same binary would be read with the old plan: stop.
 */
static bool image_changed(struct session *s)
{
	if (!target__execd(&s->tgt, s->execd, sizeof(s->execd)))
		return false;
	fprintf(stderr, "gomapwatch: pid %d exec'd %s: not the image the probes were planned "
		"for; stopping\n", s->tgt.pid, s->execd);
	return true;
}

static int budget_resume(void *ctx)
{
	struct session *s = ctx;
	char err[256];

	if (image_changed(s))
		return -1;
	if (!tracer__resume(s->tr, err, sizeof(err)))
		return 0;
	if (!target__gone(&s->tgt))
		fprintf(stderr, "gomapwatch: cannot attach the probes again: %s\n", err);
	return -1;
}

/*
 * What a hit costs is timed here, once; without that, the design's
 * figures for this kind of machine (DESIGN.md, "Probe points").
 */
static void budget_start(struct session *s)
{
	s->bops = (struct budget_ops){
		.ctx = s, .sample = budget_sample, .entries_off = budget_entries_off,
		.exits_off = budget_exits_off, .resume = budget_resume,
	};
	if (env.max_overhead > 0 && tracer__calibrate(s->tr, &s->trap))
		s->trap = (struct trap_cost){ .emulated_ns = 1000, .stepped_ns = 10000 };
	if (env.verbose && env.max_overhead > 0)
		fprintf(stderr, "gomapwatch: a probe hit costs %.2f us emulated, %.1f us "
			"single-stepped (%s)\n", s->trap.emulated_ns / 1e3, s->trap.stepped_ns / 1e3,
			s->trap.calibrated ? "timed here" : "not timed here: the design's figures");
	budget__init(&s->budget, env.max_overhead, &s->bops, now_s());
	s->budget.verbose = env.verbose;
	budget__env(&s->budget, getenv("GOMAPWATCH_WINDOWS"));
}

static uint64_t rss_kb(void)
{
	unsigned long size, pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &pages) != 2)
		pages = 0;
	fclose(f);
	return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

/* -v: what a long run must keep flat, its peaks for the summary. */
static void footprint_sample(struct session *s)
{
	struct ev_footprint *f = &s->foot;
	uint64_t kb = rss_kb();

	if (!f->samples++)
		f->rss_first_kb = kb;
	f->rss_last_kb = kb;
	if (kb > f->rss_peak_kb)
		f->rss_peak_kb = kb;
	tracer__occupancy(s->tr, f);
}

static void watch(struct session *s)
{
	double t0 = now_s(), purged = t0;
	uint64_t seen[GMW_C__MAX] = { 0 };

	while (!exiting) {
		int wait_ms = 100;

		/* -d: stop on time, not up to a poll interval late */
		if (env.duration && (env.duration - (now_s() - t0)) * 1e3 < wait_ms)
			wait_ms = (env.duration - (now_s() - t0)) * 1e3;
		if (budget__wait(&s->budget, now_s()) * 1e3 < wait_ms)
			wait_ms = budget__wait(&s->budget, now_s()) * 1e3;
		if (tracer__poll(s->tr, wait_ms > 0 ? wait_ms : 0) < 0)
			break;
		if (budget__step(&s->budget, now_s()) < 0)
			break;
		if (now_s() - purged >= 1) {
			if (env.verbose)
				footprint_sample(s);
			tracer__purge(s->tr, env.stale_ms * 1000000ULL);
			purged = now_s();
		}
		say_drops(s, seen);
		if (target__gone(&s->tgt) || s->out_errno || image_changed(s))
			break;
		if (env.duration && now_s() - t0 >= env.duration)
			break;
	}
	/* The ring outlives the target: what it died of is still in there. */
	tracer__drain(s->tr);
}

static void say_budget(const struct ev_budget *b)
{
	fprintf(stderr, "gomapwatch: budget %g%% of the target's CPU: ", b->percent);
	if (b->sampled)
		fprintf(stderr, "sampled, the probes attached %.1f%% of the time in %d windows, ",
			b->duty * 100, b->windows);
	else
		fprintf(stderr, "traced in full, ");
	if (b->overhead < 0)
		fprintf(stderr, "cost not estimated (the target hardly ran)");
	else
		fprintf(stderr, "estimated cost %.1f%% (full tracing ~%.0f%%)", b->overhead,
			b->full < 0 ? b->overhead : b->full);
	fprintf(stderr, "; %llu writes inside when their window closed, forgotten\n",
		(unsigned long long)b->forgotten);
}

static void budget_end(struct session *s, struct ev_budget *b)
{
	struct budget_result r;

	if (env.max_overhead <= 0)
		return;
	budget__end(&s->budget, now_s(), &r);
	*b = (struct ev_budget){
		.percent = env.max_overhead,
		.sampled = r.sampled,
		.duty = r.duty,
		.windows = r.windows,
		.overhead = r.overhead < 0 ? -1 : r.overhead * 100,
		.full = r.full < 0 ? -1 : r.full * 100,
		.forgotten = tracer__forgotten(s->tr),
	};
	if (env.verbose)
		say_budget(b);
}

static void finish(struct session *s, double seconds)
{
	struct report_end end = { .seconds = seconds, .flush_ms = 5000 };
	char status[128], buf[256];

	budget_end(s, &end.budget);
	if (env.verbose) {
		footprint_sample(s);
		end.footprint = s->foot;
	}
	tracer__counters(s->tr, end.counters);
	end.unfinished = tracer__unfinished(s->tr);
	if (s->tgt.exited) {
		target__describe(&s->tgt, status, sizeof(status));
		if (report__fatal_message(s->rep) && target__exit_code(&s->tgt) == 2)
			snprintf(buf, sizeof(buf), "%s after %s", status,
				 report__fatal_message(s->rep));
		else
			snprintf(buf, sizeof(buf), "%s", status);
		end.target_status = buf;
	} else if (s->execd[0]) {
		snprintf(buf, sizeof(buf), "process %d exec'd %.200s", s->tgt.pid, s->execd);
		end.target_status = buf;
	}
	report__summary(s->rep, &end);
	note_output(s);
	if (end.target_status && s->tgt.child)
		fprintf(stderr, "gomapwatch: %s %s\n", s->tgt.path, end.target_status);
}

/* After detaching, a command we started keeps its own life: wait for it. */
static void wait_child(struct session *s)
{
	char status[128];
	int forwarded = 0;

	if (!s->tgt.child || s->tgt.exited)
		return;
	fprintf(stderr, "gomapwatch: detached; waiting for %s to end\n", s->tgt.path);
	/*
	 * SIGTERM and SIGHUP, then or later, are passed on: they were meant
	 * for the command. SIGINT from a terminal reached it already.
	 */
	while (!target__gone(&s->tgt)) {
		if (nsignals != forwarded) {
			forwarded = nsignals;
			if (exiting != SIGINT)
				kill(s->tgt.pid, exiting);
		}
		usleep(20000);
	}
	target__describe(&s->tgt, status, sizeof(status));
	fprintf(stderr, "gomapwatch: %s %s\n", s->tgt.path, status);
}

/*
 * The events' output failed (a reader gone, a full disk): the run stopped
 * there, and the summary went where it can be read.
 */
static void say_output(struct session *s)
{
	if (!s->out_errno)
		return;
	if (s->out_errno == EPIPE)
		fprintf(stderr, "gomapwatch: writing events: output closed (%s)\n",
			strerror(EPIPE));
	else
		fprintf(stderr, "gomapwatch: writing events: %s (%s)\n", strerror(s->out_errno),
			env.output ? env.output : "stdout");
}

/* What cut the run short: the exit status is 1 even for a command's run. */
static bool stopped_short(struct session *s)
{
	return s->out_errno || s->execd[0];
}

/* Attaching failed because the process ended meanwhile: libbpf's reason is beside the point. */
static void say_error(struct session *s, const char *err)
{
	/* an exiting process loses its executable before it is a zombie */
	for (int i = 0; i < 20 && env.pid && s->tgt.pid > 0 && !target__gone(&s->tgt); i++)
		usleep(5000);
	if (env.pid && s->tgt.pid > 0 && target__gone(&s->tgt))
		fprintf(stderr, "gomapwatch: process %d exited while gomapwatch was attaching; "
			"nothing traced (%s)\n", s->tgt.pid, err);
	else
		die(err);
}

static void cleanup(struct session *s)
{
	target__close(&s->tgt);
	tracer__destroy(s->tr);
	if (s->exe_fd >= 0)
		close(s->exe_fd);
	report__free(s->rep);
	cpu_meter__free(&s->cpu);
	plan__free(&s->plan);
	if (s->bin_open)
		gobin__close(&s->bin);
	if (s->out && s->out != stdout)
		fclose(s->out);
	if (s->tgt.child && !s->tgt.exited && s->tgt.go_fd >= 0) {
		/* never started: don't leave it behind */
		kill(s->tgt.pid, SIGKILL);
		target__gone(&s->tgt);
	}
}

static void print_banner(const struct session *s)
{
	char who[64];

	if (s->tgt.pid > 0)
		snprintf(who, sizeof(who), "pid %d", s->tgt.pid);
	else
		snprintf(who, sizeof(who), "every process of the binary");
	fprintf(stderr, "gomapwatch: watching %s (%s, %s, %s maps): %d functions, %d probes%s\n",
		who, target__name(&s->tgt), s->bin.has_version ? s->bin.ver.raw : "Go ?",
		s->off.swiss ? "swiss" : "hmap", s->plan.nfns, plan__npoints(&s->plan),
		env.duration ? "" : "; Ctrl-C to stop");
}

static int split_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			if (i + 1 < argc)
				env.cmd = &argv[i + 1];
			argv[i] = NULL;
			return i;
		}
	return argc;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* a closed output is an error to report (EPIPE), after detaching: not a death */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}


int main(int argc, char **argv)
{
	static const struct argp argp = { options, parse_arg,
					  "-p PID | -b PATH | -- CMD [ARGS...]\ninspect BINARY | -p PID | --kernel",
					  doc };
	struct session s = { .out = stdout, .tgt = { .go_fd = -1, .err_fd = -1 }, .exe_fd = -1,
			     .t_start = now_s() };
	char err[512] = "";
	double t0, stopped;
	int ret = 1;

	if (argc > 1 && !strcmp(argv[1], "inspect"))
		return inspect__main(argc - 1, argv + 1);
	argc = split_command(argc, argv);
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	/* capabilities, not uid 0: CAP_BPF and CAP_PERFMON are enough for most runs */
	if (caps__check(env.max_overhead > 0, err, sizeof(err))) {
		die(err);
		return CAPS_EXIT;
	}
	bpflog__install(env.verbose > 1);
	kfeat__probe(&s.feat, true);
	if (kfeat__check(&s.feat, err, sizeof(err))) {
		die(err);
		return 1;
	}
	if (env.verbose)
		say_features(&s.feat);
	if (env.output && !(s.out = fopen(env.output, "w"))) {
		fprintf(stderr, "gomapwatch: %s: %s\n", env.output, strerror(errno));
		return 1;
	}
	install_signals();
	/* A command is checked before it is started, a process before it is touched. */
	if (env.cmd && target__resolve(env.cmd[0], s.tgt.path, sizeof(s.tgt.path), err, sizeof(err)))
		goto out;
	if (env.pid && target__from_pid(&s.tgt, env.pid, err, sizeof(err)))
		goto out;
	/* before the binary is read: an exec from now on is seen */
	target__watch_image(&s.tgt);
	if (env.binary && target__from_binary(&s.tgt, env.binary, err, sizeof(err)))
		goto out;
	if (prepare(&s, err, sizeof(err)))
		goto out;
	s.t_planned = now_s();
	if (env.cmd && target__spawn(&s.tgt, env.cmd, err, sizeof(err)))
		goto out;
	if (start(&s, err, sizeof(err)))
		goto out;
	if (s.tgt.child && target__release(&s.tgt, err, sizeof(err)))
		goto out;
	if (s.tgt.child)
		target__watch_image(&s.tgt);	/* from the command's own image on */
	if (env.verbose)
		say_attach_times(&s);
	learn_bias(&s);
	print_banner(&s);
	budget_start(&s);
	t0 = now_s();
	watch(&s);
	stopped = exiting ? stop_at : now_s();
	probe_output(&s);
	if (s.out_errno)
		report__add_sink(s.rep, sink_text__new(stderr));
	finish(&s, now_s() - t0);
	tracer__detach(s.tr);
	if (env.verbose)
		fprintf(stderr, "gomapwatch: probes released %.0f ms after the stop\n",
			(now_s() - stopped) * 1e3);
	tracer__destroy(s.tr);
	s.tr = NULL;
	say_output(&s);
	wait_child(&s);
	ret = stopped_short(&s) ? 1 : s.tgt.child ? target__exit_code(&s.tgt) : 0;
out:
	if (*err)
		say_error(&s, err);
	cleanup(&s);
	return ret;
}
