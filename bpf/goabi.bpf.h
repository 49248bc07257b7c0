/* SPDX-License-Identifier: GPL-2.0 */
/* Go's register ABI (ABIInternal) as seen from a uprobe at function entry. */
#ifndef GOMAPWATCH_GOABI_BPF_H
#define GOMAPWATCH_GOABI_BPF_H

#if defined(__TARGET_ARCH_x86)
/* amd64, Go >= 1.17: args in RAX, RBX, RCX, RDI; R14 = current g */
#define GO_ARG1(r)	((r)->ax)
#define GO_ARG2(r)	((r)->bx)
#define GO_ARG3(r)	((r)->cx)
#define GO_ARG4(r)	((r)->di)
#define GO_G(r)		((r)->r14)
#define GO_SP(r)	((r)->sp)
#elif defined(__TARGET_ARCH_arm64)
/* arm64, Go >= 1.18: args in R0..R3; R28 = current g; LR holds the return */
#define GO_ARG1(r)	((r)->regs[0])
#define GO_ARG2(r)	((r)->regs[1])
#define GO_ARG3(r)	((r)->regs[2])
#define GO_ARG4(r)	((r)->regs[3])
#define GO_G(r)		((r)->regs[28])
#define GO_SP(r)	((r)->sp)
#define GO_LR(r)	((r)->regs[30])
#else
#error "unsupported architecture"
#endif

/*
 * Where the caller will resume. At a probe near function entry the callee
 * has not pushed its frame yet, so a frame-pointer walk skips this frame:
 * the user's own map-writing line.
 */
static __always_inline __u64 go_return_address(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	__u64 ret = 0;

	bpf_probe_read_user(&ret, sizeof(ret), (void *)GO_SP(ctx));
	return ret;
#else
	return GO_LR(ctx);
#endif
}

#endif
