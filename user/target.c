// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "caps.h"
#include "target.h"

int target__resolve(const char *cmd, char *path, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("PATH");
	char *dirs, *dir, *save = NULL, cand[4096];

	if (strchr(cmd, '/')) {
		if (!realpath(cmd, path) || access(path, X_OK)) {
			snprintf(err, errlen, "%s: %s", cmd, strerror(errno));
			return -1;
		}
		return 0;
	}
	dirs = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(cand, sizeof(cand), "%s/%s", *dir ? dir : ".", cmd);
		if (!access(cand, X_OK) && realpath(cand, path)) {
			free(dirs);
			return 0;
		}
	}
	free(dirs);
	snprintf(err, errlen, "%s: command not found", cmd);
	(void)len;
	return -1;
}

int target__from_pid(struct target *t, const char *arg, char *err, size_t errlen)
{
	char *end, proc[64];
	long pid;
	int fd;

	memset(t, 0, sizeof(*t));
	t->go_fd = t->err_fd = -1;
	errno = 0;
	pid = strtol(arg, &end, 10);
	if (errno || end == arg || *end || pid <= 0 || pid > 0x3fffffff) {
		snprintf(err, errlen, "invalid PID: %s", arg);
		return -1;
	}
	snprintf(proc, sizeof(proc), "/proc/%ld", pid);
	if (access(proc, F_OK)) {
		snprintf(err, errlen, "no such process: %ld", pid);
		return -1;
	}
	t->pid = pid;
	/* through /proc/PID/exe: works across mount namespaces and for deleted files */
	snprintf(t->path, sizeof(t->path), "/proc/%ld/exe", pid);
	/* open, not access(): access() drops a non-root caller's capabilities */
	fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	if (fd < 0) {
		int e = errno;

		/* another user's process: /proc/PID/exe is behind a ptrace check */
		snprintf(err, errlen, "process %ld: cannot open its executable: %s%s", pid,
			 strerror(e), e == EACCES && !caps__has(CAP_SYS_PTRACE) ?
			 " (missing capability: CAP_SYS_PTRACE)" : "");
		return -1;
	}
	return 0;
}

/*
 * The file behind path as the kernel opens it, held open: realpath would
 * read /proc/PID/root/usr/bin/server's link as "/" and land on the host's
 * /usr/bin/server, while open() follows it into the container's root.
 * The uprobes attach, and the binary is read, through /proc/self/fd/N,
 * which names that inode whatever is mounted at path later.
 */
int target__from_binary(struct target *t, const char *path, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->go_fd = t->err_fd = -1;
	t->pid = -1;
	t->bin_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->bin_fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(t->name, sizeof(t->name), "%s", path);
	snprintf(t->path, sizeof(t->path), "/proc/self/fd/%d", t->bin_fd);
	return 0;
}

const char *target__name(const struct target *t)
{
	return t->name[0] ? t->name : t->path;
}

void target__say_name(const struct target *t, char *msg, size_t len)
{
	size_t n = strlen(t->path);
	char *rest;

	if (!t->name[0] || strncmp(msg, t->path, n))
		return;
	rest = strdup(msg + n);
	if (rest)
		snprintf(msg, len, "%s%s", t->name, rest);
	free(rest);
}

