/*
 * hmac.h: HMAC-SHA256 over OpenSSL's libcrypto (codecs: codec.h; the
 * constant-time compare every secret check must use: fs_ct_equal in fs.h).
 */
#ifndef FS_HMAC_H
#define FS_HMAC_H

#include <stddef.h>

#define HMAC_LEN 32

/* mac receives HMAC_LEN bytes. Thread-safe; each distinct key (a few are
 * kept) is set up once per process. */
void hmac_sha256(const char *key, size_t keylen, const void *msg, size_t len,
		 unsigned char mac[HMAC_LEN]);
/* hex receives 2*HMAC_LEN lowercase digits and a NUL. */
void hmac_sha256_hex(const char *key, const void *msg, size_t len, char hex[2 * HMAC_LEN + 1]);

#endif
