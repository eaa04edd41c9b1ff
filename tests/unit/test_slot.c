/*
 * test_slot.c: Redis Cluster's slot function (known vectors from the cluster
 * specification and redis-cli CLUSTER KEYSLOT) and the redirection parser.
 */
#include "kv_slot.h"
#include "testhelp.h"

#include <string.h>

static unsigned
slot(const char *k)
{
	return kv_slot_of(k, strlen(k));
}

static enum kv_redirect
parse(const char *e, int *s, char *host, size_t cap, int *port)
{
	return kv_slot_redirect_parse(e, strlen(e), s, host, cap, port);
}

int
main(void)
{
	char host[64];
	int s = -1, port = -1;

	/* the specification's check value of CRC16-XMODEM */
	test_cond("crc16 123456789 = 0x31C3", kv_slot_crc16("123456789", 9) == 0x31C3);
	test_cond("slot 123456789 = 12739", slot("123456789") == 12739);
	test_cond("slot foo = 12182", slot("foo") == 12182);
	test_cond("slot empty key = 0", kv_slot_of("", 0) == 0);
	/* hash tags: the first '{' and the next '}' */
	test_cond("tag user1000 shared", slot("{user1000}.following") == slot("{user1000}.followers"));
	test_cond("tag user1000 = slot of user1000", slot("{user1000}.following") == slot("user1000"));
	test_cond("foo{}{bar} = 8363: an empty tag hashes the whole key", slot("foo{}{bar}") == 8363);
	test_cond("foo{}{bar}: whole key",
		  slot("foo{}{bar}") == kv_slot_crc16("foo{}{bar}", 10) % 16384);
	test_cond("foo{{bar}}zap: tag is {bar", slot("foo{{bar}}zap") == slot("{bar") && slot("{bar") == 4015);
	test_cond("foo{bar}{zap}: tag is bar", slot("foo{bar}{zap}") == slot("bar"));
	test_cond("no closing brace: whole key", slot("foo{bar") == kv_slot_crc16("foo{bar", 7) % 16384);
	test_cond("item keys share a slot", slot("fs:{7:9}:stock") == slot("fs:{7:9}:buyers"));
	test_cond("binary-safe length", kv_slot_of("ab\0cd", 5) == kv_slot_crc16("ab\0cd", 5) % 16384);
	/* values redis-cli CLUSTER KEYSLOT gives on Redis 7.0 */
	test_cond("keyslot fs:{1:2}:stock = 3802", slot("fs:{1:2}:stock") == 3802);
	test_cond("keyslot {user1000} = 3443", slot("x{user1000}") == 3443);

	/* redirections */
	test_cond("MOVED parsed",
		  parse("MOVED 3999 127.0.0.1:6381", &s, host, sizeof(host), &port) ==
			  KV_REDIRECT_MOVED && s == 3999 && strcmp(host, "127.0.0.1") == 0 &&
			  port == 6381);
	test_cond("ASK parsed",
		  parse("ASK 12739 127.0.0.1:30002", &s, host, sizeof(host), &port) ==
			  KV_REDIRECT_ASK && s == 12739 && strcmp(host, "127.0.0.1") == 0 &&
			  port == 30002);
	test_cond("IPv6 host: port after the last colon",
		  parse("MOVED 0 ::1:7000", &s, host, sizeof(host), &port) == KV_REDIRECT_MOVED &&
			  s == 0 && strcmp(host, "::1") == 0 && port == 7000);
	test_cond("empty host: the answering node's",
		  parse("MOVED 16383 :7001", &s, host, sizeof(host), &port) == KV_REDIRECT_MOVED &&
			  s == 16383 && host[0] == '\0' && port == 7001);
	test_cond("slot 16384 refused", parse("MOVED 16384 h:1", &s, host, sizeof(host), &port) ==
						KV_REDIRECT_NONE);
	test_cond("port 0 refused", parse("MOVED 1 h:0", &s, host, sizeof(host), &port) ==
					    KV_REDIRECT_NONE);
	test_cond("port 65536 refused", parse("ASK 1 h:65536", &s, host, sizeof(host), &port) ==
						KV_REDIRECT_NONE);
	test_cond("no port refused", parse("MOVED 1 host", &s, host, sizeof(host), &port) ==
					     KV_REDIRECT_NONE);
	test_cond("no address refused", parse("MOVED 1", &s, host, sizeof(host), &port) ==
						KV_REDIRECT_NONE);
	test_cond("negative slot refused", parse("MOVED -1 h:1", &s, host, sizeof(host), &port) ==
						   KV_REDIRECT_NONE);
	test_cond("trailing text refused",
		  parse("MOVED 1 h:1 x", &s, host, sizeof(host), &port) == KV_REDIRECT_NONE);
	test_cond("other errors are no redirection",
		  parse("TRYAGAIN Multiple keys request during rehashing of slot", &s, host,
			sizeof(host), &port) == KV_REDIRECT_NONE &&
			  parse("CLUSTERDOWN The cluster is down", &s, host, sizeof(host), &port) ==
				  KV_REDIRECT_NONE &&
			  parse("MOVEDX 1 h:1", &s, host, sizeof(host), &port) == KV_REDIRECT_NONE);
	test_cond("lowercase is not Redis's", parse("moved 1 h:1", &s, host, sizeof(host), &port) ==
						      KV_REDIRECT_NONE);
	test_cond("host longer than the buffer refused",
		  parse("MOVED 1 abcdefgh:1", &s, host, 4, &port) == KV_REDIRECT_NONE);
	test_cond("not NUL-terminated input",
		  kv_slot_redirect_parse("ASK 5 h:12xyz", 10, &s, host, sizeof(host), &port) ==
				  KV_REDIRECT_ASK &&
			  s == 5 && port == 12);
	return test_report();
}
