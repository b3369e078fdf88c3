/*
 * UTF-8 validation shared by the IPC decoders (ipc/pb.c) and the baseline
 * parsers (see utf8.h).
 */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

size_t
ipc_utf8_invalid_at(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if (u[i] >= 0xc2 && u[i] <= 0xdf) {
			n = 2;
			min = 0x80;
			cp = u[i] & 0x1f;
		} else if (u[i] >= 0xe0 && u[i] <= 0xef) {
			n = 3;
			min = 0x800;
			cp = u[i] & 0x0f;
		} else if (u[i] >= 0xf0 && u[i] <= 0xf4) {
			n = 4;
			min = 0x10000;
			cp = u[i] & 0x07;
		} else
			return i;	/* continuation, 0xc0/0xc1, 0xf5.. */
		if (len - i < n)
			return i;
		for (k = 1; k < n; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		/* overlong, beyond U+10FFFF, or a surrogate */
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n;
	}
	return (size_t)-1;
}

void
ipc_utf8_scrub(char *s)
{
	size_t len = strlen(s), off;

	while ((off = ipc_utf8_invalid_at(s, len)) != (size_t)-1) {
		s[off] = '?';
		s += off + 1;
		len -= off + 1;
	}
}
