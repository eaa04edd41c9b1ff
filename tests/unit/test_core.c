/*
 * test_core: ids, UTF-8, hmac/base64url, snowflake and the order line codec.
 */
#include "fs.h"
#include "codec.h"
#include "hmac.h"
#include "order.h"
#include "snowflake.h"
#include "testhelp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static void
test_ids(void)
{
	int64_t v;

	test_cond("1 is an id", fs_parse_id("1", &v) == FS_OK && v == 1);
	test_cond("0 is not", fs_parse_id("0", &v) == FS_ERR);
	test_cond("-1 is not", fs_parse_id("-1", &v) == FS_ERR);
	test_cond("leading zero is not", fs_parse_id("01", &v) == FS_ERR);
	test_cond("empty is not", fs_parse_id("", &v) == FS_ERR);
	test_cond("NULL is not", fs_parse_id(NULL, &v) == FS_ERR);
	test_cond("trailing junk", fs_parse_id("12a", &v) == FS_ERR);
	test_cond("2^53-1 fits", fs_parse_id("9007199254740991", &v) == FS_OK);
	test_cond("2^53 does not", fs_parse_id("9007199254740992", &v) == FS_ERR);
	test_cond("20 digits do not", fs_parse_u63("12345678901234567890", &v) == FS_ERR);
	test_cond("int64 max fits u63", fs_parse_u63("9223372036854775807", &v) == FS_OK &&
					    v == INT64_MAX);
	test_cond("int64 max+1 not", fs_parse_u63("9223372036854775808", &v) == FS_ERR);
	test_cond("SQL text not", fs_parse_id("1 OR 1=1", &v) == FS_ERR);
}

static void
test_utf8(void)
{
	test_cond("ascii", fs_utf8_valid("hello", 5));
	test_cond("2-byte", fs_utf8_valid("\xc3\xa9", 2));
	test_cond("4-byte", fs_utf8_valid("\xf0\x9f\x98\x80", 4));
	test_cond("lone continuation", !fs_utf8_valid("\x80", 1));
	test_cond("overlong", !fs_utf8_valid("\xc0\xaf", 2));
	test_cond("surrogate", !fs_utf8_valid("\xed\xa0\x80", 3));
	test_cond("truncated", !fs_utf8_valid("\xe2\x82", 2));
	test_cond("NUL", !fs_utf8_valid("a\0b", 3));
	test_cond("past U+10FFFF", !fs_utf8_valid("\xf4\x90\x80\x80", 4));
}

/* hmac.c keeps a keyed context per key: more keys than it keeps, in turns,
 * a key longer than a block and keys that share a prefix must each give
 * the MAC of their own key (RFC 4231 cases 2 and 6, and the one-shot). */
static void
test_hmac_keys(void)
{
	static const char c6msg[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	char c6key[132], hex[65], want[8][65], key[8][12];
	unsigned char one[HMAC_LEN];
	unsigned int onelen = HMAC_LEN;
	int ok = 1;

	memset(c6key, 0xaa, 131);
	c6key[131] = '\0';
	for (int k = 0; k < 8; k++) {
		snprintf(key[k], sizeof(key[k]), "key%.*s", k, "xxxxxxx");
		HMAC(EVP_sha256(), key[k], (int)strlen(key[k]), (const unsigned char *)"m", 1, one, &onelen);
		codec_hex_encode(one, HMAC_LEN, want[k]);
	}
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < 8; k++) {
			hmac_sha256_hex(key[k], "m", 1, hex);
			ok &= strcmp(hex, want[k]) == 0;
		}
		hmac_sha256_hex(c6key, c6msg, sizeof(c6msg) - 1, hex);
		ok &= strcmp(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54") == 0;
		hmac_sha256_hex("Jefe", "what do ya want for nothing?", 28, hex);
		ok &= strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0;
	}
	test_cond("hmac: each of many keys, in turns, MACs with its own key", ok);
}

static void
test_codecs(void)
{
	char hex[65], enc[64];
	unsigned char dec[64];
	long n;

	/* RFC 4231 test case 2 */
	hmac_sha256_hex("Jefe", "what do ya want for nothing?", 28, hex);
	test_cond("hmac rfc4231", strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
	test_hmac_keys();
	test_cond("fs_ct_equal same", fs_ct_equal("abc", 3, "abc", 3));
	test_cond("fs_ct_equal differs", !fs_ct_equal("abc", 3, "abd", 3));
	test_cond("fs_ct_equal length", !fs_ct_equal("abc", 3, "abcd", 4));
	codec_b64url_encode((const unsigned char *)"\xfb\xff", 2, enc);
	test_cond("b64url alphabet", strcmp(enc, "-_8") == 0);
	n = codec_b64url_decode("-_8", 3, dec);
	test_cond("b64url round trip", n == 2 && dec[0] == 0xfb && dec[1] == 0xff);
	test_cond("b64url bad char", codec_b64url_decode("ab+d", 4, dec) == -1);
	test_cond("b64url bad length", codec_b64url_decode("abcde", 5, dec) == -1);
	test_cond("b64url stray bits", codec_b64url_decode("-_9", 3, dec) == -1);
}

static void
test_snowflake(void)
{
	struct snowflake a, b;
	int64_t id, prev = 0, ida, idb;
	int ok = 1;

	snowflake_init(&a, 7);
	snowflake_init(&b, 8);
	for (int i = 0; i < 4096; i++) {
		if (snowflake_next_at(&a, 1800000000000LL, &id) != FS_OK || id <= prev)
			ok = 0;
		prev = id;
	}
	test_cond("4096 ids in one ms, growing", ok);
	test_cond("the 4097th waits", snowflake_next_at(&a, 1800000000000LL, &id) == FS_ERR);
	test_cond("next ms goes on", snowflake_next_at(&a, 1800000000001LL, &id) == FS_OK && id > prev);
	test_cond("clock back refused", snowflake_next_at(&a, 1799999999999LL, &id) == FS_ERR);
	test_cond("time decodes", snowflake_time_ms(id) == 1800000000001LL);
	test_cond("worker decodes", snowflake_worker(id) == 7);
	snowflake_next_at(&a, 1800000000005LL, &ida);
	snowflake_next_at(&b, 1800000000005LL, &idb);
	test_cond("two workers same ms differ", ida != idb);
	snowflake_init(&b, 9);
	test_cond("positive", ida > 0 && snowflake_next(&b) > 0);
}

static void
test_order_line(void)
{
	struct order o = {123456789012345LL, 42, 7, 9, 2, 1998, 1800000000000LL, 0, ORDER_QUEUED}, p;
	char line[ORDER_LINE_MAX];
	size_t n = order_encode(&o, line);

	test_cond("order round trip", order_decode(line, n, &p) == FS_OK && p.id == o.id &&
		  p.user_id == 42 && p.activity_id == 7 && p.item_id == 9 && p.quantity == 2 &&
		  p.amount_cents == 1998 && p.created_ms == o.created_ms);
	test_cond("order short", order_decode("1 2 3", 5, &p) == FS_ERR);
	test_cond("order junk", order_decode("1 2 3 4 5 6 x", 13, &p) == FS_ERR);
	test_cond("order extra", order_decode("1 2 3 4 5 6 7 8", 15, &p) == FS_ERR);
	test_cond("order empty field", order_decode("1  3 4 5 6 7", 12, &p) == FS_ERR);
	test_cond("order NUL inside", order_decode("1 1 1 1 1 1 1\0junk", 18, &p) == FS_ERR);
}

int
main(void)
{
	test_ids();
	test_utf8();
	test_codecs();
	test_snowflake();
	test_order_line();
	return test_report();
}
