/*
 * fs.c: the one table of API errors (API.md "Errors") and the small pure
 * helpers every program uses for ids, clocks and text validation.
 */
#include "fs.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <time.h>

static const struct fs_errdef errtab[FS_E_COUNT] = {
	{FS_E_BAD_REQUEST, 400, "bad_request", "the request is malformed"},
	{FS_E_UNAUTHORIZED, 401, "unauthorized", "a valid access token is required"},
	{FS_E_NOT_STARTED, 403, "not_started", "the sale has not started yet"},
	{FS_E_ENDED, 403, "ended", "the sale has ended"},
	{FS_E_BAD_SECRET, 403, "bad_secret", "the order secret is missing or wrong"},
	{FS_E_BANNED, 403, "banned", "this account may not buy in this sale"},
	{FS_E_FORBIDDEN, 403, "forbidden", "this account may not do that"},
	{FS_E_BAD_ANSWER, 403, "bad_answer", "the challenge answer is wrong, used or expired"},
	{FS_E_NOT_FOUND, 404, "not_found", "no such resource"},
	{FS_E_METHOD, 405, "method_not_allowed", "method not allowed on this resource"},
	{FS_E_DUPLICATE, 409, "duplicate", "you already hold an order for this item"},
	{FS_E_CONFLICT, 409, "conflict", "the resource is not in a state that allows this"},
	{FS_E_SOLD_OUT, 410, "sold_out", "the item is sold out"},
	{FS_E_TOO_LARGE, 413, "too_large", "the request body is too large"},
	{FS_E_RATE_LIMITED, 429, "rate_limited", "too many requests, slow down"},
	{FS_E_UNAVAILABLE, 503, "unavailable", "a service is unavailable, nothing was changed"},
	{FS_E_INTERNAL, 500, "internal", "internal error"},
};

const struct fs_errdef *
fs_err_get(enum fs_err err)
{
	if ((unsigned)err >= FS_E_COUNT)
		err = FS_E_INTERNAL;
	return &errtab[err];
}

int64_t
fs_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
fs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse_positive(const char *s, int64_t max, int64_t *out)
{
	int64_t v = 0;
	const char *p;

	if (s == NULL || *s < '1' || *s > '9')
		return FS_ERR;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9' || p - s >= 19)
			return FS_ERR;
		/* checked before multiplying so the arithmetic never overflows */
		if (v > (max - (*p - '0')) / 10)
			return FS_ERR;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return FS_OK;
}

int
fs_parse_id(const char *s, int64_t *out)
{
	return parse_positive(s, FS_ID_MAX, out);
}

int
fs_parse_u63(const char *s, int64_t *out)
{
	return parse_positive(s, INT64_MAX, out);
}

int
fs_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		unsigned c = *p;
		size_t len;
		uint32_t cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if ((size_t)(end - p) < len)
			return 0;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		/* overlong forms, surrogates and values past U+10FFFF */
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return 0;
		p += len;
	}
	return 1;
}

int
fs_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

int
fs_random_bytes(void *buf, size_t n)
{
	return RAND_bytes(buf, (int)n) == 1 ? FS_OK : FS_ERR;
}
