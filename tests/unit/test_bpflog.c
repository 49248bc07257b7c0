// SPDX-License-Identifier: GPL-2.0
/* A verifier log is cut to its tail; every other libbpf message passes whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "bpflog.h"

static char *written(const char *msg, int tail)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	bpflog__write(f, msg, tail);
	fclose(f);
	return buf;
}

static void plain_messages_pass_whole(void **state)
{
	char *out = written("libbpf: map 'pairs': created\n", 3);

	assert_string_equal(out, "libbpf: map 'pairs': created\n");
	free(out);
}

static void verifier_log_keeps_its_tail(void **state)
{
	char msg[4096] = "libbpf: prog 'write_enter': -- BEGIN PROG LOAD LOG --\n";
	char *out;

	for (int i = 1; i <= 100; i++)
		sprintf(msg + strlen(msg), "%d: insn %d\n", i, i);
	strcat(msg, "invalid func unknown#174\n-- END PROG LOAD LOG --\n");
	out = written(msg, 3);
	assert_string_equal(out, "libbpf: prog 'write_enter': -- BEGIN PROG LOAD LOG --\n"
				 "... (98 lines of the verifier's log before these; -vv for "
				 "libbpf's debug output)\n"
				 "99: insn 99\n100: insn 100\ninvalid func unknown#174\n"
				 "-- END PROG LOAD LOG --\n");
	free(out);
}

static void short_log_is_not_cut(void **state)
{
	const char *msg = "libbpf: prog 'x': -- BEGIN PROG LOAD LOG --\nR1 invalid mem access\n"
			  "-- END PROG LOAD LOG --\n";
	char *out = written(msg, 30);

	assert_string_equal(out, msg);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_messages_pass_whole),
		cmocka_unit_test(verifier_log_keeps_its_tail),
		cmocka_unit_test(short_log_is_not_cut),
	};

	return cmocka_run_group_tests_name("bpflog", tests, NULL, NULL);
}
