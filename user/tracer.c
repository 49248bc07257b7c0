// SPDX-License-Identifier: GPL-2.0
/* libbpf lifecycle: open -> set rodata -> load -> attach -> poll -> destroy. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "gomapwatch.skel.h"
#include "event.h"
#include "target.h"
#include "tracer.h"
#include "uprobe_multi.h"

/*
 * What a link is for, in the order links are attached: the ways out of a
 * write before any way in. --max-overhead's windows take the entries
 * away first and the ways out after; the fatal probes stay (they cost
 * nothing until the runtime dies, and then they are what tells why).
 */
enum link_class {
	LC_RELEASE,	/* exits and gopanic: they end a write */
	LC_FATAL,	/* runtime.fatal, throw, fatalpanic */
	LC_ENTRY,	/* write entries, reads, iteration */
};
#define LC_ALL	((1u << LC_RELEASE) | (1u << LC_FATAL) | (1u << LC_ENTRY))

/* One link: a perf-event uprobe, or a uprobe_multi link's fd. */
struct tlink {
	struct bpf_link *link;
	int fd;
	enum link_class cls;
};

struct tracer {
	struct gomapwatch_bpf *skel;
	struct ring_buffer *rb;
	struct tlink *links;
	int nlinks;
	pid_t pid;
	const char *path;
	const struct plan *plan;
	struct kfeat feat;
	uint64_t aged;		/* records purged here because their exit never came */
	uint64_t forgotten;	/* writes inside when their window closed */
	int stats_fd;		/* the kernel's per-program run time, while held */
};

static void set_rodata(struct gomapwatch_bpf *skel, const struct tracer_cfg *cfg)
{
	const struct go_offsets *o = cfg->off;

	skel->rodata->goid_off = o->off[OFF_G_GOID];
	skel->rodata->gopc_off = o->off[OFF_G_GOPC];
	skel->rodata->parent_goid_off = o->off[OFF_G_PARENT_GOID];
	skel->rodata->recorder = !cfg->no_recorder;
	skel->rodata->flag_off = o->off[OFF_MAP_FLAGS];
	skel->rodata->flag_mask = o->swiss ? 0xff : 4;
	if (o->off[OFF_ITER_MAP] >= 0)
		skel->rodata->iter_map_off = o->off[OFF_ITER_MAP];
	if (o->off[OFF_PANIC_ARG] >= 0)
		skel->rodata->panic_arg_off = o->off[OFF_PANIC_ARG];
	skel->rodata->kind_mask = cfg->kind_unmasked ? 0xff : 0x1f;
	skel->rodata->stale_ns = cfg->stale_ns;
}

static struct bpf_program *role_prog(struct gomapwatch_bpf *s, enum probe_role r)
{
	switch (r) {
	case ROLE_WRITE_ENTER:	return s->progs.write_enter;
	case ROLE_WRITE_EXIT:	return s->progs.write_exit;
	case ROLE_READ:		return s->progs.read_enter;
	case ROLE_ITER_NEXT:	return s->progs.iter_next;
	case ROLE_FATAL:	return s->progs.fatal_enter;
	case ROLE_PANIC:	return s->progs.panic_enter;
	case ROLE_FATALPANIC:	return s->progs.fatalpanic_enter;
	}
	return NULL;
}

static enum link_class point_class(const struct probe_point *pp)
{
	switch (pp->role) {
	case ROLE_WRITE_EXIT:
	case ROLE_PANIC:
		return LC_RELEASE;
	case ROLE_FATAL:
	case ROLE_FATALPANIC:
		return LC_FATAL;
	default:
		return LC_ENTRY;
	}
}

static uint64_t point_cookie(const struct hooked_fn *f, const struct probe_point *pp)
{
	uint8_t flags = f->owner ? GMW_F_OWNER : 0;

	if (pp->role == ROLE_WRITE_EXIT)
		return GMW_COOKIE(flags, pp->map_reg >= 0 ? pp->map_reg : GMW_REG_NONE);
	if (pp->role == ROLE_READ)
		flags = 0;
	return GMW_COOKIE(flags | GMW_F_KEY(f->keyform), GMW_REG_NONE);
}

/* Does the point's program count its single-stepped hits (GMW_C_STEPPED)? */
static bool counts_stepped(const struct tracer *t, const struct probe_point *pp)
{
	return t->feat.has[KF_COOKIE] && (pp->role == ROLE_WRITE_ENTER ||
					  pp->role == ROLE_WRITE_EXIT || pp->role == ROLE_READ);
}

