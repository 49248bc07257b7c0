/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel offers gomapwatch, found by asking it (BPF
 * feature probes as root, the kernel's own BTF otherwise), never by its
 * version string.
 */
#ifndef GOMAPWATCH_KFEAT_H
#define GOMAPWATCH_KFEAT_H

#include <stdbool.h>
#include <stddef.h>

enum kfeat_id {
	KF_BTF,			/* /sys/kernel/btf/vmlinux: CO-RE */
	KF_UPROBE_PMU,		/* perf's uprobe event source */
	KF_RINGBUF,		/* BPF ring buffer */
	KF_COOKIE,		/* bpf_get_attach_cookie */
	KF_UPROBE_MULTI,	/* uprobe_multi links */
	KF__MAX,
};

struct kfeat {
	char release[65];	/* uname -r */
	bool has[KF__MAX];
	bool probed;		/* asked the BPF syscall; else read from BTF */
	bool off[KF__MAX];	/* turned off by GOMAPWATCH_DISABLE_FEATURES */
	bool multi_per_thread;	/* uprobe_multi links whose pid filter is one thread */
};

/* Fill f. as_root: try the BPF syscall itself. */
void kfeat__probe(struct kfeat *f, bool as_root);
/*
 * 0 when gomapwatch can run here; else -1 and one line naming the missing
 * feature and the kernel that brought it.
 */
int kfeat__check(const struct kfeat *f, char *err, size_t errlen);
/* A table of every feature, for inspect. */
void kfeat__print(const struct kfeat *f, bool json);

#endif
