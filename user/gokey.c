// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "gokey.h"

/* reflect.Kind, internal/abi.Kind */
enum {
	K_BOOL = 1, K_INT, K_INT8, K_INT16, K_INT32, K_INT64, K_UINT, K_UINT8, K_UINT16,
	K_UINT32, K_UINT64, K_UINTPTR, K_FLOAT32, K_FLOAT64, K_COMPLEX64, K_COMPLEX128,
	K_ARRAY, K_CHAN, K_FUNC, K_INTERFACE, K_MAP, K_POINTER, K_SLICE, K_STRING, K_STRUCT,
	K_UNSAFE_POINTER,
};

const char *gokey__kind_name(uint8_t k)
{
	static const char *const names[] = {
		"unknown", "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8",
		"uint16", "uint32", "uint64", "uintptr", "float32", "float64", "complex64",
		"complex128", "array", "chan", "func", "interface", "map", "pointer", "slice",
		"string", "struct", "unsafe.Pointer",
	};

	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

/* Sizes of the integer kinds, by kind; 0 for the rest. */
static int int_size(uint8_t k)
{
	switch (k) {
	case K_INT8: case K_UINT8: case K_BOOL:
		return 1;
	case K_INT16: case K_UINT16:
		return 2;
	case K_INT32: case K_UINT32: case K_FLOAT32:
		return 4;
	case K_INT: case K_INT64: case K_UINT: case K_UINT64: case K_UINTPTR: case K_FLOAT64:
	case K_POINTER: case K_UNSAFE_POINTER: case K_CHAN:
		return 8;
	}
	return 0;
}

/* A scalar key's value from its 8 little-endian bytes. */
static void gokey__scalar(struct gokey *v, uint8_t kind, uint64_t raw)
{
	int size = int_size(kind);
	uint64_t u = size == 8 ? raw : raw & ((1ULL << (size * 8)) - 1);
	union { uint32_t u; float f; } f32 = { .u = (uint32_t)u };
	union { uint64_t u; double d; } f64 = { .u = u };

	switch (kind) {
	case K_BOOL:
		v->repr = GK_BOOL, v->u = u != 0;
		break;
	case K_INT: case K_INT8: case K_INT16: case K_INT32: case K_INT64:
		v->repr = GK_INT;
		v->i = size == 8 ? (int64_t)u : (int64_t)(u << (64 - size * 8)) >> (64 - size * 8);
		break;
	case K_UINT: case K_UINT8: case K_UINT16: case K_UINT32: case K_UINT64:
		v->repr = GK_UINT, v->u = u;
		break;
	case K_FLOAT32:
		v->repr = GK_FLOAT, v->d = f32.f;
		break;
	case K_FLOAT64:
		v->repr = GK_FLOAT, v->d = f64.d;
		break;
	case K_UINTPTR: case K_POINTER: case K_UNSAFE_POINTER: case K_CHAN:
		v->repr = GK_HEX, v->u = u;
		break;
	default:
		v->repr = GK_UNSHOWN;
	}
}

void gokey__decode(const struct gmw_key *k, struct gokey *v)
{
	uint64_t raw = 0;

	memset(v, 0, sizeof(*v));
	v->kind = gokey__kind_name(k->kind);
	if (k->form == GMW_KEY_NONE) {
		v->repr = GK_NONE;
		return;
	}
	if (k->kind == K_STRING) {
		v->full_len = k->full_len;
		v->len = k->len < GMW_KEY_MAX ? k->len : GMW_KEY_MAX;
		v->str = k->data;
		/* nothing read of a non-empty string: its bytes were out of reach */
		v->repr = v->len || !v->full_len ? GK_STRING : GK_UNSHOWN;
		return;
	}
	if (k->form == GMW_KEY_VALUE) {
		raw = k->raw[0];
	} else if (k->form == GMW_KEY_PTR && k->len >= 8) {
		memcpy(&raw, k->data, 8);
	} else {
		v->repr = GK_UNSHOWN;
		return;
	}
	gokey__scalar(v, k->kind, raw);
}

static size_t escape(const uint8_t *s, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < len; i++) {
		uint8_t c = s[i];

		if (c == '"' || c == '\\')
			o += snprintf(buf + o, len - o, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			buf[o++] = c;
		else
			o += snprintf(buf + o, len - o, "\\x%02x", c);
	}
	buf[o] = 0;
	return o;
}

void gokey__text(const struct gokey *v, char *buf, size_t len)
{
	char s[4 * GMW_KEY_MAX + 8];

	switch (v->repr) {
	case GK_NONE:
		buf[0] = 0;
		break;
	case GK_STRING:
		escape(v->str, v->len, s, sizeof(s));
		if (v->len < v->full_len)
			snprintf(buf, len, "\"%s...\" (%" PRIu64 " bytes)", s, v->full_len);
		else
			snprintf(buf, len, "\"%s\"", s);
		break;
	case GK_INT:
		snprintf(buf, len, "%" PRId64, v->i);
		break;
	case GK_UINT:
		snprintf(buf, len, "%" PRIu64, v->u);
		break;
	case GK_HEX:
		snprintf(buf, len, "%#" PRIx64, v->u);
		break;
	case GK_FLOAT:
		snprintf(buf, len, "%g", v->d);
		break;
	case GK_BOOL:
		snprintf(buf, len, "%s", v->u ? "true" : "false");
		break;
	default:
		snprintf(buf, len, "(%s, not shown)", v->kind);
	}
}