/* The cookie a link gives its point: what the program must know, and how it traps. */
static uint64_t link_cookie(const struct tracer *t, const struct hooked_fn *f,
			    const struct probe_point *pp)
{
	uint64_t c = point_cookie(f, pp);

	return counts_stepped(t, pp) && !pp->emulated ? c | GMW_F_STEPPED : c;
}

/*
 * The program a point runs. Without attach cookies a write's entry and
 * exit run the program made for what the cookie would have said.
 */
static struct bpf_program *point_prog(struct tracer *t, const struct hooked_fn *f,
				      const struct probe_point *pp)
{
	uint64_t c = point_cookie(f, pp);
	char name[32];

	if (t->feat.has[KF_COOKIE] || (pp->role != ROLE_WRITE_ENTER && pp->role != ROLE_WRITE_EXIT &&
				       pp->role != ROLE_READ))
		return role_prog(t->skel, pp->role);
	if (pp->role == ROLE_READ)
		snprintf(name, sizeof(name), "rd_%u", GMW_COOKIE_FLAGS(c));
	else if (pp->role == ROLE_WRITE_ENTER)
		snprintf(name, sizeof(name), "wenter_%u", GMW_COOKIE_FLAGS(c));
	else if (GMW_COOKIE_REG(c) == GMW_REG_NONE)
		snprintf(name, sizeof(name), "wexit_0_%u", GMW_REG_NONE);
	else
		snprintf(name, sizeof(name), "wexit_%u_%u", GMW_COOKIE_FLAGS(c), GMW_COOKIE_REG(c));
	return bpf_object__find_program_by_name(t->skel->obj, name);
}

/* Load only the programs the plan runs, made for the links they will get. */
static int choose_programs(struct tracer *t, const struct plan *p, char *err, size_t errlen)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, t->skel->obj)
		bpf_program__set_autoload(prog, false);
	for (int i = 0; i < p->nfns; i++)
		for (int k = 0; k < p->fns[i].npoints; k++) {
			prog = point_prog(t, &p->fns[i], &p->fns[i].points[k]);
			if (!prog)
				return snprintf(err, errlen, "no BPF program for a %s probe in %s",
						probe_role__name(p->fns[i].points[k].role),
						p->fns[i].name), -EINVAL;
			bpf_program__set_autoload(prog, true);
			if (t->feat.has[KF_UPROBE_MULTI])
				bpf_program__set_expected_attach_type(prog, GMW_TRACE_UPROBE_MULTI);
		}
	return 0;
}

/*
 * --max-overhead: the calibration's program, and the kernel's count of
 * runs and run time per program (a global switch, on while the fd is held).
 */
static int budget_setup(struct tracer *t, char *err, size_t errlen)
{
	struct bpf_program *calib = t->skel->progs.calib;

	bpf_program__set_autoload(calib, true);
	if (t->feat.has[KF_UPROBE_MULTI])
		bpf_program__set_expected_attach_type(calib, GMW_TRACE_UPROBE_MULTI);
	t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (t->stats_fd < 0)
		return snprintf(err, errlen, "--max-overhead: the kernel does not time BPF programs "
				"(BPF_ENABLE_STATS: %s)", strerror(errno)), -errno;
	return 0;
}

int tracer__open(struct tracer **tp, const struct tracer_cfg *cfg, tracer_event_fn fn,
		 void *ctx, char *err, size_t errlen)
{
	struct tracer *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return -ENOMEM;
	t->pid = cfg->pid;
	t->path = cfg->path;
	t->plan = cfg->plan;
	t->feat = *cfg->feat;
	t->stats_fd = -1;
	t->skel = gomapwatch_bpf__open();
	if (!t->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open BPF object: %s", strerror(errno));
		goto fail;
	}
	set_rodata(t->skel, cfg);
	ret = choose_programs(t, cfg->plan, err, errlen);
	if (!ret && cfg->budget)
		ret = budget_setup(t, err, errlen);
	if (ret)
		goto fail;
	ret = gomapwatch_bpf__load(t->skel);
	if (ret) {
		snprintf(err, errlen, "cannot load the BPF programs into kernel %s: %s "
			 "(libbpf's messages above say why)", t->feat.release, strerror(-ret));
		goto fail;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.alerts),
				 (ring_buffer_sample_fn)fn, ctx, NULL);
	if (!t->rb) {
		ret = -errno;
		snprintf(err, errlen, "cannot set up the ring buffer: %s", strerror(errno));
		goto fail;
	}
	*tp = t;
	return 0;
