/*
 * test_paynotify: the payment notify's parser, signed message and signature
 * check (lib/paynotify.c), against a signature computed independently.
 */
#include "fs.h"
#include "hmac.h"
#include "paynotify.h"
#include "testhelp.h"

#include <string.h>

#define KEY "k3y"

static int
parse(const char *body, struct paynotify *n)
{
	const char *why;

	return paynotify_parse(body, strlen(body), n, &why);
}

static void
test_parse(void)
{
	struct paynotify n;

	test_cond("strings", parse("{\"payment_id\":\"12\",\"order_id\":\"9223372036854775807\","
				   "\"amount_cents\":\"999\",\"status\":\"success\",\"ts_ms\":\"5\","
				   "\"sign\":\"ab\"}", &n) == FS_OK &&
			     n.payment_id == 12 && n.order_id == INT64_MAX && n.amount_cents == 999 &&
			     n.success == 1 && n.ts_ms == 5 && n.sign_len == 2);
	test_cond("numbers", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":0,"
				   "\"status\":\"fail\",\"ts_ms\":0,\"sign\":\"\"} \n", &n) == FS_OK &&
			     n.amount_cents == 0 && n.success == 0);
	test_cond("amount \"0\"", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":\"0\","
					"\"status\":\"fail\",\"ts_ms\":1,\"sign\":\"\"}", &n) == FS_OK);
	test_cond("leading zero", parse("{\"payment_id\":\"01\",\"order_id\":2,\"amount_cents\":0,"
					"\"status\":\"fail\",\"ts_ms\":1,\"sign\":\"\"}", &n) == FS_ERR);
	test_cond("zero id", parse("{\"payment_id\":0,\"order_id\":2,\"amount_cents\":0,"
				   "\"status\":\"fail\",\"ts_ms\":1,\"sign\":\"\"}", &n) == FS_ERR);
	test_cond("negative amount", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":-1,"
					   "\"status\":\"fail\",\"ts_ms\":1,\"sign\":\"\"}", &n) == FS_ERR);
	test_cond("float", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":1.5,"
				 "\"status\":\"fail\",\"ts_ms\":1,\"sign\":\"\"}", &n) == FS_ERR);
	test_cond("huge", parse("{\"payment_id\":1,\"order_id\":99999999999999999999,"
				"\"amount_cents\":1,\"status\":\"fail\",\"ts_ms\":1,\"sign\":\"\"}",
				&n) == FS_ERR);
	test_cond("bad status", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":1,"
				      "\"status\":\"ok\",\"ts_ms\":1,\"sign\":\"\"}", &n) == FS_ERR);
	test_cond("status with NUL", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":1,"
					   "\"status\":\"fail\\u0000x\",\"ts_ms\":1,\"sign\":\"\"}",
					   &n) == FS_ERR);
	test_cond("no sign", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":1,"
				   "\"status\":\"fail\",\"ts_ms\":1}", &n) == FS_ERR);
	test_cond("array", parse("[1]", &n) == FS_ERR);
	test_cond("trailing", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":1,"
				    "\"status\":\"fail\",\"ts_ms\":1,\"sign\":\"\"}x", &n) == FS_ERR);
	test_cond("truncated", parse("{\"payment_id\":1", &n) == FS_ERR);
	test_cond("empty", paynotify_parse("", 0, &n, &(const char *){NULL}) == FS_ERR);
	test_cond("not UTF-8", parse("{\"payment_id\":1,\"x\":\"\xff\"}", &n) == FS_ERR);
}

static void
test_sign(void)
{
	struct paynotify n, m;
	char msg[PAYNOTIFY_MSG_MAX], want[2 * HMAC_LEN + 1], body[512];
	const char *s;
	json_object *j;

	memset(&n, 0, sizeof(n));
	n.payment_id = 77;
	n.order_id = 123456789012345678;
	n.amount_cents = 999;
	n.success = 1;
	n.ts_ms = 1700000000000;
	test_cond("message", paynotify_message(&n, msg) == strlen("77|123456789012345678|999|success|1700000000000") &&
			     strcmp(msg, "77|123456789012345678|999|success|1700000000000") == 0);
	hmac_sha256_hex(KEY, msg, strlen(msg), want);
	paynotify_sign(KEY, &n);
	test_cond("sign is the hmac", strcmp(n.sign, want) == 0 && n.sign_len == 64);
	test_cond("verifies", paynotify_verify(KEY, &n) == 1);
	test_cond("other key", paynotify_verify("other", &n) == 0);
	test_cond("empty key", paynotify_verify("", &n) == 0);

	j = paynotify_to_json(&n);
	s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	test_cond("round trip", parse(s, &m) == FS_OK && paynotify_verify(KEY, &m) == 1 &&
				m.order_id == n.order_id);
	json_object_put(j);

	m = n;
	m.amount_cents = 998;
	test_cond("amount changed", paynotify_verify(KEY, &m) == 0);
	m = n;
	m.success = 0;
	test_cond("status changed", paynotify_verify(KEY, &m) == 0);
	m = n;
	m.sign[0] = m.sign[0] == 'a' ? 'b' : 'a';
	test_cond("one digit changed", paynotify_verify(KEY, &m) == 0);
	m = n;
	m.sign_len = 63;
	test_cond("short sign", paynotify_verify(KEY, &m) == 0);
	m = n;
	m.sign_len = 65;
	test_cond("long sign", paynotify_verify(KEY, &m) == 0);
	for (int i = 0; i < 64; i++)
		want[i] = (char)(want[i] >= 'a' ? want[i] - 32 : want[i]);
	snprintf(body, sizeof(body), "{\"payment_id\":77,\"order_id\":\"123456789012345678\","
		 "\"amount_cents\":999,\"status\":\"success\",\"ts_ms\":1700000000000,\"sign\":\"%s\"}",
		 want);
	test_cond("upper-case hex is not the sign", parse(body, &m) == FS_OK &&
						    paynotify_verify(KEY, &m) == 0);
	memset(body, 'a', sizeof(body));
	snprintf(body, sizeof(body), "{\"payment_id\":77,\"order_id\":1,\"amount_cents\":999,"
		 "\"status\":\"success\",\"ts_ms\":1,\"sign\":\"%0300d\"}", 0);
	test_cond("overlong sign refused", parse(body, &m) == FS_ERR);
}

int
main(void)
{
	test_parse();
	test_sign();
	return test_report();
}
