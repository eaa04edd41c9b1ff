/*
 * clientip.c: the client address behind trusted proxies (clientip.h).
 * Everything here is pure so that the unit tests and the fuzzer reach it.
 */
#include "clientip.h"
#include "fs.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Parses exactly the text s (NUL-terminated, no brackets or port) into the
 * 16-byte form. FS_OK or FS_ERR. */
static int
addr16(const char *s, unsigned char out[16])
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(out, v4mapped, 12);
		memcpy(out + 12, &a4, 4);
		return FS_OK;
	}
	if (strchr(s, ':') != NULL && inet_pton(AF_INET6, s, &a6) == 1) {
		memcpy(out, &a6, 16);
		return FS_OK;
	}
	return FS_ERR;
}

/* Strips blanks, brackets and a port from len bytes of s into the plain
 * address text tmp (size bytes) and parses it. FS_OK or FS_ERR. */
static int
parse_any(const char *s, size_t len, unsigned char out[16])
{
	char tmp[CLIENTIP_LEN];
	const char *colon;

	while (len > 0 && is_blank(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL)
		return FS_ERR;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		size_t rest;

		if (close == NULL)
			return FS_ERR;
		rest = len - (size_t)(close - s) - 1;
		/* after "]" only nothing or ":digits" */
		if (rest > 0) {
			if (close[1] != ':' || rest < 2 || rest > 6)
				return FS_ERR;
			for (size_t i = 2; i <= rest; i++)
				if (close[i] < '0' || close[i] > '9')
					return FS_ERR;
		}
		len = (size_t)(close - s) - 1;
		s++;
		if (len == 0 || memchr(s, ':', len) == NULL)
			return FS_ERR;
	} else {
		colon = memchr(s, ':', len);
		/* "a.b.c.d:port": one colon after a dotted quad */
		if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL &&
		    memchr(s, '.', (size_t)(colon - s)) != NULL) {
			size_t plen = len - (size_t)(colon - s) - 1;

			if (plen == 0 || plen > 5)
				return FS_ERR;
			for (size_t i = 1; i <= plen; i++)
				if (colon[i] < '0' || colon[i] > '9')
					return FS_ERR;
			len = (size_t)(colon - s);
		}
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return addr16(tmp, out);
}

static void
print16(const unsigned char a[16], char out[CLIENTIP_LEN])
{
	if (memcmp(a, v4mapped, 12) == 0) {
		if (inet_ntop(AF_INET, a + 12, out, CLIENTIP_LEN) == NULL)
			snprintf(out, CLIENTIP_LEN, "invalid");
	} else if (inet_ntop(AF_INET6, a, out, CLIENTIP_LEN) == NULL) {
		snprintf(out, CLIENTIP_LEN, "invalid");
	}
}

int
clientip_normalize(const char *s, size_t len, char out[CLIENTIP_LEN])
{
	unsigned char a[16];

	if (s == NULL || parse_any(s, len, a) != FS_OK)
		return FS_ERR;
	print16(a, out);
	return FS_OK;
}

int
clientip_parse_cidrs(const char *list, struct cidr *out, int max)
{
	const char *p = list;
	int n = 0;

	if (list == NULL)
		return 0;
	for (;;) {
		const char *start, *slash;
		char tmp[CLIENTIP_LEN];
		size_t len;
		long bits = -1;

		while (*p == ',' || is_blank(*p))
			p++;
		if (*p == '\0')
			return n;
		start = p;
		while (*p && *p != ',' && !is_blank(*p))
			p++;
		len = (size_t)(p - start);
		slash = memchr(start, '/', len);
		if (slash != NULL) {
			char *end;

			if (slash + 1 == p || slash[1] < '0' || slash[1] > '9')
				return FS_ERR;
			bits = strtol(slash + 1, &end, 10);
			if (end != p)
				return FS_ERR;
			len = (size_t)(slash - start);
		}
		if (n == max || len == 0 || len >= sizeof(tmp))
			return FS_ERR;
		memcpy(tmp, start, len);
		tmp[len] = '\0';
		if (addr16(tmp, out[n].addr) != FS_OK)
			return FS_ERR;
		if (memcmp(out[n].addr, v4mapped, 12) == 0 && strchr(tmp, ':') == NULL) {
			if (bits > 32)
				return FS_ERR;
			out[n].bits = bits < 0 ? 128 : 96 + (int)bits;
		} else {
			if (bits > 128)
				return FS_ERR;
			out[n].bits = bits < 0 ? 128 : (int)bits;
		}
		n++;
	}
}

static int
in_net(const unsigned char a[16], const struct cidr *c)
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(a, c->addr, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ c->addr[full]) & (0xFF << (8 - rest)) & 0xFF) == 0;
}

static int
trusted16(const unsigned char a[16], const struct cidr *nets, int n)
{
	for (int i = 0; i < n; i++)
		if (in_net(a, &nets[i]))
			return 1;
	return 0;
}

int
clientip_trusted(const char *addr, const struct cidr *nets, int n)
{
	unsigned char a[16];

	if (addr == NULL || parse_any(addr, strlen(addr), a) != FS_OK)
		return 0;
	return trusted16(a, nets, n);
}

int
clientip_pick(const char *remote, const char *xff, const struct cidr *nets, int n,
	      char out[CLIENTIP_LEN])
{
	unsigned char a[16], last[16];
	const char *end;
	int have_last = 0;

	if (remote == NULL || parse_any(remote, strlen(remote), a) != FS_OK) {
		snprintf(out, CLIENTIP_LEN, "invalid");
		return 1;
	}
	if (!trusted16(a, nets, n)) {
		print16(a, out);
		return 1;
	}
	if (xff == NULL)
		return 0;
	end = xff + strlen(xff);
	/* from the right: each hop appended the address it saw */
	while (end > xff) {
		const char *start = end;
		size_t len;

		while (start > xff && start[-1] != ',')
			start--;
		len = (size_t)(end - start);
		end = start > xff ? start - 1 : xff;
		/* an empty entry (",," or a blank header) carries nothing */
		while (len > 0 && is_blank(*start)) {
			start++;
			len--;
		}
		if (len == 0)
			continue;
		if (parse_any(start, len, a) != FS_OK) {
			snprintf(out, CLIENTIP_LEN, "invalid");
			return 1;
		}
		if (!trusted16(a, nets, n)) {
			print16(a, out);
			return 1;
		}
		memcpy(last, a, 16);
		have_last = 1;
	}
	if (!have_last)
		return 0;
	print16(last, out);
	return 1;
}

void
clientip_bucket(const char *addr, char out[CLIENTIP_LEN])
{
	struct in6_addr a6;

	if (strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, &a6) != 1) {
		snprintf(out, CLIENTIP_LEN, "%s", addr);
		return;
	}
	memset((unsigned char *)&a6 + 8, 0, 8);
	if (inet_ntop(AF_INET6, &a6, out, CLIENTIP_LEN) == NULL) {
		snprintf(out, CLIENTIP_LEN, "invalid");
		return;
	}
	/* the printed text has room: CLIENTIP_LEN is well above 39 + 3 */
	strcat(out, "/64");
}
