/* SPDX-License-Identifier: GPL-2.0 */
/* The traced process: find it, or start it stopped before its first instruction. */
#ifndef GOMAPWATCH_TARGET_H
#define GOMAPWATCH_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "gobin.h"

struct target {
	pid_t pid;		/* -1: every process running path (-b) */
	bool child;		/* started by us: we report its exit status */
	int go_fd;		/* write end: closing it lets the child exec */
	int err_fd;		/* read end: errno from a failed exec */
	char path[4096];	/* what the uprobes attach to */
	char name[4096];	/* -b: the path as given, for the user */
	int bin_fd;		/* -b: the binary, held open (path names it) */
	int status;		/* waitpid status once exited */
	bool exited;
	bool has_mem;		/* mem_fd is open (target__watch_image) */
	int mem_fd;		/* /proc/PID/mem: pins the image that was planned for */
};

/* Resolve a command like execvp would. 0 or -1 with a reason. */
int target__resolve(const char *cmd, char *path, size_t len, char *err, size_t errlen);
int target__from_pid(struct target *t, const char *arg, char *err, size_t errlen);
/* -b: every process running the binary at path, now and later (pid -1). */
int target__from_binary(struct target *t, const char *path, char *err, size_t errlen);
/* The binary as the user named it. */
const char *target__name(const struct target *t);
/* A message about path (/proc/self/fd/N) made to name the binary as given. */
void target__say_name(const struct target *t, char *msg, size_t len);
/* Fork a child that waits for target__release before exec'ing argv. */
int target__spawn(struct target *t, char **argv, char *err, size_t errlen);
/* Let the child exec; 0, or -1 if exec failed (reason in err). */
int target__release(struct target *t, char *err, size_t errlen);
/* Non-blocking: true once the process is gone (or a zombie). */
bool target__gone(struct target *t);
/* Remember the process's current image, to tell later whether it exec'd. */
void target__watch_image(struct target *t);
/*
 * Non-blocking: true once the process remembered runs another image (it
 * exec'd, another binary or the same one); exe then names the new one.
 */
bool target__execd(struct target *t, char *exe, size_t len);
void target__close(struct target *t);
/* Load bias of a PIE binary in process pid, from where the code at vaddr is mapped (0 if not yet). */
uint64_t target__load_bias(pid_t pid, const struct gobin *b, uint64_t vaddr);
/*
 * The CPU time of the traced processes, added up as they come and go:
 * with -b every process running the binary, those seen at each look.
 */
struct cpu_meter {
	struct proc_cpu *seen;
	int n;
	uint64_t total_ns;
};

/* Seconds of CPU time (user and system) so far; 0, or -1 once it is gone. */
int target__cpu(const struct target *t, struct cpu_meter *m, double *s);
void cpu_meter__free(struct cpu_meter *m);
/*
 * When process pid started, on CLOCK_MONOTONIC (the kernel's event
 * times): a record older than that is a previous process's of the same
 * PID. 0, or -1 if it is gone.
 */
int target__start_mono(pid_t pid, uint64_t *ns);
/* "exited with status 2", "killed by signal 9 (Killed)" */
void target__describe(const struct target *t, char *buf, size_t len);
/* gomapwatch's own exit code for a child's status: its code, or 128 + signal */
int target__exit_code(const struct target *t);

#endif
