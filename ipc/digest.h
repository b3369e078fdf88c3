/*
 * digest: SHA-256 (OpenSSL libcrypto, EVP) of long values. A value over
 * IPC_MAX_VALUE_BYTES travels as a prefix, its full length and this digest,
 * and compares equal to another only when length and digest agree: anyone
 * who can write a datasource or a Git file must not be able to hide a
 * change behind a collision, which FNV-1a would allow.
 * (The key/value map's hash table keeps FNV-1a: it is no security boundary.)
 */
#ifndef VTW_DIGEST_H
#define VTW_DIGEST_H

#include <stddef.h>

#define VTW_DIGEST_LEN	32	/* SHA-256 */

/* out = SHA-256(p[0..len)). Cannot fail short of a broken libcrypto
 * (fatalx then). */
void	vtw_digest(const void *p, size_t len, unsigned char out[VTW_DIGEST_LEN]);

/* The same over several pieces. */
struct vtw_digest_ctx {
	void	*md;		/* EVP_MD_CTX */
};
void	vtw_digest_init(struct vtw_digest_ctx *);
void	vtw_digest_update(struct vtw_digest_ctx *, const void *, size_t);
void	vtw_digest_final(struct vtw_digest_ctx *,
	    unsigned char out[VTW_DIGEST_LEN]);
/* A string with its length (NULL and "" differ): fields one after
 * another never run into each other. */
void	vtw_digest_str(struct vtw_digest_ctx *, const char *);

#endif
