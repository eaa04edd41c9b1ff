/*
 * place_order/cancel.c: POST /api/order/{id}/cancel for r->user_id: owner
 * only (404); an unpaid order is cancelled now (200 with the order); a
 * queued one gets its cancel recorded (kv_lifecycle_cancel_request) and
 * answers 200 at once with the order, still "queued", and
 * "cancel":"pending": the order handler applies it as soon as it writes the
 * order. Never waits for the handler. Anything else 409. The state changes
 * are lifecycle.c's; this file only decides the answer.
 */
#include "place_order.h"
#include "db_order.h"
#include "kv_lifecycle.h"
#include "queued.h"
#include "lifecycle.h"
#include "order.h"
#include "reply.h"

#include <json-c/json.h>

/* The order, which the handler wrote after our first MySQL read, read
 * again into *o: 1, or 0 after the answer. */
static int
written_or_reply(struct req *r, int64_t order_id, struct order *o)
{
	int k = db_order_load(r->db, order_id, o);

	if (k == 0)
		reply_error_msg(r, FS_E_CONFLICT,
				"the order is neither queued nor written; try again in a moment");
	else if (k == FS_ERR)
		reply_error(r, FS_E_UNAVAILABLE);
	return k == 1;
}

/* The cancel of an order MySQL does not have (yet): owner only, queued
 * only; recorded for the handler to apply when it writes the order, and
 * answered at once. Returns 0 when it replied, 1 when the order turned out
 * to be written meanwhile: *o is then MySQL's, for the caller to cancel. */
static int
cancel_queued_or_reply(struct req *r, int64_t order_id, struct order *o)
{
	int k = queued_get(r->kv, r->db, r->user_id, order_id, o);

	if (k == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return 0;
	}
	/* on a Cluster the handler may have written it after our MySQL read
	 * and before the journal read (queued.h): MySQL once more */
	if (k == 0 && db_order_load(r->db, order_id, o) == 1)
		return 1;
	if (k == 0 || o->user_id != r->user_id) {
		reply_error(r, FS_E_NOT_FOUND);
		return 0;
	}
	/* not queued any more: the handler wrote it between our MySQL read
	 * and this one (its record now says so); MySQL decides */
	if (o->status != ORDER_QUEUED)
		return written_or_reply(r, order_id, o);
	k = kv_lifecycle_cancel_request(r->kv, o);
	if (k == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return 0;
	}
	if (k == 1) {
		/* the order, still queued, and the word that its cancel waits */
		json_object *j = order_to_json(o);

		json_object_object_add(j, "cancel", json_object_new_string("pending"));
		reply_json_put(r, 200, j);
		return 0;
	}
	/* out of the journal: the handler has just written it */
	return written_or_reply(r, order_id, o);
}

void
cancel_or_reply(struct req *r, int64_t order_id)
{
	struct order o;
	int rc;

	rc = db_order_load(r->db, order_id, &o);
	if (rc == 0) {
		/* not in MySQL: a queued order lives in Redis only */
		if (!cancel_queued_or_reply(r, order_id, &o))
			return;
		rc = 1;
	}
	if (rc == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	if (o.user_id != r->user_id) {
		reply_error(r, FS_E_NOT_FOUND);
		return;
	}
	if (o.status != ORDER_UNPAID) {
		reply_error_msg(r, FS_E_CONFLICT, "only an unpaid or queued order can be cancelled");
		return;
	}
	switch (lifecycle_release(r->db, r->kv, &o, ORDER_CANCELLED)) {
	case LC_OK:
		reply_json_put(r, 200, order_to_json(&o));
		break;
	case LC_CONFLICT:
		reply_error_msg(r, FS_E_CONFLICT, "the order has just been paid, closed or cancelled");
		break;
	case LC_NOT_FOUND:
		reply_error(r, FS_E_NOT_FOUND);
		break;
	case LC_DOWN:
	default:
		reply_error(r, FS_E_UNAVAILABLE);
		break;
	}
}