fail:
	tracer__destroy(t);
	return ret;
}

static void link_add(struct tracer *t, struct bpf_link *link, int fd, enum link_class cls)
{
	t->links[t->nlinks++] = (struct tlink){ .link = link, .fd = fd, .cls = cls };
}

static int attach_point(struct tracer *t, const struct hooked_fn *f,
			const struct probe_point *pp, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts,
		    .bpf_cookie = t->feat.has[KF_COOKIE] ? link_cookie(t, f, pp) : 0);
	struct bpf_link *link;

	link = bpf_program__attach_uprobe_opts(point_prog(t, f, pp), t->pid, t->path,
					       pp->file_off, &opts);
	if (!link) {
		int e = errno;

		snprintf(err, errlen, "attach %s+%#lx (%s): %s", f->name,
			 (unsigned long)(pp->addr - f->start), pp->insn, strerror(e));
		return -e;
	}
	link_add(t, link, -1, point_class(pp));
	return 0;
}

/* Every point of one program, of one class, in one uprobe_multi link. */
static int attach_multi(struct tracer *t, const struct plan *p, struct bpf_program *prog,
			enum link_class cls, uint64_t *offs, uint64_t *cookies, char *err,
			size_t errlen)
{
	uint32_t n = 0;
	int fd;

	for (int i = 0; i < p->nfns; i++)
		for (int k = 0; k < p->fns[i].npoints; k++) {
			const struct probe_point *pp = &p->fns[i].points[k];

			if (point_class(pp) != cls || point_prog(t, &p->fns[i], pp) != prog)
				continue;
			offs[n] = pp->file_off;
			cookies[n++] = link_cookie(t, &p->fns[i], pp);
		}
	if (!n)
		return 0;
	fd = uprobe_multi__link(bpf_program__fd(prog), t->path, offs, cookies, n, t->pid);
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "attach %u probes of %s in one uprobe_multi link: %s", n,
			 bpf_program__name(prog), strerror(e));
		return -e;
	}
	link_add(t, NULL, fd, cls);
	return 0;
}

static int attach_class(struct tracer *t, const struct plan *p, enum link_class cls, char *err,
			size_t errlen)
{
	int n = plan__npoints(p), ret = 0;
	struct bpf_program *prog;
	uint64_t *offs, *cookies;

	if (!t->feat.has[KF_UPROBE_MULTI]) {
		for (int i = 0; i < p->nfns; i++)
			for (int k = 0; k < p->fns[i].npoints && !ret; k++)
				if (point_class(&p->fns[i].points[k]) == cls)
					ret = attach_point(t, &p->fns[i], &p->fns[i].points[k],
							   err, errlen);
		return ret;
	}
	offs = calloc(n, sizeof(*offs));
	cookies = calloc(n, sizeof(*cookies));
	if (!offs || !cookies)
		ret = -ENOMEM;
	bpf_object__for_each_program(prog, t->skel->obj)
		if (!ret && bpf_program__autoload(prog))
			ret = attach_multi(t, p, prog, cls, offs, cookies, err, errlen);
	free(offs);
	free(cookies);
	return ret;
}

/*
 * Releases first (exits, gopanic): a write whose entry fired with no way
 * out probed yet would stay "inside" and make the next writer look like a
 * conflict. Detaching stops the entries first (tracer__detach).
 */
int tracer__attach(struct tracer *t, const struct plan *p, char *err, size_t errlen)
{
	int ret;

	t->links = calloc(plan__npoints(p), sizeof(*t->links));
	if (!t->links)
		return -ENOMEM;
	ret = attach_class(t, p, LC_RELEASE, err, errlen);
	if (!ret)
		ret = attach_class(t, p, LC_FATAL, err, errlen);
	return ret ? ret : attach_class(t, p, LC_ENTRY, err, errlen);
}

static void *link_release(void *arg)
{
	struct tlink *l = arg;

	if (l->link)
		bpf_link__destroy(l->link);
	else if (l->fd >= 0)
		close(l->fd);
	l->link = NULL;
	l->fd = -1;
	return NULL;
}

/*
 * Each release waits for the kernel's grace periods: released side by
 * side, their waits overlap instead of adding up. The links of the
 * classes in mask go; the others stay, in order.
 */
