// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel features, asked of the kernel. As root the BPF syscall answers
 * (libbpf's probes, and a uprobe_multi link it must refuse in a telling
 * way); without root the kernel's BTF does, since it describes the enums
 * of map types, helpers and attach types that this kernel knows.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kfeat.h"
#include "uprobe_multi.h"

static const struct {
	const char *name, *since, *fallback, *btf_enum, *btf_value;
} feats[KF__MAX] = {
	[KF_BTF] = { "btf", "Linux 5.4+ built with CONFIG_DEBUG_INFO_BTF", "" },
	[KF_UPROBE_PMU] = { "uprobe_pmu", "Linux 4.17+",
			    "uprobes made through tracefs (libbpf's legacy path)" },
	[KF_RINGBUF] = { "ringbuf", "Linux 5.8+", "", "bpf_map_type", "BPF_MAP_TYPE_RINGBUF" },
	[KF_COOKIE] = { "attach_cookie", "Linux 5.15+",
			"one program per kind of write probe, picked at attach",
			"bpf_func_id", "BPF_FUNC_get_attach_cookie" },
	[KF_UPROBE_MULTI] = { "uprobe_multi", "Linux 6.6+",
			      "one perf-event link per probe point",
			      "bpf_attach_type", "BPF_TRACE_UPROBE_MULTI" },
};

static bool btf_enum_has(const struct btf *btf, const char *type, const char *value)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM);
	const struct btf_type *t;
	const struct btf_enum *e;

	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, e[i].name_off), value))
			return true;
	return false;
}

/* A function of our own for the uprobe_multi check to probe. */
__attribute__((noinline)) void kfeat__tick(void)
{
	__asm__ volatile("" ::: "memory");
}

static void *tick_thread(void *arg)
{
	kfeat__tick();
	return NULL;
}

/* Where our own code at addr sits in our own file. */
static int self_file_offset(uintptr_t addr, uint64_t *off)
{
	unsigned long lo, hi, pgoff;
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int ret = -1;

	while (f && ret && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &pgoff) == 3 && addr >= lo &&
		    addr < hi) {
			*off = addr - lo + pgoff;
			ret = 0;
		}
	if (f)
		fclose(f);
	return ret;
}

/* r1 = &one_map[0]; if (r1) *r1 = 1; return 0 */
static int hit_recorder(int map_fd)
{
	struct bpf_insn insns[] = {
		{ .code = 0x62, .dst_reg = 10, .off = -4, .imm = 0 },	/* *(u32 *)(fp - 4) = 0 */
		{ .code = 0xbf, .dst_reg = 2, .src_reg = 10 },		/* r2 = fp */
		{ .code = 0x07, .dst_reg = 2, .imm = -4 },		/* r2 += -4 */
		{ .code = 0x18, .dst_reg = 1, .src_reg = 1, .imm = map_fd }, /* r1 = map */
		{ 0 },
		{ .code = 0x85, .imm = BPF_FUNC_map_lookup_elem },
		{ .code = 0x15, .dst_reg = 0, .off = 1, .imm = 0 },	/* if r0 == 0 skip */
		{ .code = 0x7a, .dst_reg = 0, .off = 0, .imm = 1 },	/* *(u64 *)r0 = 1 */
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },		/* r0 = 0 */
		{ .code = 0x95 },					/* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = GMW_TRACE_UPROBE_MULTI);

	return bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), &opts);
}

static void close_all(const int fds[3])
{
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void *close_fds(void *arg)
{
	close_all(arg);
	free(arg);
	return NULL;
}

/*
 * Releasing the link waits for the kernel's grace periods (a tenth of a
 * second on 6.13+): done on the side, not on the way to attaching.
 */
static void close_later(int map, int prog, int link)
{
	int *fds = malloc(3 * sizeof(*fds));
	pthread_t th;

	if (!fds) {
		close_all((const int[3]){ link, prog, map });
		return;
	}
	fds[0] = link;
	fds[1] = prog;
	fds[2] = map;
	if (pthread_create(&th, NULL, close_fds, fds))
		close_fds(fds);
	else
		pthread_detach(th);
}

/*
 * A uprobe_multi link on one of our own functions, for our own process,
 * hit from a second thread. The first kernels with these links (6.6 to
 * 6.10, before the fix) ran the program for the one thread the process ID
 * names, not its process: a link that misses this hit would miss a target's
 * other threads, so perf-event links are used instead.
 */
static void probe_uprobe_multi(struct kfeat *f)
{
	int map = -1, prog = -1, link = -1;
	uint64_t off, hit = 0;
	uint32_t key = 0;
	pthread_t th;

	map = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, sizeof(key), sizeof(hit), 1, NULL);
	if (map >= 0)
		prog = hit_recorder(map);
	if (prog >= 0 && !self_file_offset((uintptr_t)kfeat__tick, &off))
		link = uprobe_multi__link(prog, "/proc/self/exe", &off, NULL, 1, getpid());
	if (link >= 0 && !pthread_create(&th, NULL, tick_thread, NULL)) {
		pthread_join(th, NULL);
		bpf_map_lookup_elem(map, &key, &hit);
		f->has[KF_UPROBE_MULTI] = hit == 1;
		f->multi_per_thread = hit != 1;
	}
	close_later(map, prog, link);
}

