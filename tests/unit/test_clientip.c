/*
 * test_clientip: the address a request is rate-limited by (clientip.c):
 * CIDR lists, address forms and the X-Forwarded-For walk.
 */
#include "clientip.h"
#include "fs.h"
#include "testhelp.h"

#include <string.h>

static struct cidr nets[CLIENTIP_MAX_CIDRS];
static int nnets;

/* 1 when pick gives want (NULL: "not limited"). */
static int
picks(const char *remote, const char *xff, const char *want)
{
	char out[CLIENTIP_LEN];
	int rc = clientip_pick(remote, xff, nets, nnets, out);

	if (want == NULL)
		return rc == 0;
	if (rc != 1)
		return 0;
	if (strcmp(out, want) != 0) {
		printf("  pick(%s, %s) = %s, want %s\n", remote, xff ? xff : "NULL", out, want);
		return 0;
	}
	return 1;
}

static int
norm(const char *in, const char *want)
{
	char out[CLIENTIP_LEN];

	if (clientip_normalize(in, strlen(in), out) != FS_OK)
		return want == NULL;
	return want != NULL && strcmp(out, want) == 0;
}

static void
test_cidrs(void)
{
	struct cidr c[4];

	test_cond("clientip-1.1 default list", clientip_parse_cidrs("127.0.0.0/8", c, 4) == 1);
	test_cond("clientip-1.2 three entries",
		  clientip_parse_cidrs(" 10.0.0.0/8, ::1/128 192.168.1.7", c, 4) == 3);
	test_cond("clientip-1.3 host entry is /128", c[2].bits == 128);
	test_cond("clientip-1.4 v4 /8 is 104 bits", c[0].bits == 104);
	test_cond("clientip-1.5 empty list", clientip_parse_cidrs("", c, 4) == 0);
	test_cond("clientip-1.6 NULL list", clientip_parse_cidrs(NULL, c, 4) == 0);
	test_cond("clientip-1.7 v4 /33", clientip_parse_cidrs("1.2.3.4/33", c, 4) == FS_ERR);
	test_cond("clientip-1.8 v6 /129", clientip_parse_cidrs("::1/129", c, 4) == FS_ERR);
	test_cond("clientip-1.9 junk", clientip_parse_cidrs("localhost", c, 4) == FS_ERR);
	test_cond("clientip-1.10 bad prefix", clientip_parse_cidrs("1.2.3.4/x", c, 4) == FS_ERR);
	test_cond("clientip-1.11 empty prefix", clientip_parse_cidrs("1.2.3.4/", c, 4) == FS_ERR);
	test_cond("clientip-1.12 negative prefix", clientip_parse_cidrs("1.2.3.4/-1", c, 4) == FS_ERR);
	test_cond("clientip-1.13 too many",
		  clientip_parse_cidrs("1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5", c, 4) == FS_ERR);
	test_cond("clientip-1.14 /0 trusts all", clientip_parse_cidrs("0.0.0.0/0", c, 4) == 1 &&
						     clientip_trusted("8.8.8.8", c, 1) &&
						     !clientip_trusted("2001:db8::1", c, 1));
	test_cond("clientip-1.15 odd prefix", clientip_parse_cidrs("10.0.0.0/12", c, 4) == 1 &&
						  clientip_trusted("10.15.255.255", c, 1) &&
						  !clientip_trusted("10.16.0.0", c, 1));
}

static void
test_normalize(void)
{
	test_cond("clientip-2.1 v4", norm("1.2.3.4", "1.2.3.4"));
	test_cond("clientip-2.2 blanks", norm("  1.2.3.4\t", "1.2.3.4"));
	test_cond("clientip-2.3 v4 port", norm("1.2.3.4:8080", "1.2.3.4"));
	test_cond("clientip-2.4 v6 canonical", norm("2001:0db8:0:0:0:0:0:1", "2001:db8::1"));
	test_cond("clientip-2.5 v6 brackets", norm("[::1]", "::1"));
	test_cond("clientip-2.6 v6 brackets port", norm("[2001:db8::1]:443", "2001:db8::1"));
	test_cond("clientip-2.7 v4-mapped", norm("::ffff:10.1.2.3", "10.1.2.3"));
	test_cond("clientip-2.8 hostname", norm("example.com", NULL));
	test_cond("clientip-2.9 empty", norm("", NULL));
	test_cond("clientip-2.10 v4 leading zeros", norm("01.2.3.4", NULL));
	test_cond("clientip-2.11 v4 out of range", norm("256.1.1.1", NULL));
	test_cond("clientip-2.12 bad port", norm("1.2.3.4:x", NULL));
	test_cond("clientip-2.13 empty port", norm("1.2.3.4:", NULL));
	test_cond("clientip-2.14 unclosed bracket", norm("[::1", NULL));
	test_cond("clientip-2.15 bracketed v4", norm("[1.2.3.4]", NULL));
	test_cond("clientip-2.16 zone id", norm("fe80::1%eth0", NULL));
	test_cond("clientip-2.17 SQL", norm("1.2.3.4' OR '1'='1", NULL));
	test_cond("clientip-2.18 very long",
		  norm("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb", NULL));
	test_cond("clientip-2.19 unknown", norm("unknown", NULL));
	test_cond("clientip-2.20 NUL inside", clientip_normalize("1.2.3.4\0x", 9, (char[CLIENTIP_LEN]){0}) == FS_ERR);
}

