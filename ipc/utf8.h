/*
 * UTF-8 as the IPC decoders and the baseline parsers check it: no
 * overlongs, no surrogates (U+D800..U+DFFF), nothing beyond U+10FFFF.
 */
#ifndef VTW_UTF8_H
#define VTW_UTF8_H

#include <stddef.h>

/* The offset of the first byte of an invalid sequence, (size_t)-1 when
 * all len bytes are valid. */
size_t	ipc_utf8_invalid_at(const char *, size_t len);
/* Replace each byte that starts an invalid sequence with '?', so that a
 * message quoting a peer (a server's error text) passes the decoder. */
void	ipc_utf8_scrub(char *);

#endif
