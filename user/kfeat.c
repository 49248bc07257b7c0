// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel features, asked of the kernel. As root the BPF syscall answers
 * (libbpf's probes, and a uprobe_multi link it must refuse in a telling
 * way); without root the kernel's BTF does, since it describes the enums
 * of map types, helpers and attach types that this kernel knows.
 */
#include <errno.h>
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

const char *kfeat__name(enum kfeat_id k)
{
	return feats[k].name;
}

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

/*
 * The kernel takes a uprobe_multi link for a program made for one, then
 * fails on the path "/" with EBADF; a kernel without them refuses the
 * attach type first, with EINVAL.
 */
static bool probe_uprobe_multi(void)
{
	struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },	/* r0 = 0 */
		{ .code = 0x95 },				/* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = GMW_TRACE_UPROBE_MULTI);
	uint64_t off = 0;
	int prog, link, err;

	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, &opts);
	if (prog < 0)
		return false;
	link = uprobe_multi__link(prog, "/", &off, NULL, 1, 0);
	err = errno;
	if (link >= 0)
		close(link);
	close(prog);
	return link < 0 && err == EBADF;
}

static void probe_syscall(struct kfeat *f)
{
	f->has[KF_RINGBUF] = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	f->has[KF_COOKIE] = libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE,
						    BPF_FUNC_get_attach_cookie, NULL) == 1;
	f->has[KF_UPROBE_MULTI] = probe_uprobe_multi();
}

static void probe_btf(struct kfeat *f, const struct btf *btf)
{
	for (int k = 0; k < KF__MAX; k++)
		if (feats[k].btf_enum)
			f->has[k] = btf_enum_has(btf, feats[k].btf_enum, feats[k].btf_value);
}

/* GOMAPWATCH_DISABLE_FEATURES=attach_cookie,uprobe_multi: test the fallbacks. */
static void apply_disabled(struct kfeat *f)
{
	const char *env = getenv("GOMAPWATCH_DISABLE_FEATURES");

	for (int k = 0; env && k < KF__MAX; k++) {
		size_t n = strlen(feats[k].name);

		for (const char *p = strstr(env, feats[k].name); p; p = strstr(p + 1, feats[k].name))
			if ((p == env || p[-1] == ',') && (p[n] == ',' || !p[n])) {
				f->off[k] = f->has[k];
				f->has[k] = false;
			}
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
	apply_disabled(f);
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
		printf("\n");
	}
}