static void release_links(struct tracer *t, unsigned int mask)
{
	pthread_t *th = calloc(t->nlinks ? t->nlinks : 1, sizeof(*th));
	bool *started = calloc(t->nlinks ? t->nlinks : 1, sizeof(*started));
	int n = 0;

	for (int i = 0; i < t->nlinks; i++) {
		if (!(mask & 1u << t->links[i].cls))
			continue;
		if (th && started && !pthread_create(&th[i], NULL, link_release, &t->links[i]))
			started[i] = true;
		else
			link_release(&t->links[i]);
	}
	for (int i = 0; th && started && i < t->nlinks; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	free(th);
	free(started);
	for (int i = 0; i < t->nlinks; i++)
		if (t->links[i].link || t->links[i].fd >= 0)
			t->links[n++] = t->links[i];
	t->nlinks = n;
}

/* The entries stop first (stopping), so no write can be recorded after its exit is gone. */
void tracer__detach(struct tracer *t)
{
	if (!t || !t->links)
		return;
	t->skel->bss->stopping = 1;
	release_links(t, LC_ALL);
	free(t->links);
	t->links = NULL;
	t->nlinks = 0;
}

static int table__clear(int fd);

/*
 * Every write in flight is forgotten. Called with no entry probe in
 * place: a record left is a write whose exit went unseen (it ended while
 * the exits were away, or has yet to), and kept it would accuse the next
 * writer of the map in the next window. Forgetting a live one costs at
 * most a missed conflict, never a false one, and its write flag still
 * speaks for it (track.h).
 */
static void forget_inflight(struct tracer *t)
{
	t->forgotten += table__clear(bpf_map__fd(t->skel->maps.writers));
	table__clear(bpf_map__fd(t->skel->maps.owners));
}

void tracer__stop_entries(struct tracer *t)
{
	t->skel->bss->stopping = 1;
	release_links(t, 1u << LC_ENTRY);
}

void tracer__stop_exits(struct tracer *t)
{
	release_links(t, 1u << LC_RELEASE);
	forget_inflight(t);
}

/* As at the start: the ways out, then a clean slate, then the ways in. */
int tracer__resume(struct tracer *t, char *err, size_t errlen)
{
	int ret = attach_class(t, t->plan, LC_RELEASE, err, errlen);

	if (ret)
		return ret;
	forget_inflight(t);
	t->skel->bss->stopping = 0;
	return attach_class(t, t->plan, LC_ENTRY, err, errlen);
}

uint64_t tracer__forgotten(struct tracer *t)
{
	return t->forgotten;
}

/* Records sent without a wakeup (panics) are picked up by the consume. */
int tracer__poll(struct tracer *t, int timeout_ms)
{
	int ret = ring_buffer__poll(t->rb, timeout_ms);

	if (ret == -EINTR)
		ret = 0;
	return ret < 0 ? ret : ring_buffer__consume(t->rb);
}

int tracer__drain(struct tracer *t)
{
	return ring_buffer__consume(t->rb);
}

void tracer__counters(struct tracer *t, uint64_t out[GMW_C__MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(*vals));

	memset(out, 0, GMW_C__MAX * sizeof(out[0]));
	if (!vals)
		return;
	for (__u32 c = 0; c < GMW_C__MAX; c++) {
		if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.counters), &c, vals))
			continue;
		for (int i = 0; i < ncpu; i++)
			out[c] += vals[i];
	}
	out[GMW_C_AGED] += t->aged;
	free(vals);
}

static int rec_by_ts(const void *a, const void *b)
{
	const struct gmw_rec *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

int tracer__flight(void *tp, struct gmw_rec *out, int max)
{
	struct tracer *t = tp;
	int ncpu = libbpf_num_possible_cpus(), n = 0;
	struct gmw_ring *rings;
	__u32 zero = 0;

	if (ncpu <= 0 || max <= 0)
		return 0;
	rings = calloc(ncpu, sizeof(*rings));
	if (!rings)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.flight), &zero, rings)) {
		struct gmw_rec *all = calloc((size_t)ncpu * GMW_REC_SLOTS, sizeof(*all));

		for (int c = 0; all && c < ncpu; c++) {
			uint64_t k = rings[c].head < GMW_REC_SLOTS ? rings[c].head : GMW_REC_SLOTS;

			memcpy(all + n, rings[c].rec, k * sizeof(*all));
			n += k;
		}
		if (all) {
			qsort(all, n, sizeof(*all), rec_by_ts);
			if (n > max) {
				memmove(all, all + n - max, max * sizeof(*all));
				n = max;
			}
			memcpy(out, all, n * sizeof(*all));
		}
		free(all);
	}
	free(rings);
	t->skel->bss->rec_frozen = 0;
	return n;
}

