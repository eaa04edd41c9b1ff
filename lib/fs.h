/*
 * fs.h: what every part of flashsale shares: result codes, the API error
 * table, clocks and tiny helpers. Nothing in here touches a server.
 */
#ifndef FS_H
#define FS_H

#include <stddef.h>
#include <stdint.h>

#define FS_OK 0
#define FS_ERR -1

/* API errors, one row each in fs.c; the order is the table's order. */
enum fs_err {
	FS_E_BAD_REQUEST,
	FS_E_UNAUTHORIZED,
	FS_E_NOT_STARTED,
	FS_E_ENDED,
	FS_E_BAD_SECRET,
	FS_E_BANNED,
	FS_E_FORBIDDEN,
	FS_E_BAD_ANSWER,
	FS_E_NOT_FOUND,
	FS_E_METHOD,
	FS_E_DUPLICATE,
	FS_E_CONFLICT,
	FS_E_SOLD_OUT,
	FS_E_TOO_LARGE,
	FS_E_RATE_LIMITED,
	FS_E_UNAVAILABLE,
	FS_E_INTERNAL,
	FS_E_COUNT
};

struct fs_errdef {
	enum fs_err err;
	int status;
	const char *code;
	const char *message;
};

/* Returns the table row of err; never NULL. */
const struct fs_errdef *fs_err_get(enum fs_err err);

/* Wall clock in milliseconds since the Unix epoch. */
int64_t fs_now_ms(void);
/* A monotonic clock in microseconds (durations). */
int64_t fs_mono_us(void);

/* Parses a whole string as a positive decimal integer below 2^53 (so that a
 * JavaScript client can hold it too). Returns FS_OK and sets *out, or FS_ERR. */
int fs_parse_id(const char *s, int64_t *out);

/* Like fs_parse_id for order ids: any positive integer that fits in 63 bits. */
int fs_parse_u63(const char *s, int64_t *out);

/* 1 when the n bytes at s are valid UTF-8 without NUL, else 0. */
int fs_utf8_valid(const char *s, size_t n);

/* 1 when the a and b are equal (length and bytes), in time that depends
 * only on the lengths. Every secret check uses it. */
int fs_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Fills buf with n random bytes from the OS; FS_OK or FS_ERR. */
int fs_random_bytes(void *buf, size_t n);

/* The largest id the API hands out: 2^53 - 1, so that a JavaScript client
 * holds it exactly. */
#define FS_ID_MAX (((int64_t)1 << 53) - 1)

#define FS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
