/*
 * digest: SHA-256 through OpenSSL's EVP interface (see digest.h).
 */
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"
#include "log.h"

void
vtw_digest_init(struct vtw_digest_ctx *c)
{
	EVP_MD_CTX *md;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		fatalx("%s: SHA-256 unavailable", __func__);
	c->md = md;
}

void
vtw_digest_update(struct vtw_digest_ctx *c, const void *p, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(c->md, p, len) != 1)
		fatalx("%s: SHA-256 failed", __func__);
}

void
vtw_digest_str(struct vtw_digest_ctx *c, const char *s)
{
	uint64_t n = s != NULL ? strlen(s) + 1 : 0;

	vtw_digest_update(c, &n, sizeof(n));
	if (s != NULL)
		vtw_digest_update(c, s, n);
}

void
vtw_digest_final(struct vtw_digest_ctx *c, unsigned char out[VTW_DIGEST_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(c->md, out, &n) != 1 || n != VTW_DIGEST_LEN)
		fatalx("%s: SHA-256 failed", __func__);
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
}

void
vtw_digest(const void *p, size_t len, unsigned char out[VTW_DIGEST_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != VTW_DIGEST_LEN)
		fatalx("%s: SHA-256 failed", __func__);
}
