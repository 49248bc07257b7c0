// SPDX-License-Identifier: GPL-2.0
/* NDJSON output must stay valid JSON for any bytes a Go string can hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "json.h"

/* Emit {"s": bytes} as one line; return the line (caller frees). */
static char *emit(const char *bytes, size_t len, size_t *outlen)
{
	yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
	yyjson_mut_val *root = yyjson_mut_obj(doc);
	char *buf = NULL;
	FILE *f = open_memstream(&buf, outlen);

	yyjson_mut_doc_set_root(doc, root);
	assert_true(json__add_bytes(doc, root, "s", bytes, len));
	assert_int_equal(json__emit(doc, f), 0);
	fclose(f);
	return buf;
}

/* Parse the line back and return the string value (caller frees). */
static char *parse_back(const char *line, size_t len)
{
	yyjson_doc *doc = yyjson_read(line, len, 0);
	yyjson_val *s;
	char *v;

	assert_non_null(doc);
	s = yyjson_obj_get(yyjson_doc_get_root(doc), "s");
	assert_true(yyjson_is_str(s));
	v = strndup(yyjson_get_str(s), yyjson_get_len(s));
	yyjson_doc_free(doc);
	return v;
}

static void control_bytes_are_escaped(void **state)
{
	char in[32];
	size_t len;
	char *line, *back;

	for (int i = 0; i < 31; i++)
		in[i] = i + 1;	/* 0x01 .. 0x1f */
	line = emit(in, 31, &len);
	assert_int_equal(line[len - 1], '\n');
	for (size_t i = 0; i + 1 < len; i++)
		assert_true((unsigned char)line[i] >= 0x20);
	back = parse_back(line, len);
	assert_memory_equal(back, in, 31);
	free(back);
	free(line);
}

static void nul_quote_backslash_round_trip(void **state)
{
	const char in[] = "a\0b\"c\\d\n";
	size_t len;
	char *line = emit(in, sizeof(in) - 1, &len);
	yyjson_doc *doc = yyjson_read(line, len, 0);
	yyjson_val *s = yyjson_obj_get(yyjson_doc_get_root(doc), "s");

	assert_int_equal(yyjson_get_len(s), sizeof(in) - 1);
	assert_memory_equal(yyjson_get_str(s), in, sizeof(in) - 1);
	yyjson_doc_free(doc);
	free(line);
}

static void invalid_utf8_becomes_replacement(void **state)
{
	/* stray continuation, truncated sequence, overlong '/', a surrogate */
	const char in[] = "x\x80y\xe2\x82z\xc0\xafw\xed\xa0\x80.";
	size_t len;
	char *line = emit(in, sizeof(in) - 1, &len);
	char *back = parse_back(line, len);

	assert_string_equal(back, "x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd"
				  "w\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.");
	free(back);
	free(line);
}

static void valid_utf8_is_kept(void **state)
{
	const char in[] = "map \xc3\xa9" "crite \xe2\x9c\x93 \xf0\x9f\x90\xb9";
	size_t len;
	char *line = emit(in, sizeof(in) - 1, &len);
	char *back = parse_back(line, len);

	assert_string_equal(back, in);
	free(back);
	free(line);
}

static void empty_string(void **state)
{
	size_t len;
	char *line = emit("", 0, &len);

	assert_string_equal(line, "{\"s\":\"\"}\n");
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(control_bytes_are_escaped),
		cmocka_unit_test(nul_quote_backslash_round_trip),
		cmocka_unit_test(invalid_utf8_becomes_replacement),
		cmocka_unit_test(valid_utf8_is_kept),
		cmocka_unit_test(empty_string),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
