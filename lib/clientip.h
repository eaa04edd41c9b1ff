/*
 * clientip.h: which address a request is limited by (API.md "Rate limits").
 * Pure functions, no server and no config: the caller passes REMOTE_ADDR,
 * the X-Forwarded-For header and the parsed trusted_proxies list.
 */
#ifndef FS_CLIENTIP_H
#define FS_CLIENTIP_H

#include <stddef.h>

#define CLIENTIP_MAX_CIDRS 32
/* enough for any IPv6 text form and a NUL */
#define CLIENTIP_LEN 48

/* One network: 16 bytes (IPv4 as ::ffff:a.b.c.d) and a prefix in bits
 * (0..128, counted on the 16-byte form). */
struct cidr {
	unsigned char addr[16];
	int bits;
};

/* Parses a list like "127.0.0.0/8, ::1/128, 10.1.2.3" (commas or blanks
 * between entries; no prefix means a single host) into out (max entries).
 * Returns the number of entries, or FS_ERR on a malformed entry or too many. */
int clientip_parse_cidrs(const char *list, struct cidr *out, int max);

/* 1 when addr (text, IPv4 or IPv6) lies in one of the n networks, else 0
 * (also for a malformed addr). */
int clientip_trusted(const char *addr, const struct cidr *nets, int n);

/* Normalizes one address text into out (CLIENTIP_LEN bytes): surrounding
 * blanks, an IPv4 ":port", "[v6]" brackets and "[v6]:port" are removed, an
 * IPv4-mapped IPv6 address becomes IPv4, IPv6 is printed canonically.
 * len bytes of s are read (s need not be NUL-terminated). FS_OK or FS_ERR. */
int clientip_normalize(const char *s, size_t len, char out[CLIENTIP_LEN]);

/* Picks the address to limit a request by:
 *  - remote not trusted: remote itself;
 *  - remote trusted, no X-Forwarded-For (NULL or blank): none (returns 0),
 *    the request comes from the proxy itself;
 *  - remote trusted with X-Forwarded-For: walking the list from the right,
 *    the first address that is not trusted; when all are trusted, the
 *    left-most one. An entry that is not an address where one is needed
 *    gives the shared bucket "invalid", so junk cannot dodge the limit.
 * Returns 1 with out (CLIENTIP_LEN bytes) set, or 0 for "not limited". A
 * malformed remote is limited as "invalid" too. */
int clientip_pick(const char *remote, const char *xff, const struct cidr *nets, int n,
		  char out[CLIENTIP_LEN]);

/* The rate-limit bucket of a normalized address: IPv4 as is, IPv6 by its
 * /64 network ("2001:db8:1:2::/64"), since one host usually holds a /64. */
void clientip_bucket(const char *addr, char out[CLIENTIP_LEN]);

#endif
