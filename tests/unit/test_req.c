/*
 * test_req: the request layer without a server: path and query parsing,
 * the JSON body and field readers, route matching with its 404/405/400
 * answers, and JWT verification against forged and malformed tokens.
 * Requests are faked with an FCGX_Request whose streams are memory buffers.
 */
#include "app.h"
#include "codec.h"
#include "conf.h"
#include "hmac.h"
#include "jwt.h"
#include "jx.h"
#include "reply.h"
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- a fake FastCGI request ------------------------------------------- */

static unsigned char outbuf[1 << 17];
static FCGX_Stream out_stream, in_stream;
static FCGX_Request fake;
static char *envbuf[16];

static void
out_full(FCGX_Stream *s, int do_close)
{
	(void)do_close;
	/* the tests never write this much: start over rather than overflow */
	s->wrNext = outbuf;
}

static void
in_empty(FCGX_Stream *s)
{
	/* the whole body was in the buffer: the end of the stream */
	s->isClosed = 1;
}

/* Sets up fake with the params (NULL-terminated "K=V" strings) and body. */
static void
fake_new(const char *const *params, const char *body, size_t len)
{
	int n = 0;

	memset(&fake, 0, sizeof(fake));
	memset(&out_stream, 0, sizeof(out_stream));
	memset(&in_stream, 0, sizeof(in_stream));
	out_stream.wrNext = outbuf;
	out_stream.stop = outbuf + sizeof(outbuf);
	out_stream.emptyBuffProc = out_full;
	in_stream.isReader = 1;
	in_stream.fillBuffProc = in_empty;
	in_stream.rdNext = (unsigned char *)(body ? body : "");
	in_stream.stop = in_stream.rdNext + (body ? len : 0);
	for (; params[n] && n < 15; n++)
		envbuf[n] = (char *)params[n];
	envbuf[n] = NULL;
	fake.envp = envbuf;
	fake.out = &out_stream;
	fake.in = &in_stream;
}

/* The answer written so far, NUL-terminated. */
static const char *
fake_out(void)
{
	size_t n = (size_t)(out_stream.wrNext - outbuf);

	if (n >= sizeof(outbuf))
		n = sizeof(outbuf) - 1;
	outbuf[n] = '\0';
	return (const char *)outbuf;
}

/* 1 when the answer has status and, when code is not NULL, that error code. */
static int
answered(int status, const char *code)
{
	char want[64];
	const char *o = fake_out();

	snprintf(want, sizeof(want), "Status: %d ", status);
	if (strncmp(o, want, strlen(want)) != 0)
		return 0;
	if (code == NULL)
		return 1;
	snprintf(want, sizeof(want), "\"error\":\"%s\"", code);
	return strstr(o, want) != NULL;
}

/* --- path and query --------------------------------------------------- */

