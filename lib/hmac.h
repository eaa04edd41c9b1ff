/*
 * hmac.h: HMAC-SHA256 over OpenSSL's libcrypto, hex and base64url codecs, and
 * the constant-time compare every secret check must use.
 */
#ifndef FS_HMAC_H
#define FS_HMAC_H

#include <stddef.h>

#define HMAC_LEN 32

/* mac receives HMAC_LEN bytes. */
void hmac_sha256(const char *key, size_t keylen, const void *msg, size_t len,
		 unsigned char mac[HMAC_LEN]);
/* hex receives 2*HMAC_LEN lowercase digits and a NUL. */
void hmac_sha256_hex(const char *key, const void *msg, size_t len, char hex[2 * HMAC_LEN + 1]);

/* 1 when the a and b are equal (length and bytes), in time that depends
 * only on the lengths. */
int ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* out needs 2*n+1 bytes. */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* base64url without padding. out needs ((n + 2) / 3) * 4 + 1 bytes.
 * Returns the encoded length. */
size_t b64url_encode(const unsigned char *in, size_t n, char *out);
/* Decodes n characters of unpadded base64url into out (n * 3 / 4 + 1 bytes).
 * Returns the decoded length, or -1 on a bad character or length. */
long b64url_decode(const char *in, size_t n, unsigned char *out);

/* Fills buf with n random bytes from the OS; FS_OK or FS_ERR. */
int random_bytes(void *buf, size_t n);

#endif
