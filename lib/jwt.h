/*
 * jwt.h: JSON Web Tokens, HS256 only (API.md "Identity").
 */
#ifndef FS_JWT_H
#define FS_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_MAX 1024

/* Writes a token for user sub expiring at exp (Unix seconds) into out
 * (JWT_MAX bytes). Returns FS_OK. */
int jwt_sign(const char *secret, int64_t sub, int64_t exp, char out[JWT_MAX]);

/* Checks token (len bytes): three parts, header alg HS256, a signature made
 * with secret, a numeric exp later than now_s and a sub that is a positive
 * integer (as a decimal string or a number). Returns FS_OK and sets *sub,
 * or FS_ERR for anything else. */
int jwt_verify(const char *secret, const char *token, size_t len, int64_t now_s, int64_t *sub);

#endif
