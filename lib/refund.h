/*
 * refund.h: the refund of a late payment (API.md "Guard rails",
 * docs/GUARD-REFUND.md), pure: the provider's signed refund call, its
 * answer, and the refund fields of the order-status object. No server is
 * touched here, so unit tests and fuzzers can drive every function.
 *
 * The call: POST {"payment_id","order_id","amount_cents","ts_ms","sign"};
 * ids, amount and time as decimal strings or JSON integers. sign is
 * lowercase hex HMAC-SHA256 under pay_secret over
 * "payment_id|order_id|amount_cents|refund|ts_ms": the notify's message
 * with "refund" where the notify has its status, so neither signature can
 * pass for the other. The answer: {"refund_id":"..."}, the same id for
 * every call about one payment (the provider's idempotency makes a retry
 * safe).
 */
#ifndef FS_REFUND_H
#define FS_REFUND_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "hmac.h"

/* longest refund_id kept (the column is VARCHAR(64)) */
#define REFUND_ID_MAX 64
/* an answer of the provider longer than this is not one */
#define REFUND_ANSWER_MAX 4096

struct refund_call {
	int64_t payment_id;   /* > 0 */
	int64_t order_id;     /* > 0 */
	int64_t amount_cents; /* >= 0 */
	int64_t ts_ms;        /* >= 0 */
	char sign[2 * HMAC_LEN + 1];
	size_t sign_len;      /* as sent; past 2*HMAC_LEN only the length is kept */
};

/* What the order-status object says about an order's refunds. */
enum refund_state {
	REFUND_NONE,    /* no late payment: no field at all */
	REFUND_PENDING, /* a late payment not refunded yet */
	REFUND_DONE,    /* every late payment refunded; id the last one's */
};

struct refund_status {
	enum refund_state state;
	char id[REFUND_ID_MAX + 1]; /* the provider's refund_id when REFUND_DONE */
};

/* Parses len bytes of body (need not be NUL-terminated) into q. FS_OK, or
 * FS_ERR for anything that is not exactly one well-formed call: *why gets
 * a static message for the 400 answer. */
int refund_call_parse(const char *body, size_t len, struct refund_call *q, const char **why);

/* Fills q->sign from the other fields under key (the refund job). */
void refund_call_sign(const char *key, struct refund_call *q);

/* 1 when q->sign is the signature of q under key (constant time); 0
 * otherwise, also for an empty key. */
int refund_call_verify(const char *key, const struct refund_call *q);

/* The call's body (ids as strings). Caller puts it. */
json_object *refund_call_to_json(const struct refund_call *q);

/* Takes the provider's answer (len bytes): FS_OK and id (1 to
 * REFUND_ID_MAX printable ASCII characters, NUL-terminated), or FS_ERR. */
int refund_answer_parse(const char *body, size_t len, char id[REFUND_ID_MAX + 1]);

/* Folds one late payment into st (start from {REFUND_NONE}): refund_id its
 * provider's id, NULL while pending. Pending wins over done. */
void refund_status_add(struct refund_status *st, const char *refund_id);

/* Adds "refund" (and "refund_id" when done) to the order object j; nothing
 * for REFUND_NONE, so an order without a late payment reads as before. */
void refund_status_json(json_object *j, const struct refund_status *st);

#endif
