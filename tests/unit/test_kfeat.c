// SPDX-License-Identifier: GPL-2.0
/*
 * What the kernel offers: a missing requirement is named with the kernel
 * that brings it, the fallbacks are picked for the others, and the kernel's
 * BTF (no root) agrees with the BPF syscall (root) on this machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "kfeat.h"

static struct kfeat all(void)
{
	struct kfeat f = { .release = "5.4.0-test" };

	for (int k = 0; k < KF__MAX; k++)
		f.has[k] = true;
	return f;
}

static void missing_requirements_are_named(void **state)
{
	struct kfeat f = all();
	char err[256] = "";

	assert_int_equal(kfeat__check(&f, err, sizeof(err)), 0);
	f.has[KF_RINGBUF] = false;
	assert_int_equal(kfeat__check(&f, err, sizeof(err)), -1);
	assert_string_equal(err, "this kernel (5.4.0-test) has no BPF ring buffer: gomapwatch "
				 "needs Linux 5.8 or later");
	f = all();
	f.has[KF_BTF] = false;
	assert_int_equal(kfeat__check(&f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has no BTF at /sys/kernel/btf/vmlinux"));
	assert_non_null(strstr(err, "CONFIG_DEBUG_INFO_BTF"));
}

/* Cookies and uprobe_multi have fallbacks: their absence is not an error. */
static void fallbacks_are_not_errors(void **state)
{
	struct kfeat f = all();
	char err[256] = "";

	f.has[KF_COOKIE] = f.has[KF_UPROBE_MULTI] = f.has[KF_UPROBE_PMU] = false;
	assert_int_equal(kfeat__check(&f, err, sizeof(err)), 0);
}

static void disabled_by_name_only(void **state)
{
	struct kfeat f;

	setenv("GOMAPWATCH_DISABLE_FEATURES", "attach_cookie,ringbuf_x,uprobe_multi", 1);
	kfeat__probe(&f, false);
	unsetenv("GOMAPWATCH_DISABLE_FEATURES");
	assert_false(f.has[KF_COOKIE]);
	assert_false(f.has[KF_UPROBE_MULTI]);
	assert_true(f.off[KF_COOKIE]);
	/* "ringbuf_x" is not "ringbuf" (this machine's kernel has one) */
	assert_true(f.has[KF_RINGBUF]);
	assert_false(f.off[KF_RINGBUF]);
}

/* This machine's kernel (6.x with BTF): both ways of asking agree. */
static void btf_and_syscall_agree(void **state)
{
	struct kfeat btf, sys;

	kfeat__probe(&btf, false);
	assert_false(btf.probed);
	assert_true(btf.has[KF_BTF]);
	assert_true(btf.has[KF_RINGBUF]);
	if (geteuid() != 0) {
		print_message("not root: the BPF syscall's answers not compared\n");
		return;
	}
	kfeat__probe(&sys, true);
	assert_true(sys.probed);
	for (int k = 0; k < KF__MAX; k++)
		if (k != KF_UPROBE_MULTI || !sys.multi_per_thread)
			assert_int_equal(btf.has[k], sys.has[k]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(missing_requirements_are_named),
		cmocka_unit_test(fallbacks_are_not_errors),
		cmocka_unit_test(disabled_by_name_only),
		cmocka_unit_test(btf_and_syscall_agree),
	};

	return cmocka_run_group_tests_name("kfeat", tests, NULL, NULL);
}
