/*
 * codec.h: hex and base64url encoders and decoder.
 */
#ifndef FS_CODEC_H
#define FS_CODEC_H

#include <stddef.h>

/* out needs 2*n+1 bytes. */
void codec_hex_encode(const unsigned char *in, size_t n, char *out);

/* base64url without padding. out needs ((n + 2) / 3) * 4 + 1 bytes.
 * Returns the encoded length. */
size_t codec_b64url_encode(const unsigned char *in, size_t n, char *out);
/* Decodes n characters of unpadded base64url into out (n * 3 / 4 + 1 bytes).
 * Returns the decoded length, or -1 on a bad character or length. */
long codec_b64url_decode(const char *in, size_t n, unsigned char *out);

#endif
