// SPDX-License-Identifier: GPL-2.0
/* Keys as the user reads them: every kind, form, and cut string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "gokey.h"

static const char *text(const struct gmw_key *k)
{
	static char buf[256];
	struct gokey v;

	gokey__decode(k, &v);
	gokey__text(&v, buf, sizeof(buf));
	return buf;
}

static struct gmw_key by_value(uint8_t kind, uint64_t raw)
{
	return (struct gmw_key){ .form = GMW_KEY_VALUE, .kind = kind, .raw = { raw, 0xdead } };
}

/* fast32/fast64 keys come in a register: only the key type's bytes count */
static void test_scalars(void **state)
{
	assert_string_equal(text(&(struct gmw_key){ .form = GMW_KEY_VALUE, .kind = 11,
						   .raw = { 42 } }), "42");
	assert_string_equal(text(&(struct gmw_key){ .form = GMW_KEY_VALUE, .kind = 2,
						   .raw = { (uint64_t)-7 } }), "-7");
	/* an int32 key in a register whose upper half is garbage */
	struct gmw_key k = by_value(5, 0xffffffff00000000ULL | (uint32_t)-1023);
	assert_string_equal(text(&k), "-1023");
	k = by_value(10, 0x12345678ffffffffULL);
	assert_string_equal(text(&k), "4294967295");
	k = by_value(3, 0xff80);
	assert_string_equal(text(&k), "-128");
	k = by_value(9, 0xffff1234);
	assert_string_equal(text(&k), "4660");
	k = by_value(1, 0x100);
	assert_string_equal(text(&k), "false");
	k = by_value(1, 1);
	assert_string_equal(text(&k), "true");
	k = by_value(22, 0xc000012340);
	assert_string_equal(text(&k), "0xc000012340");
}

static void test_floats(void **state)
{
	union { double d; uint64_t u; } d = { .d = 12.5 };
	union { float f; uint32_t u; } f = { .f = -0.25f };
	struct gmw_key k = { .form = GMW_KEY_PTR, .kind = 14, .len = 8 };

	memcpy(k.data, &d.u, 8);
	assert_string_equal(text(&k), "12.5");
	k = by_value(13, f.u);
	assert_string_equal(text(&k), "-0.25");
}

static void test_strings(void **state)
{
	struct gmw_key k = { .form = GMW_KEY_STR, .kind = 24, .len = 10, .full_len = 10 };
	struct gokey v;

	memcpy(k.data, "session-17", 10);
	assert_string_equal(text(&k), "\"session-17\"");
	gokey__decode(&k, &v);
	assert_int_equal(v.repr, GK_STRING);
	assert_string_equal(v.kind, "string");
	/* longer than kept: cut, and the length said */
	k.full_len = 4000;
	assert_string_equal(text(&k), "\"session-17...\" (4000 bytes)");
	/* quotes, backslashes and control bytes escaped */
	memcpy(k.data, "a\"b\\c\n\xff", 7);
	k.len = k.full_len = 7;
	assert_string_equal(text(&k), "\"a\\\"b\\\\c\\x0a\\xff\"");
	/* empty is a value; unreadable bytes of a non-empty one are not */
	k.len = k.full_len = 0;
	assert_string_equal(text(&k), "\"\"");
	k.full_len = 5;
	assert_string_equal(text(&k), "(string, not shown)");
}

static void test_not_shown(void **state)
{
	struct gmw_key k = { .form = GMW_KEY_PTR, .kind = 25, .len = 8 };
	struct gokey v;

	assert_string_equal(text(&k), "(struct, not shown)");
	k.kind = 20;
	assert_string_equal(text(&k), "(interface, not shown)");
	/* a generic key whose bytes could not be read */
	k.kind = 2;
	k.len = 0;
	assert_string_equal(text(&k), "(int, not shown)");
	/* no kind known at all */
	k = by_value(0, 5);
	assert_string_equal(text(&k), "(unknown, not shown)");
	k.kind = 200;
	assert_string_equal(text(&k), "(unknown, not shown)");
	/* clear and iteration take no key */
	k = (struct gmw_key){ .form = GMW_KEY_NONE, .kind = 24 };
	gokey__decode(&k, &v);
	assert_int_equal(v.repr, GK_NONE);
	assert_string_equal(text(&k), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_not_shown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
