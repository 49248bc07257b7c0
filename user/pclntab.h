/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Go's pclntab (runtime.pcHeader and the tables after it): function entry
 * points, names and PC -> file:line, for Go 1.16 and later. Works on a byte
 * range already in memory; finding that range in an ELF file is gobin's job.
 * Every read is checked against the range, so a corrupt table gives errors,
 * not crashes.
 */
#ifndef GOMAPWATCH_PCLNTAB_H
#define GOMAPWATCH_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gobin.h"

#define PCLNTAB_MAGIC_116	0xfffffffaU	/* Go 1.16, 1.17 */
#define PCLNTAB_MAGIC_118	0xfffffff0U	/* Go 1.18, 1.19 */
#define PCLNTAB_MAGIC_120	0xfffffff1U	/* Go 1.20 and later */

/* Offsets in runtime.moduledata, the same from Go 1.17 to 1.27. */
#define MODULEDATA_PCHEADER	0
#define MODULEDATA_FUNCNAMETAB	8
#define MODULEDATA_MINPC	160
#define MODULEDATA_MAXPC	168
#define MODULEDATA_TEXT		176
/*
 * gofunc (go.func.*, go:func.* from 1.20), the base of funcdata offsets since
 * Go 1.18; each is preceded by rodata. 1.20 added covctrs before it, 1.27
 * typedesclen, itaboffset and itabsize (DWARF of every release's builds).
 */
#define MODULEDATA_GOFUNC_118	304	/* Go 1.18, 1.19 */
#define MODULEDATA_GOFUNC_120	320	/* Go 1.20 to 1.26 */
#define MODULEDATA_GOFUNC_127	344	/* Go 1.27 */
#define MODULEDATA_SIZE		352	/* enough to read the fields above */

/* runtime/symtab.go, internal/abi/symtab.go: the same in Go 1.16 to 1.27 */
#define PCDATA_INLTREEINDEX	2
#define FUNCDATA_INLTREE	3

/*
 * data/size: the table's bytes (size may overshoot the real end); vaddr: its
 * link-time address. Returns NULL with a reason in err.
 */
struct pclntab *pclntab__open(const uint8_t *data, size_t size, uint64_t vaddr,
			      char *err, size_t errlen);
void pclntab__close(struct pclntab *p);

uint32_t pclntab__magic(const struct pclntab *p);
uint64_t pclntab__vaddr(const struct pclntab *p);
size_t pclntab__size(const struct pclntab *p);
/* Entries are offsets from runtime.text since Go 1.18; absolute before. */
bool pclntab__needs_text(const struct pclntab *p);
/* The header's textStart: Go 1.18 to 1.25 only, 0 otherwise. */
uint64_t pclntab__header_text(const struct pclntab *p);
/* Sets the base of entry offsets (ignored before Go 1.18). */
void pclntab__set_text(struct pclntab *p, uint64_t text);
uint64_t pclntab__text(const struct pclntab *p);
/*
 * Validates a candidate runtime.moduledata (MODULEDATA_SIZE bytes) against
 * this table; on success stores its text field. 0 or -1.
 */
int pclntab__moduledata_text(const struct pclntab *p, const uint8_t *md,
			     uint64_t *text);

size_t pclntab__nfunc(const struct pclntab *p);
/* Function i in PC order; end is the next function's entry. 0 or -1. */
int pclntab__func(const struct pclntab *p, size_t i, struct gofunc *f);
/* Index of the function containing pc, or of the one named name. 0 or -1. */
int pclntab__find_pc(const struct pclntab *p, uint64_t pc, size_t *i);
int pclntab__find_name(const struct pclntab *p, const char *name, size_t *i);
/*
 * file:line at pc inside function i. For inlined code these are the inlined
 * callee's, as in runtime.FuncForPC. Sets *file NULL and *line 0 when unknown.
 */
void pclntab__line(const struct pclntab *p, size_t i, uint64_t pc,
		   const char **file, int *line);
/*
 * pc's frames, innermost first, inlined calls expanded: see gobin__frames.
 * Without the inline tree (no funcdata base set, or none recorded for the
 * function) only the function's own frame.
 */
int pclntab__frames(const struct pclntab *p, uint64_t pc, struct pcframe *out,
		    int max);
/* funcID of function i (abi.FuncID), or -1. */
int pclntab__funcid(const struct pclntab *p, size_t i);

/*
 * Where funcdata lives, outside the table: gofunc is the base of its offsets
 * (Go 1.18 and later; ignored before, where funcdata are addresses), mem
 * returns len bytes at a link-time address or NULL.
 */
typedef const uint8_t *(*pclntab_mem_fn)(const void *ctx, uint64_t vaddr,
					 size_t len);
void pclntab__set_funcdata(struct pclntab *p, uint64_t gofunc,
			   pclntab_mem_fn mem, const void *ctx);
uint64_t pclntab__gofunc(const struct pclntab *p);
/* abi.FuncIDWrapper of the binary's release; 0 (FuncIDNormal) if unknown */
void pclntab__set_wrapper_funcid(struct pclntab *p, uint8_t id);

/* Everything at once: the function name, or NULL if pc is in no function. */
const char *pclntab__lookup(const struct pclntab *p, uint64_t pc,
			    const char **file, int *line, uint64_t *entry);

#endif