static void child_run(int go_rd, int err_wr, char **argv, const char *path)
{
	char c;
	int e;

	/* Blocks until the probes are attached (or the parent gave up). */
	if (read(go_rd, &c, 1) != 1)
		_exit(127);
	close(go_rd);
	/* gomapwatch ignores SIGPIPE (to detach first); the command must not inherit that */
	signal(SIGPIPE, SIG_DFL);
	execv(path, argv);
	e = errno;
	if (write(err_wr, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int target__spawn(struct target *t, char **argv, char *err, size_t errlen)
{
	int go[2], ep[2];
	pid_t pid;

	memset(t, 0, sizeof(*t));
	if (target__resolve(argv[0], t->path, sizeof(t->path), err, errlen))
		return -1;
	if (pipe2(go, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(go[1]);
		close(ep[0]);
		child_run(go[0], ep[1], argv, t->path);
	}
	close(go[0]);
	close(ep[1]);
	t->pid = pid;
	t->child = true;
	t->go_fd = go[1];
	t->err_fd = ep[0];
	return 0;
}

int target__release(struct target *t, char *err, size_t errlen)
{
	int e = 0;
	ssize_t n;

	if (write(t->go_fd, "g", 1) != 1) {
		snprintf(err, errlen, "cannot start the command: %s", strerror(errno));
		return -1;
	}
	close(t->go_fd);
	t->go_fd = -1;
	/* EOF (exec closed the CLOEXEC pipe) means exec succeeded. */
	n = read(t->err_fd, &e, sizeof(e));
	close(t->err_fd);
	t->err_fd = -1;
	if (n == sizeof(e)) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(e));
		waitpid(t->pid, &t->status, 0);
		t->exited = true;
		return -1;
	}
	return 0;
}

/*
 * Dead but not reaped: its parent (not us) has yet to wait for it. A
 * zombie leader with other threads counted is no dead process: an exec
 * from another thread passes through that, before taking the leader's PID.
 */
static bool zombie(pid_t pid)
{
	char path[64], buf[2048], *st, *th;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	st = strstr(buf, "\nState:\t");
	th = strstr(buf, "\nThreads:\t");
	return st && th && (st[8] == 'Z' || st[8] == 'X') && atoi(th + 10) <= 1;
}

bool target__gone(struct target *t)
{
	if (t->exited)
		return true;
	if (t->pid <= 0)
		return false;	/* -b: every process of a binary, now and later */
	if (t->child) {
		if (waitpid(t->pid, &t->status, WNOHANG) == t->pid)
			t->exited = true;
	} else if ((kill(t->pid, 0) && errno == ESRCH) || zombie(t->pid)) {
		t->exited = true;
	}
	return t->exited;
}

/*
 * An open /proc/PID/mem holds the address space it was opened on. Exec
 * replaces the address space (the PID stays): the one held is then gone,
 * and reading it returns nothing, where a live one fails with EIO at
 * address 0. Cheap enough for every poll, and it sees an exec of the
 * same binary, which the exe's inode does not.
 */
void target__watch_image(struct target *t)
{
	char path[64];

	if (t->pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/mem", t->pid);
	t->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	t->has_mem = t->mem_fd >= 0;
}

bool target__execd(struct target *t, char *exe, size_t len)
{
	char path[64], c;
	ssize_t n;

	if (!t->has_mem || t->exited || pread(t->mem_fd, &c, 1, 0) != 0)
		return false;
	/* the address space also goes when the process exits */
	if (target__gone(t))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	n = readlink(path, exe, len - 1);
	if (n < 0)
		return false;	/* exiting: no exe any more */
	exe[n] = 0;
	return true;
}

void target__close(struct target *t)
{
	if (t->has_mem)
		close(t->mem_fd);
	t->has_mem = false;
}

uint64_t target__load_bias(pid_t pid, const struct gobin *b, uint64_t vaddr)
{
	unsigned long start, end, off, ino;
	char maps[64], line[4608];
	uint64_t foff, bias = 0;
	struct stat st;
	FILE *f;

	if (!b->pie || stat(b->path, &st) || gobin__file_offset(b, vaddr, &foff))
		return 0;
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "r");
	if (!f)
		return 0;
	/* the mapping of the binary that holds vaddr's file offset */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %*s %lx %*s %lu", &start, &end, &off, &ino) != 4)
			continue;
		if (ino == st.st_ino && foff >= off && foff < off + (end - start)) {
			bias = start + (foff - off) - vaddr;
			break;
		}
	}
	fclose(f);
	return bias;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * /proc/PID/stat's start time counts clock ticks of CLOCK_BOOTTIME,
 * the kernel's records CLOCK_MONOTONIC: the two differ by the time
 * suspended. Rounded down to a tick, so never later than the real start.
 */
int target__start_mono(pid_t pid, uint64_t *ns)
{
	unsigned long long ticks;
	char path[64], buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t boot, off;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* field 22, counted after the command's closing parenthesis */
	p = strrchr(buf, ')');
	if (!p || hz <= 0 || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
				   "%*d %*d %*d %*d %*d %*d %llu", &ticks) != 1)
		return -1;
	boot = ticks * (1000000000ULL / hz);
	off = clock_ns(CLOCK_BOOTTIME);
	/* read second, the monotonic clock can be ahead by the time between */
	off = off > clock_ns(CLOCK_MONOTONIC) ? off - clock_ns(CLOCK_MONOTONIC) : 0;
	*ns = boot > off ? boot - off : 0;
	return 0;
}

void target__describe(const struct target *t, char *buf, size_t len)
{
	if (t->pid <= 0)
		snprintf(buf, len, "every process running %s", target__name(t));
	else if (!t->exited)
		snprintf(buf, len, "still running (pid %d)", t->pid);
	else if (!t->child)
		snprintf(buf, len, "process %d exited", t->pid);
	else if (WIFEXITED(t->status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(t->status));
	else if (WIFSIGNALED(t->status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(t->status),
			 strsignal(WTERMSIG(t->status)));
	else
		snprintf(buf, len, "ended (status %#x)", t->status);
}

int target__exit_code(const struct target *t)
{
	if (!t->child || !t->exited)
		return 0;
	if (WIFEXITED(t->status))
		return WEXITSTATUS(t->status);
	if (WIFSIGNALED(t->status))
		return 128 + WTERMSIG(t->status);
	return 1;
}

struct proc_cpu {
	pid_t pid;
	uint64_t ns;
};

/* Every thread's, the ones that ended included: the process's CPU clock. */
static int proc_cpu_ns(pid_t pid, uint64_t *ns)
{
	struct timespec ts;
	clockid_t clk;

	if (clock_getcpuclockid(pid, &clk) || clock_gettime(clk, &ts))
		return -1;
	*ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	return 0;
}

static bool runs(pid_t pid, const struct stat *bin)
{
	char exe[64];
	struct stat st;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	return !stat(exe, &st) && st.st_dev == bin->st_dev && st.st_ino == bin->st_ino;
}

static uint64_t last_seen(const struct cpu_meter *m, pid_t pid)
{
	for (int i = 0; i < m->n; i++)
		if (m->seen[i].pid == pid)
			return m->seen[i].ns;
	return 0;
}

/*
 * -b: what each process of the binary used since the last look (all of
 * it, for one not seen before). A process that ended between two looks
 * takes its last part along: the target's time is undercounted, so the
 * probes' share errs high.
 */
static int binary_cpu(const struct target *t, struct cpu_meter *m)
{
	struct proc_cpu *now = NULL, *grown;
	struct dirent *d;
	struct stat bin;
	int n = 0, cap = 0;
	uint64_t ns, was;
	DIR *dir;

	if (stat(t->path, &bin) || !(dir = opendir("/proc")))
		return -1;
	while ((d = readdir(dir))) {
		pid_t pid = atoi(d->d_name);

		if (!isdigit((unsigned char)d->d_name[0]) || !runs(pid, &bin) || proc_cpu_ns(pid, &ns))
			continue;
		if (n == cap) {
			grown = realloc(now, (cap = cap * 2 + 16) * sizeof(*now));
			if (!grown)
				break;
			now = grown;
		}
		was = last_seen(m, pid);
		m->total_ns += ns >= was ? ns - was : ns;
		now[n++] = (struct proc_cpu){ pid, ns };
	}
	closedir(dir);
	free(m->seen);
	m->seen = now;
	m->n = n;
	return 0;
}

int target__cpu(const struct target *t, struct cpu_meter *m, double *s)
{
	/* its PID may be another process's by now */
	if (t->exited)
		return -1;
	if (t->pid > 0 ? proc_cpu_ns(t->pid, &m->total_ns) : binary_cpu(t, m))
		return -1;
	*s = m->total_ns / 1e9;
	return 0;
}

void cpu_meter__free(struct cpu_meter *m)
{
	free(m->seen);
	m->seen = NULL;
	m->n = 0;
}