static void probe_syscall(struct kfeat *f)
{
	f->has[KF_RINGBUF] = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	f->has[KF_COOKIE] = libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE,
						    BPF_FUNC_get_attach_cookie, NULL) == 1;
	probe_uprobe_multi(f);
}

static void probe_btf(struct kfeat *f, const struct btf *btf)
{
	for (int k = 0; k < KF__MAX; k++)
		if (feats[k].btf_enum)
			f->has[k] = btf_enum_has(btf, feats[k].btf_enum, feats[k].btf_value);
}

static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list ? strstr(list, name) : NULL; p; p = strstr(p + 1, name))
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/*
 * For tests: GOMAPWATCH_DISABLE_FEATURES=attach_cookie,uprobe_multi takes
 * the fallbacks of an older kernel; GOMAPWATCH_FORCE_FEATURES uses a
 * feature the kernel lacks, to see how a refusal is reported.
 */
static void apply_overrides(struct kfeat *f)
{
	const char *off = getenv("GOMAPWATCH_DISABLE_FEATURES");
	const char *on = getenv("GOMAPWATCH_FORCE_FEATURES");

	for (int k = 0; k < KF__MAX; k++) {
		if (listed(off, feats[k].name)) {
			f->off[k] = f->has[k];
			f->has[k] = false;
		}
		if (listed(on, feats[k].name))
			f->has[k] = true;
	}
}

/*
 * As root the syscall answers, and the BTF is left to libbpf's load:
 * parsing the kernel's BTF costs tens of milliseconds, paid once.
 */
void kfeat__probe(struct kfeat *f, bool as_root)
{
	struct utsname u;
	struct btf *btf;

	memset(f, 0, sizeof(*f));
	if (!uname(&u))
		snprintf(f->release, sizeof(f->release), "%s", u.release);
	f->has[KF_BTF] = !access("/sys/kernel/btf/vmlinux", R_OK);
	f->has[KF_UPROBE_PMU] = !access("/sys/bus/event_source/devices/uprobe/type", R_OK);
	if (as_root) {
		probe_syscall(f);
		f->probed = true;
	} else if (f->has[KF_BTF] && (btf = btf__load_vmlinux_btf())) {
		probe_btf(f, btf);
		btf__free(btf);
	}
	apply_overrides(f);
}

int kfeat__check(const struct kfeat *f, char *err, size_t errlen)
{
	static const enum kfeat_id need[] = { KF_BTF, KF_RINGBUF };

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		enum kfeat_id k = need[i];

		if (f->has[k])
			continue;
		snprintf(err, errlen, "this kernel (%s) has no %s: gomapwatch needs %s%s", f->release,
			 k == KF_BTF ? "BTF at /sys/kernel/btf/vmlinux" : "BPF ring buffer",
			 k == KF_BTF ? "a kernel built with CONFIG_DEBUG_INFO_BTF (Linux 5.4+)"
				     : "Linux 5.8 or later",
			 f->off[k] ? " (turned off by GOMAPWATCH_DISABLE_FEATURES)" : "");
		return -1;
	}
	return 0;
}

void kfeat__print(const struct kfeat *f, bool json)
{
	if (json) {
		printf("{\"kernel\":\"%s\",\"probed\":%s,\"features\":{", f->release,
		       f->probed ? "true" : "false");
		for (int k = 0; k < KF__MAX; k++)
			printf("%s\"%s\":%s", k ? "," : "", feats[k].name,
			       f->has[k] ? "true" : "false");
		printf("}}\n");
		return;
	}
	printf("kernel %s (features %s)\n", f->release,
	       f->probed ? "probed through the BPF syscall" : "read from the kernel's BTF");
	for (int k = 0; k < KF__MAX; k++) {
		printf("  %-14s %-4s %s", feats[k].name, f->has[k] ? "yes" : "no", feats[k].since);
		if (!f->has[k])
			printf("; without it: %s",
			       *feats[k].fallback ? feats[k].fallback : "gomapwatch cannot run");
		if (f->off[k])
			printf(" (turned off by GOMAPWATCH_DISABLE_FEATURES)");
		if (k == KF_UPROBE_MULTI && f->multi_per_thread)
			printf(" (this kernel's links filter by thread, not process: fixed in 6.11)");
		printf("\n");
	}
}
