/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A Go ELF binary, read without running it: build info (Go version), function
 * bounds (symbol table, or .gopclntab when stripped) and PC -> function
 * file:line from .gopclntab.
 */
#ifndef GOMAPWATCH_GOBIN_H
#define GOMAPWATCH_GOBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct go_version {
	int major, minor, patch;	/* go1.24.4 -> 1, 24, 4 */
	bool noswiss;			/* " X:noswissmap" in the version string */
	char raw[64];			/* the string as stored, e.g. "go1.24.4 X:noswissmap" */
};

struct pclntab;

struct gobin {
	int fd;
	void *elf;			/* Elf * (libelf) */
	char path[4096];
	uint16_t machine;		/* EM_X86_64 or EM_AARCH64 */
	bool pie;			/* ET_DYN: add the load bias at run time */
	bool has_symtab;
	bool has_version;
	struct go_version ver;
	uint64_t text_start;		/* base of pclntab entry offsets */
	struct pclntab *pcln;
	void *priv;			/* module-private state (symbols, segments) */
};

struct gofunc {
	const char *name;
	uint64_t start, end;		/* link-time virtual addresses, [start, end) */
};

struct pcframe {
	const char *func;	/* function name; never NULL ("?" if unknown) */
	const char *file;	/* NULL if unknown */
	int line;		/* 0 if unknown */
	bool inlined;		/* inlined into the next frame of the same pc */
	bool wrapper;		/* a compiler-generated wrapper (funcID wrapper) */
};

/* Returns 0, or -1 with a one-line reason in err ("not an ELF file", ...). */
int gobin__open(struct gobin *b, const char *path, char *err, size_t errlen);
/*
 * The same on an image already in memory (name stands in for the path in
 * messages). Nothing is copied that gobin hands out: data must stay valid,
 * and is read again by later calls, until gobin__close.
 */
int gobin__open_mem(struct gobin *b, const void *data, size_t size,
		    const char *name, char *err, size_t errlen);
void gobin__close(struct gobin *b);

/* Parse "go1.24.4 X:noswissmap", "go1.21", "devel go1.23-abc ..." */
int go_version__parse(struct go_version *v, const char *s);
/* <0, 0, >0 like strcmp, comparing major.minor.patch */
int go_version__cmp(const struct go_version *v, int major, int minor, int patch);
/* swiss maps: 1.24+ unless built with GOEXPERIMENT=noswissmap */
bool go_version__swiss(const struct go_version *v);

/* Which map layout the binary uses: its version, else whether swiss-only code is linked. */
bool gobin__swiss(const struct gobin *b);
/* "x86-64" or "arm64": the name users know an ELF machine by */
const char *gobin__arch_name(uint16_t machine);
/* Go 1.26 on: a type's kind byte is the kind alone (before, flags shared it). */
bool gobin__kind_whole(const struct gobin *b);

/* Read len bytes at a link-time virtual address from the file. 0 or -1. */
int gobin__read(const struct gobin *b, uint64_t vaddr, void *buf, size_t len);
/* Link-time virtual address -> file offset (what uprobes attach to). */
int gobin__file_offset(const struct gobin *b, uint64_t vaddr, uint64_t *off);
/* Pointer to len bytes of file contents at vaddr, or NULL. */
const uint8_t *gobin__bytes(const struct gobin *b, uint64_t vaddr, size_t len);

/* Function bounds by exact name; 0 or -1 if absent. */
int gobin__func(const struct gobin *b, const char *name, struct gofunc *f);
/* Calls cb for every function (pclntab order); stops when cb returns non-zero. */
int gobin__foreach_func(const struct gobin *b,
			int (*cb)(const struct gofunc *f, void *ctx), void *ctx);

/*
 * PC (link-time address) -> function name, file, line. Returns the function
 * name or NULL. file/line may be NULL. A return address should be looked up
 * as pc - 1 by the caller so the line is the call's.
 */
const char *gobin__lookup(const struct gobin *b, uint64_t pc,
			  const char **file, int *line, uint64_t *entry);

/*
 * pc's frames, innermost first, as the runtime's traceback prints them:
 * inlined calls expanded from the inline tree. pc is a lookup PC (a
 * return address minus 1, as for gobin__lookup). Writes at most max
 * frames, returns how many were written; 0 if pc is in no function.
 *
 * Names are the table's: generic instances keep their shape arguments
 * ("main.f[go.shape.int]"), which Go 1.21's traceback prints as "[...]".
 * The runtime leaves out wrapper frames unless the frame inside them (the
 * previous one) is runtime.gopanic, sigpanic or panicwrap: the caller
 * elides by the wrapper flag. Without the inline tree (funcdata not found)
 * only the function's own frame; in C code of a cgo binary the symbol's.
 */
int gobin__frames(const struct gobin *b, uint64_t pc, struct pcframe *out,
		  int max);
/*
 * A function name as the runtime prints it from Go 1.21 (tracebacks and
 * CallersFrames): shape arguments of generic functions, and of a generic
 * type's methods, become "[...]". Truncated to len like snprintf.
 */
void gobin__print_name(const char *name, char *out, size_t len);


#endif
