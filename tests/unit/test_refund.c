/*
 * test_refund: the provider's refund call (parse, signed message, check),
 * its answer, and the refund fields of the order object (lib/refund.c),
 * against a signature computed independently.
 */
#include "fs.h"
#include "hmac.h"
#include "paynotify.h"
#include "refund.h"
#include "testhelp.h"

#include <stdio.h>
#include <string.h>

#define KEY "k3y"

static int
parse(const char *body, struct refund_call *q)
{
	const char *why;

	return refund_call_parse(body, strlen(body), q, &why);
}

static void
test_parse(void)
{
	struct refund_call q;

	test_cond("strings", parse("{\"payment_id\":\"12\",\"order_id\":\"9223372036854775807\","
				   "\"amount_cents\":\"999\",\"ts_ms\":\"5\",\"sign\":\"ab\"}", &q) == FS_OK &&
			     q.payment_id == 12 && q.order_id == INT64_MAX && q.amount_cents == 999 &&
			     q.ts_ms == 5 && q.sign_len == 2);
	test_cond("numbers", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":0,"
				   "\"ts_ms\":0,\"sign\":\"\"} \n", &q) == FS_OK && q.amount_cents == 0);
	test_cond("zero id", parse("{\"payment_id\":0,\"order_id\":2,\"amount_cents\":0,"
				   "\"ts_ms\":1,\"sign\":\"\"}", &q) == FS_ERR);
	test_cond("negative amount", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":-1,"
					   "\"ts_ms\":1,\"sign\":\"\"}", &q) == FS_ERR);
	test_cond("no ts", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":1,"
				 "\"sign\":\"\"}", &q) == FS_ERR);
	test_cond("no sign", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":1,"
				   "\"ts_ms\":1}", &q) == FS_ERR);
	test_cond("sign not a string", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":1,"
					     "\"ts_ms\":1,\"sign\":5}", &q) == FS_ERR);
	test_cond("array", parse("[1]", &q) == FS_ERR);
	test_cond("trailing", parse("{\"payment_id\":1,\"order_id\":2,\"amount_cents\":1,"
				    "\"ts_ms\":1,\"sign\":\"\"}x", &q) == FS_ERR);
	test_cond("empty", refund_call_parse("", 0, &q, &(const char *){NULL}) == FS_ERR);
}

static void
test_sign(void)
{
	struct refund_call q, m;
	struct paynotify n;
	char want[2 * HMAC_LEN + 1];
	const char *msg = "77|123456789012345678|999|refund|1700000000000", *s;
	json_object *j;

	memset(&q, 0, sizeof(q));
	q.payment_id = 77;
	q.order_id = 123456789012345678;
	q.amount_cents = 999;
	q.ts_ms = 1700000000000;
	hmac_sha256_hex(KEY, msg, strlen(msg), want);
	refund_call_sign(KEY, &q);
	test_cond("sign is the hmac of p|o|a|refund|t", strcmp(q.sign, want) == 0 && q.sign_len == 64);
	test_cond("verifies", refund_call_verify(KEY, &q) == 1);
	test_cond("other key", refund_call_verify("other", &q) == 0);
	test_cond("empty key", refund_call_verify("", &q) == 0);
	j = refund_call_to_json(&q);
	s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	test_cond("round trip", parse(s, &m) == FS_OK && refund_call_verify(KEY, &m) == 1 &&
				m.order_id == q.order_id && m.ts_ms == q.ts_ms);
	json_object_put(j);
	m = q;
	m.amount_cents = 998;
	test_cond("amount changed", refund_call_verify(KEY, &m) == 0);
	m = q;
	m.sign_len = 63;
	test_cond("short sign", refund_call_verify(KEY, &m) == 0);

	/* a success notify's signature over the same numbers is no refund's,
	 * nor the other way round */
	memset(&n, 0, sizeof(n));
	n.payment_id = q.payment_id;
	n.order_id = q.order_id;
	n.amount_cents = q.amount_cents;
	n.ts_ms = q.ts_ms;
	n.success = 1;
	paynotify_sign(KEY, &n);
	m = q;
	memcpy(m.sign, n.sign, sizeof(m.sign));
	test_cond("notify sign refused", refund_call_verify(KEY, &m) == 0);
	memcpy(n.sign, q.sign, sizeof(n.sign));
	test_cond("refund sign is no notify's", paynotify_verify(KEY, &n) == 0);
}

static void
test_answer(void)
{
	char id[REFUND_ID_MAX + 1], body[200];
	const char *ok = "{\"refund_id\":\"re_0123456789abcdef01234567\"}";

	test_cond("answer", refund_answer_parse(ok, strlen(ok), id) == FS_OK &&
			    strcmp(id, "re_0123456789abcdef01234567") == 0);
	test_cond("no id", refund_answer_parse("{\"ok\":true}", 11, id) == FS_ERR);
	test_cond("empty id", refund_answer_parse("{\"refund_id\":\"\"}", 16, id) == FS_ERR);
	test_cond("number id", refund_answer_parse("{\"refund_id\":5}", 15, id) == FS_ERR);
	test_cond("space in id", refund_answer_parse("{\"refund_id\":\"a b\"}", 19, id) == FS_ERR);
	snprintf(body, sizeof(body), "{\"refund_id\":\"%065d\"}", 0);
	test_cond("65 characters", refund_answer_parse(body, strlen(body), id) == FS_ERR);
	snprintf(body, sizeof(body), "{\"refund_id\":\"%064d\"}", 0);
	test_cond("64 characters", refund_answer_parse(body, strlen(body), id) == FS_OK &&
				     strlen(id) == 64);
	test_cond("not JSON", refund_answer_parse("<html>", 6, id) == FS_ERR);
}

static void
test_status(void)
{
	struct refund_status st;
	json_object *j = json_object_new_object();

	memset(&st, 0, sizeof(st));
	refund_status_json(j, &st);
	test_cond("none adds nothing", json_object_object_length(j) == 0);
	refund_status_add(&st, "re_1");
	test_cond("done", st.state == REFUND_DONE && strcmp(st.id, "re_1") == 0);
	refund_status_add(&st, NULL);
	refund_status_add(&st, "re_2");
	test_cond("pending wins", st.state == REFUND_PENDING && st.id[0] == '\0');
	refund_status_json(j, &st);
	test_cond("pending json", strcmp(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
					 "{\"refund\":\"pending\"}") == 0);
	json_object_put(j);
	j = json_object_new_object();
	memset(&st, 0, sizeof(st));
	refund_status_add(&st, "re_1");
	refund_status_add(&st, "re_2");
	refund_status_json(j, &st);
	test_cond("done json, the last id",
		  strcmp(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
			 "{\"refund\":\"done\",\"refund_id\":\"re_2\"}") == 0);
	json_object_put(j);
}

int
main(void)
{
	test_parse();
	test_sign();
	test_answer();
	test_status();
	return test_report();
}
