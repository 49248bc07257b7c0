/*
 * nomaps: looks like a Go binary (a Go 1.25 build info blob, a valid empty
 * pclntab) but has no runtime map functions to probe.
 *
 * It is C because no Go program can be that: the Go linker always keeps
 * runtime.mapassign and friends, since the runtime itself uses maps.
 * A tracer must recognise it as Go and refuse it cleanly.
 */
#include <stdint.h>
#include <stdio.h>

/*
 * Go 1.18+ build info: magic, pointer size, flags (0x2 = strings inline),
 * 16 zero bytes, then uvarint-prefixed version and (empty) modinfo.
 * Sized 64, not 48: Go's debug/buildinfo reads 10 bytes (a maximal
 * uvarint) at each length and rejects the file if the segment ends sooner.
 */
__attribute__((section(".go.buildinfo"), used, aligned(16)))
static unsigned char buildinfo[64] = {
	0xff, ' ', 'G', 'o', ' ', 'b', 'u', 'i', 'l', 'd', 'i', 'n', 'f', ':',
	8,	/* pointer size */
	0x2,	/* little-endian, inline strings */
	[32] = 8, 'g', 'o', '1', '.', '2', '5', '.', '0',
	0,	/* modinfo length */
};

/*
 * Go 1.20+ pcHeader with no functions and no files. Every table is empty,
 * so all offsets point just past the header, where the functab holds only
 * its closing entry (the end PC offset, 0). textStart is set, as Go 1.18-1.25
 * write it (1.26 writes 0 and needs the module data to find it).
 */
#if defined(__aarch64__)
#define MINLC 4	/* PC quantum: instruction size */
#else
#define MINLC 1
#endif

struct pcheader {
	uint32_t magic;
	uint8_t pad1, pad2, minlc, ptrsize;
	uint64_t nfunc, nfiles, text_start;
	uint64_t funcname_off, cu_off, filetab_off, pctab_off, pcln_off;
	uint32_t functab_end, pad3;
};

_Static_assert(sizeof(struct pcheader) == 80, "pcHeader is 72 bytes + functab");

__attribute__((section(".gopclntab"), used, aligned(16)))
static const struct pcheader pclntab = {
	.magic = 0xfffffff1,
	.minlc = MINLC,
	.ptrsize = 8,
	.text_start = 0x401000,
	.funcname_off = 72,
	.cu_off = 72,
	.filetab_off = 72,
	.pctab_off = 72,
	.pcln_off = 72,
};

int main(void)
{
	puts("no maps here");
	return 0;
}
