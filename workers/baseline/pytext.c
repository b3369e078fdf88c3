/*
 * UTF-8 and Python str helpers: validation, code point stepping, and the
 * whitespace set of str.isspace() / str.strip() / re's \s.
 */
#include <string.h>

#include "bl_internal.h"

size_t
u8_next(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;

	if (len == 0) {
		*cp = 0;
		return 0;
	}
	if (u[0] < 0x80 || len < 2) {
		*cp = u[0];
		return 1;
	}
	if (u[0] < 0xe0) {
		*cp = ((uint32_t)(u[0] & 0x1f) << 6) | (u[1] & 0x3f);
		return 2;
	}
	if (u[0] < 0xf0 || len < 4) {
		if (len < 3) {
			*cp = u[0];
			return 1;
		}
		*cp = ((uint32_t)(u[0] & 0x0f) << 12) |
		    ((uint32_t)(u[1] & 0x3f) << 6) | (u[2] & 0x3f);
		return 3;
	}
	*cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3f) << 12) |
	    ((uint32_t)(u[2] & 0x3f) << 6) | (u[3] & 0x3f);
	return 4;
}

size_t
u8_prev(const char *s, size_t len, uint32_t *cp)
{
	size_t k = 1;

	if (len == 0) {
		*cp = 0;
		return 0;
	}
	while (k < len && k < 4 &&
	    ((unsigned char)s[len - k] & 0xc0) == 0x80)
		k++;
	(void)u8_next(s + len - k, k, cp);
	return k;
}

int
py_isspace(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) ||
	    c == 0x85 || c == 0xa0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	    c == 0x202f || c == 0x205f || c == 0x3000;
}

void
py_strip(const char **s, size_t *len)
{
	uint32_t cp;
	size_t k;

	while (*len > 0) {
		k = u8_next(*s, *len, &cp);
		if (!py_isspace(cp))
			break;
		*s += k;
		*len -= k;
	}
	while (*len > 0) {
		k = u8_prev(*s, *len, &cp);
		if (!py_isspace(cp))
			break;
		*len -= k;
	}
}

void
bl_linecol(const char *s, size_t len, size_t off, size_t *line, size_t *col)
{
	size_t i, l = 1, c = 1;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		if (s[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	}
	*line = l;
	*col = c;
}
