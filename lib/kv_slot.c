/*
 * kv_slot.c: hash slots and redirections of Redis Cluster (the cluster
 * specification, "Keys distribution model" and "Redirection and resharding").
 */
#include "kv_slot.h"

#include <stdlib.h>
#include <string.h>

unsigned
kv_slot_crc16(const char *buf, size_t len)
{
	static unsigned short table[256];
	static int ready;
	unsigned crc = 0;

	/* built once per process; a table beats eight shifts per byte on
	 * the order path, where every call routes a key */
	if (!ready) {
		for (unsigned i = 0; i < 256; i++) {
			unsigned c = i << 8;

			for (int b = 0; b < 8; b++)
				c = c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1;
			table[i] = (unsigned short)(c & 0xffff);
		}
		ready = 1;
	}
	for (size_t i = 0; i < len; i++)
		crc = ((crc << 8) ^ table[((crc >> 8) ^ (unsigned char)buf[i]) & 0xff]) & 0xffff;
	return crc;
}

unsigned
kv_slot_of(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);

	if (open != NULL) {
		size_t from = (size_t)(open - key) + 1;
		const char *close = memchr(key + from, '}', len - from);

		/* "{}" is no tag: the whole key is hashed */
		if (close != NULL && close > key + from)
			return kv_slot_crc16(key + from, (size_t)(close - (key + from))) & (KV_SLOTS - 1);
	}
	return kv_slot_crc16(key, len) & (KV_SLOTS - 1);
}

/* Parses a decimal in [lo, hi] from s[0..n); -1 when it is not one. */
static long
parse_num(const char *s, size_t n, long lo, long hi)
{
	long v = 0;

	if (n == 0 || n > 6)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

enum kv_redirect
kv_slot_redirect_parse(const char *err, size_t len, int *slot, char *host, size_t hostcap, int *port)
{
	enum kv_redirect kind;
	const char *p, *end = err + len, *sp, *colon = NULL;
	long s, pt;
	size_t hl;

	if (len > 6 && memcmp(err, "MOVED ", 6) == 0) {
		kind = KV_REDIRECT_MOVED;
		p = err + 6;
	} else if (len > 4 && memcmp(err, "ASK ", 4) == 0) {
		kind = KV_REDIRECT_ASK;
		p = err + 4;
	} else {
		return KV_REDIRECT_NONE;
	}
	sp = memchr(p, ' ', (size_t)(end - p));
	if (sp == NULL || (s = parse_num(p, (size_t)(sp - p), 0, KV_SLOTS - 1)) < 0)
		return KV_REDIRECT_NONE;
	p = sp + 1;
	for (const char *q = p; q < end; q++) {
		if (*q == ' ' || *q == '\r' || *q == '\n')
			return KV_REDIRECT_NONE;
		if (*q == ':')
			colon = q;
	}
	if (colon == NULL || (pt = parse_num(colon + 1, (size_t)(end - colon - 1), 1, 65535)) < 0)
		return KV_REDIRECT_NONE;
	hl = (size_t)(colon - p);
	if (hl >= hostcap)
		return KV_REDIRECT_NONE;
	memcpy(host, p, hl);
	host[hl] = '\0';
	*slot = (int)s;
	*port = (int)pt;
	return kind;
}
