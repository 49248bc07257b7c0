// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include "uprobe_multi.h"

/* BPF_LINK_CREATE's attributes for a uprobe_multi link (include/uapi/linux/bpf.h). */
struct umulti_attr {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t umulti_flags;
	uint32_t pid;
};

int uprobe_multi__link(int prog_fd, const char *path, const uint64_t *offsets,
		       const uint64_t *cookies, uint32_t cnt, int pid)
{
	union {
		union bpf_attr attr;
		struct umulti_attr u;
	} a;

	_Static_assert(sizeof(a.u) <= sizeof(a.attr), "bpf_attr holds uprobe_multi");
	memset(&a, 0, sizeof(a));
	a.u.prog_fd = prog_fd;
	a.u.attach_type = GMW_TRACE_UPROBE_MULTI;
	a.u.path = (uintptr_t)path;
	a.u.offsets = (uintptr_t)offsets;
	a.u.cookies = (uintptr_t)cookies;
	a.u.cnt = cnt;
	a.u.pid = pid > 0 ? pid : 0;
	return syscall(__NR_bpf, BPF_LINK_CREATE, &a.attr, sizeof(a.attr));
}
