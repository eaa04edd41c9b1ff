/*
 * paynotify.h: the payment provider's callback (API.md "Payment"), pure:
 * parsing the JSON body, the signed message and the signature check. No
 * server is touched here, so a fuzzer can drive every function.
 *
 * Body: {"payment_id","order_id","amount_cents","status":"success|fail",
 *        "ts_ms","sign"}; ids, amount and time as decimal strings or JSON
 * integers. sign is lowercase hex HMAC-SHA256 under pay_secret over
 * "payment_id|order_id|amount_cents|status|ts_ms", each number in plain
 * decimal (no sign, no leading zeros).
 */
#ifndef FS_PAYNOTIFY_H
#define FS_PAYNOTIFY_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "hmac.h"

/* a notify body is a handful of short fields; anything larger is not one */
#define PAYNOTIFY_BODY_MAX 4096
/* room for "p|o|a|success|t" with four 19-digit numbers */
#define PAYNOTIFY_MSG_MAX 128

struct paynotify {
	int64_t payment_id;   /* > 0 */
	int64_t order_id;     /* > 0 */
	int64_t amount_cents; /* >= 0 */
	int64_t ts_ms;        /* >= 0 */
	int success;          /* 1 "success", 0 "fail" */
	char sign[2 * HMAC_LEN + 1];
	size_t sign_len;      /* as sent; past 2*HMAC_LEN only the length is kept */
};

/* Parses len bytes of body (need not be NUL-terminated) into n. FS_OK, or
 * FS_ERR for anything that is not exactly one well-formed notify: *why gets
 * a static message for the 400 answer. */
int paynotify_parse(const char *body, size_t len, struct paynotify *n, const char **why);

/* Writes the signed message of n into buf (PAYNOTIFY_MSG_MAX bytes).
 * Returns its length. */
size_t paynotify_message(const struct paynotify *n, char buf[PAYNOTIFY_MSG_MAX]);

/* Fills n->sign from the other fields under key (the sandbox provider). */
void paynotify_sign(const char *key, struct paynotify *n);

/* 1 when n->sign is the signature of n under key, compared in constant
 * time; 0 otherwise (also for an empty key: nothing is trusted then). */
int paynotify_verify(const char *key, const struct paynotify *n);

/* The notify body of n (ids as strings). Caller puts it. */
json_object *paynotify_to_json(const struct paynotify *n);

/* The pieces every signed provider message shares (the refund call,
 * refund.h, is built from them too). */

/* The one flat JSON object of len bytes of body (at most
 * PAYNOTIFY_BODY_MAX, UTF-8, nothing after it but white space); caller
 * puts it. NULL for anything else. */
json_object *paynotify_object(const char *body, size_t len);
/* A whole number field of o: a decimal string or a JSON integer, >= min
 * (0 or 1). FS_OK and *out, or FS_ERR. */
int paynotify_field_num(json_object *o, const char *key, int64_t min, int64_t *out);
/* The string field "sign" of o into sign (NUL not added) and *sign_len:
 * past 2*HMAC_LEN characters only the length is kept (a bad signature, not
 * a bad request). FS_ERR when missing, not a string, or absurdly long. */
int paynotify_sign_take(json_object *o, char sign[2 * HMAC_LEN + 1], size_t *sign_len);
/* 1 when sign (sign_len characters) is the lowercase hex HMAC-SHA256 of
 * msg under key, compared in constant time; 0 otherwise and for an empty
 * key. */
int paynotify_sign_check(const char *key, const char *msg, size_t len, const char *sign,
			 size_t sign_len);

#endif
