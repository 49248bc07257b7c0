// SPDX-License-Identifier: GPL-2.0
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "caps.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON	38
#endif
#ifndef CAP_BPF
#define CAP_BPF		39
#endif

/* capget directly: libcap is not among the dependencies, the static build included. */
static int effective(uint64_t *set)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d))
		return -1;
	*set = d[0].effective | (uint64_t)d[1].effective << 32;
	return 0;
}

bool caps__has(int cap)
{
	uint64_t set;

	return !effective(&set) && (set >> cap & 1);
}

static void add_name(char *msg, size_t len, const char *name)
{
	size_t n = strlen(msg);

	snprintf(msg + n, len - n, "%s%s", n ? ", " : "", name);
}

int caps__check(bool stats, char *msg, size_t len)
{
	bool admin = caps__has(CAP_SYS_ADMIN);
	char names[128] = "";

	if (!admin && !caps__has(CAP_BPF))
		add_name(names, sizeof(names), "CAP_BPF");
	if (!admin && !caps__has(CAP_PERFMON))
		add_name(names, sizeof(names), "CAP_PERFMON");
	if (*names) {
		snprintf(msg, len, "missing capabilities: %s (or CAP_SYS_ADMIN): BPF programs "
			 "and uprobes need them; run as root or grant them", names);
		return -1;
	}
	/* the kernel times BPF programs only for CAP_SYS_ADMIN */
	if (stats && !admin) {
		snprintf(msg, len, "missing capability: CAP_SYS_ADMIN: --max-overhead times the "
			 "probes (BPF_ENABLE_STATS); grant it, or trace in full with --max-overhead off");
		return -1;
	}
	return 0;
}