int tracer__pair_stats(void *tp, const struct gmw_pair_key *k, struct gmw_pair_val *v)
{
	struct tracer *t = tp;

	return bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.pairs), k, v);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool pid_gone(__u32 pid)
{
	return kill(pid, 0) && errno == ESRCH;
}

struct purge_ctx {
	uint64_t now, stale_ns;
	uint64_t aged;
	__u32 pid;		/* the last process looked up, and when it started */
	uint64_t start;
	bool known;
};

/*
 * -b: the PID of a record taken at ts is another process's now. One
 * look at /proc per process and purge, however many writes it holds.
 */
static bool reused(struct purge_ctx *p, __u32 pid, uint64_t ts)
{
	if (p->pid != pid) {
		p->pid = pid;
		p->known = !target__start_mono(pid, &p->start);
	}
	return p->known && p->start > ts;
}

/* Delete the keys of fd that drop() picks; the keys are collected first. */
static int table__purge(int fd, size_t vsize, bool (*drop)(const void *k, const void *v, void *c),
			void *ctx)
{
	struct gmw_proc_key key, cur, *prev = NULL, *doomed = NULL;
	int n = 0, cap = 0;
	uint8_t val[256];

	if (vsize > sizeof(val))
		return 0;
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		if (!bpf_map_lookup_elem(fd, &key, val) && drop(&key, val, ctx)) {
			if (n == cap) {
				struct gmw_proc_key *d = realloc(doomed, (cap = cap * 2 + 16) * sizeof(*d));

				if (!d)
					break;
				doomed = d;
			}
			doomed[n++] = key;
		}
		cur = key;
		prev = &cur;
	}
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &doomed[i]);
	free(doomed);
	return n;
}

static bool any(const void *k, const void *v, void *c)
{
	return true;
}

static int table__clear(int fd)
{
	return table__purge(fd, sizeof(struct gmw_inflight), any, NULL);
}

/* Records whose exit never came (counted as aged out), and exited processes'. */
static bool writer_stale(const void *k, const void *v, void *c)
{
	const struct gmw_inflight *w = v;
	struct purge_ctx *p = c;

	if (pid_gone(w->pid) || reused(p, w->pid, w->ts))
		return true;
	if (p->now <= w->ts || p->now - w->ts <= p->stale_ns)
		return false;
	p->aged++;
	return true;
}

static bool owner_gone(const void *k, const void *v, void *c)
{
	return pid_gone(((const struct gmw_proc_key *)k)->pid);
}

/*
 * What grows without it: records whose exit never came (counted as aged
 * out, as the kernel counts the ones it replaces) and whatever a process
 * that exited (-b) left behind.
 */
void tracer__purge(struct tracer *t, uint64_t stale_ns)
{
	struct purge_ctx p = { .now = mono_ns(), .stale_ns = stale_ns };

	table__purge(bpf_map__fd(t->skel->maps.writers), sizeof(struct gmw_inflight),
		     writer_stale, &p);
	t->aged += p.aged;
	table__purge(bpf_map__fd(t->skel->maps.owners), sizeof(__u64), owner_gone, NULL);
}

/* Keys of every size the tables use fit: a pair of stacks is the longest. */
static uint32_t table__count(int fd)
{
	uint8_t key[sizeof(struct gmw_pair_key)], cur[sizeof(key)];
	void *prev = NULL;
	uint32_t n = 0;

	while (!bpf_map_get_next_key(fd, prev, key)) {
		n++;
		memcpy(cur, key, sizeof(key));
		prev = cur;
	}
	return n;
}

static void table__peak(struct ev_table *t, const struct bpf_map *m)
{
	uint32_t n = table__count(bpf_map__fd(m));

	t->max = bpf_map__max_entries(m);
	if (n > t->peak)
		t->peak = n;
}

void tracer__occupancy(struct tracer *t, struct ev_footprint *f)
{
	table__peak(&f->writers, t->skel->maps.writers);
	table__peak(&f->owners, t->skel->maps.owners);
	table__peak(&f->pairs, t->skel->maps.pairs);
}

