// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include "json.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool json__add_bytes(yyjson_mut_doc *doc, yyjson_mut_val *obj, const char *key,
		     const char *s, size_t len)
{
	static const char repl[] = "\xef\xbf\xbd";
	char *buf = NULL;
	size_t o = 0;
	bool ok;

	if (len) {
		buf = malloc(len * 3 + 1);
		if (!buf)
			return false;
		for (size_t i = 0; i < len;) {
			size_t n = utf8_seq((const unsigned char *)s + i, len - i);

			if (n) {
				memcpy(buf + o, s + i, n);
				o += n, i += n;
			} else {
				memcpy(buf + o, repl, 3);
				o += 3, i++;
			}
		}
	}
	/* strncpy copies into the document, so buf can be freed now */
	ok = yyjson_mut_obj_add_strncpy(doc, obj, key, buf ? buf : "", o);
	free(buf);
	return ok;
}

int json__emit(yyjson_mut_doc *doc, FILE *out)
{
	size_t len;
	char *s = yyjson_mut_write(doc, 0, &len);
	int ret = -1;

	if (s) {
		fwrite(s, 1, len, out);
		fputc('\n', out);
		fflush(out);
		free(s);
		ret = 0;
	}
	yyjson_mut_doc_free(doc);
	return ret;
}