static void
test_path(void)
{
	struct req r;
	const char *p1[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/api/detail/12/34?x=1&y=2", NULL};
	const char *p2[] = {"REQUEST_URI=//api//a/", NULL};
	const char *p3[] = {"REQUEST_URI=/a/b/c/d/e/f/g/h/i", NULL};
	const char *p4[] = {"REQUEST_URI=/a/b/c/d/e/f/g/h", NULL};
	static char longuri[REQ_PATH_MAX + 40];
	const char *p5[] = {longuri, NULL};

	fake_new(p1, NULL, 0);
	test_cond("req_init ok", req_init(&r, &fake) == FS_OK);
	test_cond("method", strcmp(r.method, "GET") == 0);
	test_cond("path without query", strcmp(r.path, "/api/detail/12/34") == 0);
	test_cond("query", strcmp(r.query, "x=1&y=2") == 0);
	test_cond("4 segments", r.nseg == 4 && strcmp(r.segs[0], "api") == 0 &&
					 strcmp(r.segs[2], "12") == 0 && strcmp(r.segs[3], "34") == 0);
	test_cond("body limit default", r.body_max == REQ_BODY_MAX);
	req_cleanup(&r);

	fake_new(p2, NULL, 0);
	test_cond("no method means GET", req_init(&r, &fake) == FS_OK && strcmp(r.method, "GET") == 0);
	/* empty segments are kept: //api//a/ is not /api/a */
	test_cond("empty segments kept", r.nseg >= 3 && strcmp(r.segs[0], "api") == 0 &&
						 strcmp(r.segs[1], "") == 0);
	req_cleanup(&r);

	fake_new(p3, NULL, 0);
	test_cond("9 segments: 404", req_init(&r, &fake) == FS_ERR && answered(404, "not_found"));
	req_cleanup(&r);
	fake_new(p4, NULL, 0);
	test_cond("8 segments fit", req_init(&r, &fake) == FS_OK && r.nseg == 8);
	req_cleanup(&r);

	strcpy(longuri, "REQUEST_URI=/");
	memset(longuri + 13, 'a', REQ_PATH_MAX + 10);
	longuri[13 + REQ_PATH_MAX + 10] = '\0';
	fake_new(p5, NULL, 0);
	test_cond("long path: 404", req_init(&r, &fake) == FS_ERR && answered(404, "not_found"));
	req_cleanup(&r);
}

static void
test_query(void)
{
	struct req r;
	char buf[16];

	memset(&r, 0, sizeof(r));
	r.query = "a=1&name=J%C3%BCrgen+M&e=&bad=%zz&cut=%4&nul=%00&long=0123456789abcdefXYZ&ab=7&b=x=y";
	test_cond("plain", req_query(&r, "a", buf, sizeof(buf)) == 1 && strcmp(buf, "1") == 0);
	test_cond("percent and plus", req_query(&r, "name", buf, sizeof(buf)) == 1 &&
					      strcmp(buf, "J\xc3\xbcrgen M") == 0);
	test_cond("empty value", req_query(&r, "e", buf, sizeof(buf)) == 1 && buf[0] == '\0');
	test_cond("bad escape", req_query(&r, "bad", buf, sizeof(buf)) == -1);
	test_cond("cut escape", req_query(&r, "cut", buf, sizeof(buf)) == -1);
	test_cond("NUL refused", req_query(&r, "nul", buf, sizeof(buf)) == -1);
	test_cond("too long", req_query(&r, "long", buf, sizeof(buf)) == -1);
	test_cond("absent", req_query(&r, "zz", buf, sizeof(buf)) == 0);
	test_cond("name is not a prefix match", req_query(&r, "n", buf, sizeof(buf)) == 0);
	test_cond("a does not match ab", req_query(&r, "ab", buf, sizeof(buf)) == 1 && strcmp(buf, "7") == 0);
	test_cond("= inside a value", req_query(&r, "b", buf, sizeof(buf)) == 1 && strcmp(buf, "x=y") == 0);
	r.query = "";
	test_cond("no query", req_query(&r, "a", buf, sizeof(buf)) == 0);
	r.query = "a";
	test_cond("key without =", req_query(&r, "a", buf, sizeof(buf)) == 0);
}

/* --- JSON bodies and fields ------------------------------------------- */

/* Runs req_json_or_reply on body with the given Content-Length. */
static int
json_body(const char *body, size_t len, const char *clen, int allow_empty, json_object **o)
{
	static char clbuf[64];
	struct req r;
	const char *params[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/x", clbuf, NULL};
	int rc;

	snprintf(clbuf, sizeof(clbuf), "CONTENT_LENGTH=%s", clen);
	fake_new(params, body, len);
	req_init(&r, &fake);
	rc = req_json_or_reply(&r, allow_empty, o);
	req_cleanup(&r);
	return rc;
}

static int
json_ok(const char *body)
{
	char cl[24];
	json_object *o = NULL;
	int rc;

	snprintf(cl, sizeof(cl), "%zu", strlen(body));
	rc = json_body(body, strlen(body), cl, 0, &o);
	json_object_put(o);
	return rc == FS_OK;
}

static void
test_json_body(void)
{
	static char big[REQ_BODY_MAX + 2], deep[64];
	json_object *o = NULL;

	test_cond("an object", json_ok("{\"a\":1}"));
	test_cond("white space after", json_ok("{\"a\":1} \r\n"));
	test_cond("trailing data", !json_ok("{\"a\":1} {}") && answered(400, "bad_request"));
	test_cond("an array", !json_ok("[1]") && answered(400, "bad_request"));
	test_cond("a number", !json_ok("5") && answered(400, "bad_request"));
	test_cond("null", !json_ok("null"));
	test_cond("cut short", !json_ok("{\"a\":"));
	test_cond("bad escape", !json_ok("{\"a\":\"\\x41\"}"));
	test_cond("bare minus", !json_ok("{\"a\":-}"));
	test_cond("bad UTF-8", !json_ok("{\"a\":\"\xff\"}") && answered(400, "bad_request"));
	test_cond("overlong UTF-8", !json_ok("{\"a\":\"\xc0\xaf\"}"));
	test_cond("raw NUL", json_body("{\"a\":\"\0\"}", 9, "9", 0, &o) == FS_ERR && o == NULL);
	memset(deep, '[', 20);
	strcpy(deep + 20, "]]]]]]]]]]]]]]]]]]]]");
	test_cond("deeper than the limit", !json_ok(deep));
	test_cond("empty refused", json_body("", 0, "0", 0, &o) == FS_ERR && answered(400, "bad_request"));
	test_cond("empty allowed", json_body("", 0, "", 1, &o) == FS_OK && o != NULL &&
					   json_object_object_length(o) == 0);
	json_object_put(o);
	o = NULL;
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[REQ_BODY_MAX] = '}';
	big[REQ_BODY_MAX + 1] = '\0';
	test_cond("64 KiB + 1: 413", json_body(big, REQ_BODY_MAX + 1, "65537", 0, &o) == FS_ERR &&
					  answered(413, "too_large"));
	big[REQ_BODY_MAX - 1] = '}';
	test_cond("64 KiB fits", json_body(big, REQ_BODY_MAX, "65536", 0, &o) == FS_OK);
	json_object_put(o);
	o = NULL;
	test_cond("negative length", json_body("{}", 2, "-1", 0, &o) == FS_ERR && answered(400, NULL));
	test_cond("body shorter than its length",
		  json_body("{}", 2, "10", 0, &o) == FS_ERR && answered(400, "bad_request"));
}

static void
test_fields(void)
{
	json_object *o = json_tokener_parse(
		"{\"i\":5,\"s\":\"5\",\"d\":5.0,\"f\":1.5,\"big\":1e400,\"b20\":12345678901234567890,"
		"\"nb20\":-12345678901234567890,\"neg\":-1,\"zero\":0,\"max\":9007199254740991,"
		"\"over\":9007199254740992,\"t\":true,\"n\":null,\"arr\":[1],\"str\":\"h\\u00e9llo\","
		"\"empty\":\"\",\"i64\":9223372036854775806}");
	const char *s;
	int64_t v;

	test_cond("fields parse", o != NULL);
	if (o == NULL)
		return;
	test_cond("int", jx_int(o, "i", 1, 10, &v) == FS_OK && v == 5);
	test_cond("int below min", jx_int(o, "i", 6, 10, &v) == FS_ERR);
	test_cond("int above max", jx_int(o, "i", 1, 4, &v) == FS_ERR);
	test_cond("int bounds inclusive", jx_int(o, "i", 5, 5, &v) == FS_OK);
	test_cond("string is not an int", jx_int(o, "s", 0, 10, &v) == FS_ERR);
	test_cond("5.0 is not an int", jx_int(o, "d", 0, 10, &v) == FS_ERR);
	test_cond("1.5 is not an int", jx_int(o, "f", 0, 10, &v) == FS_ERR);
	test_cond("1e400 is not an int", jx_int(o, "big", INT64_MIN + 1, INT64_MAX - 1, &v) == FS_ERR);
	test_cond("20 digits are not an int", jx_int(o, "b20", INT64_MIN + 1, INT64_MAX - 1, &v) == FS_ERR);
	test_cond("-20 digits are not an int", jx_int(o, "nb20", INT64_MIN + 1, INT64_MAX - 1, &v) == FS_ERR);
	test_cond("near int64 max", jx_int(o, "i64", 0, INT64_MAX - 1, &v) == FS_OK &&
					   v == INT64_MAX - 1);
	test_cond("bool is not an int", jx_int(o, "t", 0, 10, &v) == FS_ERR);
	test_cond("null is not an int", jx_int(o, "n", 0, 10, &v) == FS_ERR);
	test_cond("array is not an int", jx_int(o, "arr", 0, 10, &v) == FS_ERR);
	test_cond("absent int", jx_int(o, "nope", 0, 10, &v) == FS_ERR);
	test_cond("id", jx_id(o, "i", &v) == FS_OK && v == 5);
	test_cond("id -1", jx_id(o, "neg", &v) == FS_ERR);
	test_cond("id 0", jx_id(o, "zero", &v) == FS_ERR);
	test_cond("id 2^53-1", jx_id(o, "max", &v) == FS_OK && v == 9007199254740991LL);
	test_cond("id 2^53", jx_id(o, "over", &v) == FS_ERR);
	test_cond("id string", jx_id(o, "s", &v) == FS_ERR);
	test_cond("id 5.0", jx_id(o, "d", &v) == FS_ERR);

	test_cond("str", jx_str(o, "str", 10, &s) == FS_OK && strcmp(s, "h\xc3\xa9llo") == 0);
	test_cond("str max is bytes", jx_str(o, "str", 6, &s) == FS_OK);
	test_cond("str over max", jx_str(o, "str", 5, &s) == FS_ERR);
	test_cond("empty str", jx_str(o, "empty", 0, &s) == FS_OK && *s == '\0');
	test_cond("number is not a str", jx_str(o, "i", 10, &s) == FS_ERR);
	test_cond("null is not a str", jx_str(o, "n", 10, &s) == FS_ERR);
	test_cond("absent str", jx_str(o, "nope", 10, &s) == FS_ERR);
	json_object_object_add(o, "raw", json_object_new_string_len("\xff\xfe", 2));
	json_object_object_add(o, "nul", json_object_new_string_len("a\0b", 3));
	json_object_object_add(o, "surr", json_object_new_string("\xed\xa0\x80"));
	test_cond("invalid UTF-8 str", jx_str(o, "raw", 10, &s) == FS_ERR);
	test_cond("NUL inside str", jx_str(o, "nul", 10, &s) == FS_ERR);
	test_cond("surrogate str", jx_str(o, "surr", 10, &s) == FS_ERR);
	test_cond("has null", jx_has(o, "n"));
	test_cond("has not", !jx_has(o, "nope"));
	json_object_put(o);
}

/* --- routes ------------------------------------------------------------ */

static int called;
static int64_t got_ids[4];
static int got_nids;
static size_t got_body_max;

static void
h_list(struct req *r)
{
	called = 1;
	reply_empty(r);
}

static void
h_one(struct req *r)
{
	called = 2;
	got_nids = r->nids;
	memcpy(got_ids, r->ids, sizeof(got_ids));
	reply_empty(r);
}

static void
h_order(struct req *r)
{
	called = 3;
	got_nids = r->nids;
	memcpy(got_ids, r->ids, sizeof(got_ids));
	got_body_max = r->body_max;
	reply_empty(r);
}

static void
h_silent(struct req *r)
{
	(void)r;
	called = 4;
}

static const struct route routes[] = {
	{"GET", "/api/t", h_list, 0},
	{"GET", "/api/t/#/#", h_one, 0},
	{"POST", "/api/t/#/items", h_one, 0},
	{"POST", "/api/o/$/cancel", h_order, 1000},
	{"GET", "/api/silent", h_silent, 0},
};

/* Dispatches METHOD URI; returns which handler ran (0: none). */
static int
dispatch(const char *method, const char *uri)
{
	static char m[32], u[256];
	const char *params[] = {m, u, NULL};
	struct req r;

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	fake_new(params, NULL, 0);
	called = 0;
	got_nids = -1;
	got_body_max = 0;
	if (req_init(&r, &fake) == FS_OK)
		route_dispatch(&r, routes, FS_ARRAY_LEN(routes));
	req_cleanup(&r);
	return called;
}

static void
test_routes(void)
{
	test_cond("literal route", dispatch("GET", "/api/t") == 1 && answered(204, NULL));
	test_cond("query ignored", dispatch("GET", "/api/t?x=/y") == 1);
	test_cond("two ids", dispatch("GET", "/api/t/12/34") == 2 && got_nids == 2 &&
				     got_ids[0] == 12 && got_ids[1] == 34);
	test_cond("id then literal", dispatch("POST", "/api/t/7/items") == 2 && got_ids[0] == 7);
	test_cond("unknown path: 404", dispatch("GET", "/api/nope") == 0 && answered(404, "not_found"));
	test_cond("too few segments: 404", dispatch("GET", "/api/t/12") == 0 && answered(404, "not_found"));
	test_cond("too many segments: 404", dispatch("GET", "/api/t/1/2/3") == 0 && answered(404, "not_found"));
	test_cond("a trailing slash is the same path", dispatch("GET", "/api/t/1/2/") == 2);
	test_cond("prefix is not a match", dispatch("GET", "/api/tt") == 0 && answered(404, "not_found"));
	test_cond("wrong method: 405", dispatch("DELETE", "/api/t") == 0 &&
					       answered(405, "method_not_allowed"));
	test_cond("POST on a GET id route: 405", dispatch("POST", "/api/t/1/2") == 0 &&
							 answered(405, "method_not_allowed"));
	test_cond("id 0: 400", dispatch("GET", "/api/t/0/2") == 0 && answered(400, "bad_request"));
	test_cond("id -1: 400", dispatch("GET", "/api/t/-1/2") == 0 && answered(400, "bad_request"));
	test_cond("id 01: 400", dispatch("GET", "/api/t/01/2") == 0 && answered(400, "bad_request"));
	test_cond("id 1e3: 400", dispatch("GET", "/api/t/1e3/2") == 0 && answered(400, "bad_request"));
	test_cond("id %31: 400", dispatch("GET", "/api/t/%31/2") == 0 && answered(400, "bad_request"));
	test_cond("id 2^53: 400", dispatch("GET", "/api/t/9007199254740992/2") == 0 &&
					  answered(400, "bad_request"));
	test_cond("id 2^53-1 fits", dispatch("GET", "/api/t/9007199254740991/2") == 2 &&
					    got_ids[0] == 9007199254740991LL);
	test_cond("order id 63 bits", dispatch("POST", "/api/o/9223372036854775807/cancel") == 3 &&
					      got_ids[0] == INT64_MAX);
	test_cond("route body limit", got_body_max == 1000);
	test_cond("order id 2^63: 400", dispatch("POST", "/api/o/9223372036854775808/cancel") == 0 &&
						answered(400, "bad_request"));
	test_cond("order id 20 digits: 400",
		  dispatch("POST", "/api/o/12345678901234567890/cancel") == 0 && answered(400, "bad_request"));
	test_cond("a handler that forgets to answer: 500",
		  dispatch("GET", "/api/silent") == 4 && answered(500, "internal"));
	test_cond("answers are JSON", dispatch("GET", "/api/nope") == 0 &&
					      strstr(fake_out(), "Content-Type: application/json\r\n") != NULL);
}

/* --- JWT ---------------------------------------------------------------- */

#define KEY "unit-test-secret"
#define NOW 1800000000LL

/* A token of header and payload (JSON text) signed with key. */
static void
token_make(const char *header, const char *payload, const char *key, char out[JWT_MAX])
{
	unsigned char mac[HMAC_LEN];
	size_t n;

	n = codec_b64url_encode((const unsigned char *)header, strlen(header), out);
	out[n++] = '.';
	n += codec_b64url_encode((const unsigned char *)payload, strlen(payload), out + n);
	hmac_sha256(key, strlen(key), out, n, mac);
	out[n++] = '.';
	codec_b64url_encode(mac, HMAC_LEN, out + n);
}

static int
verify(const char *tok, int64_t *sub)
{
	return jwt_verify(KEY, tok, strlen(tok), NOW, sub);
}

static void
test_jwt(void)
{
	static const char hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char tok[JWT_MAX], t2[JWT_MAX + 16];
	int64_t sub = 0;
	size_t n;

	test_cond("sign", jwt_sign(KEY, 42, NOW + 60, tok) == FS_OK);
	test_cond("round trip", verify(tok, &sub) == FS_OK && sub == 42);
	test_cond("other key", jwt_verify("other", tok, strlen(tok), NOW, &sub) == FS_ERR);
	test_cond("empty key", jwt_verify("", tok, strlen(tok), NOW, &sub) == FS_ERR);
	test_cond("expired", jwt_verify(KEY, tok, strlen(tok), NOW + 61, &sub) == FS_ERR);
	test_cond("exp is exclusive", jwt_verify(KEY, tok, strlen(tok), NOW + 60, &sub) == FS_ERR);
	test_cond("len 0", jwt_verify(KEY, tok, 0, NOW, &sub) == FS_ERR);

	/* a flipped signature character */
	strcpy(t2, tok);
	n = strlen(t2);
	t2[n - 2] = t2[n - 2] == 'A' ? 'B' : 'A';
	test_cond("forged signature", verify(t2, &sub) == FS_ERR);
	/* the signature of another payload */
	token_make(hs256, "{\"sub\":\"1\",\"exp\":1900000000}", "wrong key", t2);
	test_cond("signed with another key", verify(t2, &sub) == FS_ERR);
	/* a payload changed after signing */
	{
		char a[JWT_MAX], b[JWT_MAX];
		const char *d1, *d2;

		token_make(hs256, "{\"sub\":\"1\",\"exp\":1900000000}", KEY, a);
		token_make(hs256, "{\"sub\":\"2\",\"exp\":1900000000}", KEY, b);
		d1 = strrchr(a, '.');
		d2 = strrchr(b, '.');
		snprintf(t2, sizeof(t2), "%.*s%s", (int)(d2 - b), b, d1);
		test_cond("payload swapped under a signature", verify(t2, &sub) == FS_ERR);
	}

	token_make(hs256, "{\"sub\":\"7\",\"exp\":1900000000}", KEY, tok);
	test_cond("crafted valid", verify(tok, &sub) == FS_OK && sub == 7);
	token_make(hs256, "{\"sub\":8,\"exp\":1900000000}", KEY, tok);
	test_cond("numeric sub", verify(tok, &sub) == FS_OK && sub == 8);
	token_make(hs256, "{\"sub\":\"7\",\"exp\":1900000000.5}", KEY, tok);
	test_cond("fractional exp", verify(tok, &sub) == FS_OK);
	token_make("{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"sub\":\"7\",\"exp\":1900000000}", KEY, tok);
	test_cond("alg none", verify(tok, &sub) == FS_ERR);
	/* alg none in its usual form: no signature at all */
	*strrchr(tok, '.') = '\0';
	strcat(tok, ".");
	test_cond("alg none unsigned", verify(tok, &sub) == FS_ERR);
	token_make("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", "{\"sub\":\"7\",\"exp\":1900000000}", KEY, tok);
	test_cond("alg HS512", verify(tok, &sub) == FS_ERR);
	token_make("{\"alg\":\"hs256\"}", "{\"sub\":\"7\",\"exp\":1900000000}", KEY, tok);
	test_cond("alg in lower case", verify(tok, &sub) == FS_ERR);
	token_make("{\"typ\":\"JWT\"}", "{\"sub\":\"7\",\"exp\":1900000000}", KEY, tok);
	test_cond("no alg", verify(tok, &sub) == FS_ERR);
	token_make("{\"alg\":[\"HS256\"]}", "{\"sub\":\"7\",\"exp\":1900000000}", KEY, tok);
	test_cond("alg not a string", verify(tok, &sub) == FS_ERR);
	token_make("[]", "{\"sub\":\"7\",\"exp\":1900000000}", KEY, tok);
	test_cond("header not an object", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"sub\":\"7\"}", KEY, tok);
	test_cond("missing exp", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"sub\":\"7\",\"exp\":\"1900000000\"}", KEY, tok);
	test_cond("exp as a string", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"sub\":\"7\",\"exp\":null}", KEY, tok);
	test_cond("exp null", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"sub\":\"abc\",\"exp\":1900000000}", KEY, tok);
	test_cond("non-numeric sub", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"sub\":\"0\",\"exp\":1900000000}", KEY, tok);
	test_cond("sub 0", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"sub\":-5,\"exp\":1900000000}", KEY, tok);
	test_cond("negative sub", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"sub\":\"7 \",\"exp\":1900000000}", KEY, tok);
	test_cond("sub with a space", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"sub\":7.5,\"exp\":1900000000}", KEY, tok);
	test_cond("fractional sub", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"sub\":\"9007199254740992\",\"exp\":1900000000}", KEY, tok);
	test_cond("sub past 2^53", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"exp\":1900000000}", KEY, tok);
	test_cond("missing sub", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "not json", KEY, tok);
	test_cond("payload not JSON", verify(tok, &sub) == FS_ERR);
	token_make(hs256, "{\"sub\":\"7\",\"exp\":1900000000} x", KEY, tok);
	test_cond("payload with trailing data", verify(tok, &sub) == FS_ERR);

	test_cond("header only", verify("eyJhbGciOiJIUzI1NiJ9", &sub) == FS_ERR);
	test_cond("two parts", verify("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", &sub) == FS_ERR);
	test_cond("empty", verify("", &sub) == FS_ERR);
	test_cond("dots only", verify("..", &sub) == FS_ERR);
	jwt_sign(KEY, 42, NOW + 60, tok);
	snprintf(t2, sizeof(t2), "%s.", tok);
	test_cond("extra dot at the end", verify(t2, &sub) == FS_ERR);
	snprintf(t2, sizeof(t2), "%s.%s", tok, strrchr(tok, '.') + 1);
	test_cond("four parts", verify(t2, &sub) == FS_ERR);
	snprintf(t2, sizeof(t2), "%s=", tok);
	test_cond("padding on the signature", verify(t2, &sub) == FS_ERR);
	snprintf(t2, sizeof(t2), "%s ", tok);
	test_cond("trailing space", verify(t2, &sub) == FS_ERR);
	memset(t2, 'a', JWT_MAX + 8);
	t2[JWT_MAX + 8] = '\0';
	t2[10] = '.';
	t2[20] = '.';
	test_cond("longer than JWT_MAX", verify(t2, &sub) == FS_ERR);
}

int
main(void)
{
	test_path();
	test_query();
	test_json_body();
	test_fields();
	test_routes();
	test_jwt();
	return test_report();
}