int tracer__holding(void *tp, uint32_t pid, uint64_t goid, struct gmw_rec *out)
{
	struct tracer *t = tp;
	int fd = bpf_map__fd(t->skel->maps.writers);
	struct gmw_proc_key key, cur, *prev = NULL;
	struct gmw_inflight v;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		cur = key;
		prev = &cur;
		if (key.pid != pid || bpf_map_lookup_elem(fd, &key, &v) || v.goid != goid)
			continue;
		memset(out, 0, sizeof(*out));
		gmw_rec__from(out, &v);
		return 0;
	}
	return -1;
}

int tracer__unfinished(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.writers), n = 0;
	struct gmw_proc_key key, cur, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		n++;
		cur = key;
		prev = &cur;
	}
	return n;
}

/*
 * A program whose hits on single-stepped points the kernel does not count
 * (no cookies, or a role that reads none), though it has such points: all
 * its hits are taken as single-stepped. The estimate errs high, never low.
 */
static bool prog_stepped(struct tracer *t, const struct bpf_program *prog)
{
	const struct plan *p = t->plan;

	for (int i = 0; i < p->nfns; i++)
		for (int k = 0; k < p->fns[i].npoints; k++) {
			const struct probe_point *pp = &p->fns[i].points[k];

			if (!pp->emulated && !counts_stepped(t, pp) &&
			    point_prog(t, &p->fns[i], pp) == prog)
				return true;
		}
	return false;
}

static int prog_stats(const struct bpf_program *prog, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(bpf_program__fd(prog), info, &len);
}

void tracer__hits(struct tracer *t, struct probe_hits *h)
{
	struct bpf_program *prog;
	struct bpf_prog_info info;
	uint64_t c[GMW_C__MAX];

	memset(h, 0, sizeof(*h));
	bpf_object__for_each_program(prog, t->skel->obj) {
		if (!bpf_program__autoload(prog) || prog == t->skel->progs.calib ||
		    prog_stats(prog, &info))
			continue;
		h->run_ns += info.run_time_ns;
		if (prog_stepped(t, prog))
			h->stepped += info.run_cnt;
		else
			h->emulated += info.run_cnt;
	}
	/* the programs that count theirs counted them among the emulated */
	tracer__counters(t, c);
	c[GMW_C_STEPPED] = c[GMW_C_STEPPED] < h->emulated ? c[GMW_C_STEPPED] : h->emulated;
	h->emulated -= c[GMW_C_STEPPED];
	h->stepped += c[GMW_C_STEPPED];
}

#if defined(__x86_64__) || defined(__aarch64__)
/*
 * Three copies of one small function: the kernel emulates a uprobe on its
 * conditional jump (gmw_calib_jcc_at) and single-steps one on the other
 * instruction probed (gmw_calib_step_at), as on the target's points. The
 * first copy is never probed. x86-64 single-steps ret; arm64 simulates its
 * ret and branches alike, so there the stepped one is an add.
 */
#if defined(__x86_64__)
asm(".pushsection .text\n"
    ".p2align 4\n"
    ".hidden gmw_calib_plain, gmw_calib_jcc, gmw_calib_step, gmw_calib_jcc_at, gmw_calib_step_at\n"
    ".globl gmw_calib_plain, gmw_calib_jcc, gmw_calib_step, gmw_calib_jcc_at, gmw_calib_step_at\n"
    ".type gmw_calib_plain, @function\n"
    "gmw_calib_plain:\n\ttest %edi, %edi\n\tjne 1f\n1:\tret\n"
    ".p2align 4\n"
    ".type gmw_calib_jcc, @function\n"
    "gmw_calib_jcc:\n\ttest %edi, %edi\ngmw_calib_jcc_at:\n\tjne 2f\n2:\tret\n"
    ".p2align 4\n"
    ".type gmw_calib_step, @function\n"
    "gmw_calib_step:\n\ttest %edi, %edi\n\tjne 3f\n3:\n"
    "gmw_calib_step_at:\n\tret\n"
    ".popsection\n");