static void
test_pick(void)
{
	nnets = clientip_parse_cidrs("127.0.0.0/8, 10.0.0.0/8, ::1", nets, CLIENTIP_MAX_CIDRS);
	test_cond("clientip-3.0 nets", nnets == 3);
	test_cond("clientip-3.1 direct client", picks("203.0.113.9", NULL, "203.0.113.9"));
	test_cond("clientip-3.2 direct client ignores XFF",
		  picks("203.0.113.9", "1.1.1.1", "203.0.113.9"));
	test_cond("clientip-3.3 proxy without XFF", picks("127.0.0.1", NULL, NULL));
	test_cond("clientip-3.4 v6 proxy without XFF", picks("::1", NULL, NULL));
	test_cond("clientip-3.5 proxy with blank XFF", picks("127.0.0.1", "  ", NULL));
	test_cond("clientip-3.6 one hop", picks("127.0.0.1", "198.51.100.7", "198.51.100.7"));
	test_cond("clientip-3.7 right-most untrusted",
		  picks("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.3", "198.51.100.7"));
	test_cond("clientip-3.8 spoofed left part ignored",
		  picks("127.0.0.1", "1.2.3.4,5.6.7.8", "5.6.7.8"));
	test_cond("clientip-3.9 all trusted: left-most",
		  picks("127.0.0.1", "10.0.0.9, 127.0.0.5", "10.0.0.9"));
	test_cond("clientip-3.10 junk right-most", picks("127.0.0.1", "1.2.3.4, junk", "invalid"));
	test_cond("clientip-3.11 junk left of client",
		  picks("127.0.0.1", "junk, 1.2.3.4", "1.2.3.4"));
	test_cond("clientip-3.12 empty entries", picks("127.0.0.1", ",, 1.2.3.4 ,,", "1.2.3.4"));
	test_cond("clientip-3.13 only commas", picks("127.0.0.1", ",,,", NULL));
	test_cond("clientip-3.14 v6 client", picks("127.0.0.1", "2001:DB8::7", "2001:db8::7"));
	test_cond("clientip-3.15 port form", picks("127.0.0.1", "198.51.100.7:5555", "198.51.100.7"));
	test_cond("clientip-3.16 bad remote", picks("", NULL, "invalid"));
	test_cond("clientip-3.17 NULL remote", picks(NULL, "1.2.3.4", "invalid"));
	test_cond("clientip-3.18 mapped proxy", picks("::ffff:127.0.0.1", NULL, NULL));
	test_cond("clientip-3.19 v6 client direct", picks("2001:db8::1", NULL, "2001:db8::1"));
	test_cond("clientip-3.20 trusted hop between",
		  picks("10.1.1.1", "198.51.100.7, 127.0.0.1", "198.51.100.7"));
	test_cond("clientip-3.21 no trusted list: remote", clientip_pick("127.0.0.1", "1.2.3.4", nets, 0,
		  (char[CLIENTIP_LEN]){0}) == 1);
}

static void
test_bucket(void)
{
	char out[CLIENTIP_LEN];

	clientip_bucket("1.2.3.4", out);
	test_cond("clientip-4.1 v4 bucket", strcmp(out, "1.2.3.4") == 0);
	clientip_bucket("2001:db8:1:2:3:4:5:6", out);
	test_cond("clientip-4.2 v6 /64", strcmp(out, "2001:db8:1:2::/64") == 0);
	clientip_bucket("invalid", out);
	test_cond("clientip-4.3 invalid", strcmp(out, "invalid") == 0);
}

int
main(void)
{
	test_cidrs();
	test_normalize();
	test_pick();
	test_bucket();
	return test_report();
}
