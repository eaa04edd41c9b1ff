/*
 * refund.c: the provider's signed refund call, its answer, and the refund
 * fields of the order-status object (see refund.h). Pure: json-c and HMAC
 * only; the object and field readers are paynotify.c's, shared with the
 * notify.
 */
#include "refund.h"
#include "fs.h"
#include "paynotify.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* "p|o|a|refund|t": four 19-digit numbers fit */
#define REFUND_MSG_MAX PAYNOTIFY_MSG_MAX

int
refund_call_parse(const char *body, size_t len, struct refund_call *q, const char **why)
{
	json_object *o;
	int rc = FS_ERR;

	memset(q, 0, sizeof(*q));
	*why = "the body is not a JSON object";
	o = paynotify_object(body, len);
	if (o == NULL)
		return FS_ERR;
	*why = "payment_id and order_id must be positive integers, amount_cents and ts_ms "
	       "non-negative integers (as decimal strings or numbers)";
	if (paynotify_field_num(o, "payment_id", 1, &q->payment_id) != FS_OK ||
	    paynotify_field_num(o, "order_id", 1, &q->order_id) != FS_OK ||
	    paynotify_field_num(o, "amount_cents", 0, &q->amount_cents) != FS_OK ||
	    paynotify_field_num(o, "ts_ms", 0, &q->ts_ms) != FS_OK)
		goto out;
	*why = "sign must be a string";
	if (paynotify_sign_take(o, q->sign, &q->sign_len) != FS_OK)
		goto out;
	rc = FS_OK;
	*why = NULL;
out:
	json_object_put(o);
	return rc;
}

/* The signed message of q into buf; returns its length. */
static size_t
call_message(const struct refund_call *q, char buf[REFUND_MSG_MAX])
{
	int k = snprintf(buf, REFUND_MSG_MAX, "%" PRId64 "|%" PRId64 "|%" PRId64 "|refund|%" PRId64,
			 q->payment_id, q->order_id, q->amount_cents, q->ts_ms);

	return k < 0 ? 0 : (size_t)k;
}

void
refund_call_sign(const char *key, struct refund_call *q)
{
	char msg[REFUND_MSG_MAX];
	size_t len = call_message(q, msg);

	hmac_sha256_hex(key, msg, len, q->sign);
	q->sign_len = 2 * HMAC_LEN;
}

int
refund_call_verify(const char *key, const struct refund_call *q)
{
	char msg[REFUND_MSG_MAX];

	return paynotify_sign_check(key, msg, call_message(q, msg), q->sign, q->sign_len);
}

json_object *
refund_call_to_json(const struct refund_call *q)
{
	json_object *j = json_object_new_object();
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, q->payment_id);
	json_object_object_add(j, "payment_id", json_object_new_string(num));
	snprintf(num, sizeof(num), "%" PRId64, q->order_id);
	json_object_object_add(j, "order_id", json_object_new_string(num));
	json_object_object_add(j, "amount_cents", json_object_new_int64(q->amount_cents));
	json_object_object_add(j, "ts_ms", json_object_new_int64(q->ts_ms));
	json_object_object_add(j, "sign", json_object_new_string_len(
				  q->sign, q->sign_len <= 2 * HMAC_LEN ? (int)q->sign_len : 0));
	return j;
}

int
refund_answer_parse(const char *body, size_t len, char id[REFUND_ID_MAX + 1])
{
	json_object *o, *v;
	const char *s;
	size_t n;
	int rc = FS_ERR;

	o = paynotify_object(body, len);
	if (o == NULL)
		return FS_ERR;
	if (!json_object_object_get_ex(o, "refund_id", &v) || !json_object_is_type(v, json_type_string))
		goto out;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n > REFUND_ID_MAX)
		goto out;
	/* the id goes into our answers and logs: printable ASCII only */
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			goto out;
	memcpy(id, s, n);
	id[n] = '\0';
	rc = FS_OK;
out:
	json_object_put(o);
	return rc;
}

void
refund_status_add(struct refund_status *st, const char *refund_id)
{
	if (refund_id == NULL) {
		st->state = REFUND_PENDING;
		st->id[0] = '\0';
	} else if (st->state != REFUND_PENDING) {
		st->state = REFUND_DONE;
		snprintf(st->id, sizeof(st->id), "%s", refund_id);
	}
}

void
refund_status_json(json_object *j, const struct refund_status *st)
{
	if (st->state == REFUND_NONE)
		return;
	json_object_object_add(j, "refund", json_object_new_string(
				       st->state == REFUND_DONE ? "done" : "pending"));
	if (st->state == REFUND_DONE)
		json_object_object_add(j, "refund_id", json_object_new_string(st->id));
}