#else
asm(".pushsection .text\n"
    ".p2align 4\n"
    ".hidden gmw_calib_plain, gmw_calib_jcc, gmw_calib_step, gmw_calib_jcc_at, gmw_calib_step_at\n"
    ".globl gmw_calib_plain, gmw_calib_jcc, gmw_calib_step, gmw_calib_jcc_at, gmw_calib_step_at\n"
    ".type gmw_calib_plain, %function\n"
    "gmw_calib_plain:\n\tadd w1, w0, #1\n\tcbnz w0, 1f\n1:\tret\n"
    ".p2align 4\n"
    ".type gmw_calib_jcc, %function\n"
    "gmw_calib_jcc:\n\tadd w1, w0, #1\ngmw_calib_jcc_at:\n\tcbnz w0, 2f\n2:\tret\n"
    ".p2align 4\n"
    ".type gmw_calib_step, %function\n"
    "gmw_calib_step:\n"
    "gmw_calib_step_at:\n\tadd w1, w0, #1\n\tcbnz w0, 3f\n3:\tret\n"
    ".popsection\n");
#endif

void gmw_calib_plain(int), gmw_calib_jcc(int), gmw_calib_step(int);
extern const char gmw_calib_jcc_at[], gmw_calib_step_at[];

#define CALIB_ROUNDS	7

/* Where addr of this process's code lies in its executable. */
static int self_offset(const void *addr, uint64_t *off)
{
	unsigned long start, end, pgoff;
	char line[4608];
	FILE *f = fopen("/proc/self/maps", "r");
	int ret = -1;

	while (f && ret && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx", &start, &end, &pgoff) == 3 &&
		    (uintptr_t)addr >= start && (uintptr_t)addr < end) {
			*off = (uintptr_t)addr - start + pgoff;
			ret = 0;
		}
	if (f)
		fclose(f);
	return ret;
}

/* The calibration's program at addr, the kind of link the target's get. */
static int calib_attach(struct tracer *t, const void *addr, struct tlink *l)
{
	struct bpf_program *prog = t->skel->progs.calib;
	uint64_t off;

	*l = (struct tlink){ .fd = -1 };
	if (self_offset(addr, &off))
		return -1;
	if (t->feat.has[KF_UPROBE_MULTI])
		l->fd = uprobe_multi__link(bpf_program__fd(prog), "/proc/self/exe", &off, NULL, 1,
					   getpid());
	else
		l->link = bpf_program__attach_uprobe_opts(prog, getpid(), "/proc/self/exe", off,
							  NULL);
	return l->fd >= 0 || l->link ? 0 : -1;
}

/*
 * CPU time, as the target is charged for its hits: on a busy machine the
 * calibration may wait for a CPU, and waiting costs the target nothing.
 */
static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static double batch_ns(void (*fn)(int), int n)
{
	uint64_t t0 = thread_ns();

	for (int i = 0; i < n; i++)
		fn(i);
	return (double)(thread_ns() - t0) / n;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * What a hit at addr (in probed) adds to a call: batches with and without
 * the probe side by side, the median of their differences, so that the
 * machine's noise falls on both alike.
 */
static double trap_ns(struct tracer *t, const void *addr, void (*probed)(int), int n)
{
	double d[CALIB_ROUNDS];
	struct tlink l;

	if (calib_attach(t, addr, &l))
		return -1;
	for (int r = 0; r < CALIB_ROUNDS; r++)
		d[r] = batch_ns(probed, n) - batch_ns(gmw_calib_plain, n);
	link_release(&l);
	qsort(d, CALIB_ROUNDS, sizeof(d[0]), by_value);
	return d[CALIB_ROUNDS / 2];
}

int tracer__calibrate(struct tracer *t, struct trap_cost *c)
{
	double jcc = trap_ns(t, gmw_calib_jcc_at, gmw_calib_jcc, 2000);
	double step = trap_ns(t, gmw_calib_step_at, gmw_calib_step, 400);
	struct bpf_prog_info info;
	double prog = 0;

	if (jcc <= 0 || step <= 0)
		return -1;
	/* the calibration's own program's run time is counted apart, as the target's are */
	if (!prog_stats(t->skel->progs.calib, &info) && info.run_cnt)
		prog = (double)info.run_time_ns / info.run_cnt;
	c->emulated_ns = jcc - prog;
	c->stepped_ns = step - prog;
	c->calibrated = true;
	return 0;
}
#else
int tracer__calibrate(struct tracer *t, struct trap_cost *c)
{
	return -1;
}
#endif

void tracer__destroy(struct tracer *t)
{
	if (!t)
		return;
	tracer__detach(t);
	if (t->stats_fd >= 0)
		close(t->stats_fd);
	ring_buffer__free(t->rb);
	gomapwatch_bpf__destroy(t->skel);
	free(t);
}
