/*
 * paynotify.c: the payment provider's callback, parsed and signed (see
 * paynotify.h), and the pieces every signed provider message shares (the
 * refund call of refund.c too). Pure: json-c and HMAC only.
 */
#include "paynotify.h"
#include "fs.h"
#include "hmac.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* deep enough for one flat object; a nested one is refused anyway */
#define NOTIFY_JSON_DEPTH 4
#define SIGN_FIELD_MAX 256

int
paynotify_field_num(json_object *o, const char *key, int64_t min, int64_t *out)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return FS_ERR;
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		/* fs_parse_u63 refuses "0"; the signed text of zero is "0" */
		if (min == 0 && strcmp(s, "0") == 0)
			x = 0;
		else if (fs_parse_u63(s, &x) != FS_OK)
			return FS_ERR;
	} else if (json_object_is_type(v, json_type_int)) {
		x = json_object_get_int64(v);
		/* json-c clamps what does not fit to the limits: refuse those */
		if (x == INT64_MAX || x == INT64_MIN)
			return FS_ERR;
	} else {
		return FS_ERR;
	}
	if (x < min)
		return FS_ERR;
	*out = x;
	return FS_OK;
}

/* Takes the status and the sign of notify object o into n. FS_OK, or
 * FS_ERR with *why. */
static int
status_sign_take(json_object *o, struct paynotify *n, const char **why)
{
	json_object *v;
	const char *s;

	*why = "status must be \"success\" or \"fail\"";
	if (!json_object_object_get_ex(o, "status", &v) || !json_object_is_type(v, json_type_string))
		return FS_ERR;
	s = json_object_get_string(v);
	if (strcmp(s, "success") == 0 && json_object_get_string_len(v) == 7)
		n->success = 1;
	else if (strcmp(s, "fail") == 0 && json_object_get_string_len(v) == 4)
		n->success = 0;
	else
		return FS_ERR;

	*why = "sign must be a string";
	return paynotify_sign_take(o, n->sign, &n->sign_len);
}

int
paynotify_sign_take(json_object *o, char sign[2 * HMAC_LEN + 1], size_t *sign_len)
{
	json_object *v;
	size_t slen;

	if (!json_object_object_get_ex(o, "sign", &v) || !json_object_is_type(v, json_type_string))
		return FS_ERR;
	slen = (size_t)json_object_get_string_len(v);
	if (slen > SIGN_FIELD_MAX)
		return FS_ERR;
	/* a sign of the wrong length is a bad signature (401), not a bad
	 * request: keep its length so the check refuses it */
	*sign_len = slen;
	if (slen <= 2 * HMAC_LEN)
		memcpy(sign, json_object_get_string(v), slen);
	return FS_OK;
}

json_object *
paynotify_object(const char *body, size_t len)
{
	json_tokener *tok;
	json_object *o = NULL;

	if (body == NULL || len == 0 || len > PAYNOTIFY_BODY_MAX || !fs_utf8_valid(body, len))
		return NULL;
	tok = json_tokener_new_ex(NOTIFY_JSON_DEPTH);
	if (tok == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))
		goto bad;
	/* one value and nothing after it but white space */
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		if (strchr(" \t\r\n", body[i]) == NULL)
			goto bad;
	json_tokener_free(tok);
	return o;
bad:
	json_object_put(o);
	json_tokener_free(tok);
	return NULL;
}

int
paynotify_parse(const char *body, size_t len, struct paynotify *n, const char **why)
{
	json_object *o;
	int rc = FS_ERR;

	memset(n, 0, sizeof(*n));
	*why = "the body is not a JSON object";
	o = paynotify_object(body, len);
	if (o == NULL)
		return FS_ERR;
	*why = "payment_id and order_id must be positive integers, amount_cents and ts_ms "
	       "non-negative integers (as decimal strings or numbers)";
	if (paynotify_field_num(o, "payment_id", 1, &n->payment_id) != FS_OK ||
	    paynotify_field_num(o, "order_id", 1, &n->order_id) != FS_OK ||
	    paynotify_field_num(o, "amount_cents", 0, &n->amount_cents) != FS_OK ||
	    paynotify_field_num(o, "ts_ms", 0, &n->ts_ms) != FS_OK)
		goto out;

	if (status_sign_take(o, n, why) != FS_OK)
		goto out;
	rc = FS_OK;
	*why = NULL;
out:
	json_object_put(o);
	return rc;
}

size_t
paynotify_message(const struct paynotify *n, char buf[PAYNOTIFY_MSG_MAX])
{
	int k = snprintf(buf, PAYNOTIFY_MSG_MAX, "%" PRId64 "|%" PRId64 "|%" PRId64 "|%s|%" PRId64,
			 n->payment_id, n->order_id, n->amount_cents,
			 n->success ? "success" : "fail", n->ts_ms);

	return k < 0 ? 0 : (size_t)k;
}

void
paynotify_sign(const char *key, struct paynotify *n)
{
	char msg[PAYNOTIFY_MSG_MAX];
	size_t len = paynotify_message(n, msg);

	hmac_sha256_hex(key, msg, len, n->sign);
	n->sign_len = 2 * HMAC_LEN;
}

int
paynotify_verify(const char *key, const struct paynotify *n)
{
	char msg[PAYNOTIFY_MSG_MAX];

	return paynotify_sign_check(key, msg, paynotify_message(n, msg), n->sign, n->sign_len);
}

int
paynotify_sign_check(const char *key, const char *msg, size_t len, const char *sign,
		     size_t sign_len)
{
	char want[2 * HMAC_LEN + 1];

	if (key == NULL || *key == '\0')
		return 0;
	hmac_sha256_hex(key, msg, len, want);
	/* fs_ct_equal compares the lengths too; a longer sign was not kept */
	return sign_len <= 2 * HMAC_LEN && fs_ct_equal(want, 2 * HMAC_LEN, sign, sign_len);
}

json_object *
paynotify_to_json(const struct paynotify *n)
{
	json_object *j = json_object_new_object();
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, n->payment_id);
	json_object_object_add(j, "payment_id", json_object_new_string(num));
	snprintf(num, sizeof(num), "%" PRId64, n->order_id);
	json_object_object_add(j, "order_id", json_object_new_string(num));
	json_object_object_add(j, "amount_cents", json_object_new_int64(n->amount_cents));
	json_object_object_add(j, "status", json_object_new_string(n->success ? "success" : "fail"));
	json_object_object_add(j, "ts_ms", json_object_new_int64(n->ts_ms));
	json_object_object_add(j, "sign", json_object_new_string_len(
				  n->sign, n->sign_len <= 2 * HMAC_LEN ? (int)n->sign_len : 0));
	return j;
}
