/*
 * order-status: GET /api/order-status/{id}, ?activity_id=&item_id=, and the
 * user's order list. Owner only: another user's order is 404, as if it did
 * not exist. Redis first: a queued order exists nowhere else, and while
 * Redis says queued the poll stays cheap. Any other answer comes from MySQL,
 * the truth (one primary-key read): the Redis record of a written order is
 * only a hint, left stale when the Redis write after a pay, cancel or close
 * failed.
 * A paid, closed or cancelled order with a late payment (a success notify
 * after it left unpaid) also carries "refund": "pending", then "done" with
 * the provider's "refund_id" (db_refund.h); other orders read as before.
 */
#include "app.h"
#include "db.h"
#include "db_order.h"
#include "db_refund.h"
#include "kv.h"
#include "kv_sale.h"
#include "log.h"
#include "order.h"
#include "refund.h"
#include "reply.h"
#include "kv_order.h"
#include "queued.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 100

/* Finds order id for the status answer. 1 found, 0 not, FS_ERR down. */
static int
order_find(struct req *r, int64_t id, struct order *o)
{
	int in_kv = queued_get(r->kv, r->db, r->user_id, id, o); /* before MySQL: queued.h */
	int in_db;

	in_db = db_order_load(r->db, id, o);
	if (in_db == 1)
		return 1;
	/* MySQL has not got it yet: queued it is (db_order_load left the
	 * Redis record in *o untouched). A record past queued is answered
	 * only with MySQL's word, never from the possibly stale record */
	if (in_kv == 1 && (o->status == ORDER_QUEUED || in_db == 0))
		return 1;
	/* "no such order" is certain only when both stores said so: a queued
	 * order lives only in Redis, an old one (its record expired) only in
	 * MySQL */
	if (in_kv == FS_ERR || in_db == FS_ERR)
		return FS_ERR;
	return 0;
}

/* 1 for the states an order can have a late payment in: lifecycle.c
 * records a success as late only once the order has left unpaid, so the
 * polls of queued and unpaid orders cost no query more. */
static int
refund_possible(enum order_status s)
{
	return s == ORDER_PAID || s == ORDER_CLOSED || s == ORDER_CANCELLED;
}

/* Answers 200 with order o and its refund, or 503. */
static void
reply_order(struct req *r, const struct order *o)
{
	struct refund_status st;
	json_object *j;

	memset(&st, 0, sizeof(st));
	if (refund_possible(o->status) && db_refund_of_order(r->db, o->id, &st) != FS_OK) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	j = order_to_json(o);
	refund_status_json(j, &st);
	reply_json_put(r, 200, j);
}

/* The answer to a lookup of the caller's order: rc 1 found (o; another
 * user's order is not found), 0 none, FS_ERR a store failed. */
static void
reply_found(struct req *r, int rc, const struct order *o)
{
	if (rc == FS_ERR)
		reply_error(r, FS_E_UNAVAILABLE);
	else if (rc == 0 || o->user_id != r->user_id)
		reply_error(r, FS_E_NOT_FOUND);
	else
		reply_order(r, o);
}

static void
get_one(struct req *r)
{
	struct order o;
	int rc;

	if (req_user_or_reply(r) != FS_OK)
		return;
	rc = order_find(r, r->ids[0], &o);
	reply_found(r, rc, &o);
}

/* The user's order for one item: the buyer slot in Redis names the live
 * order; MySQL has the last one of any state. */
static void
get_by_item(struct req *r, int64_t aid, int64_t iid)
{
	struct order o;
	int64_t oid = 0;
	int rc = 0, kv_ok;

	kv_ok = kv_sale_buyer(r->kv, aid, iid, r->user_id, &oid) != FS_ERR;
	if (oid > 0)
		rc = order_find(r, oid, &o);
	if (rc != 1) {
		rc = db_order_last_of_item(r->db, r->user_id, aid, iid, &o);
		/* with Redis down a queued order may exist that MySQL lacks */
		if (rc == 0 && !kv_ok)
			rc = FS_ERR;
	}
	reply_found(r, rc, &o);
}

static int
cmp_newest(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->created_ms != y->created_ms)
		return x->created_ms > y->created_ms ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id;
}

/* Answers 200 with the n orders of list, each with its refund (one query
 * for all), or 503. */
static void
reply_list(struct req *r, const struct order *list, int n)
{
	struct db_refund_order *refunds = NULL;
	json_object *j, *arr, *o;
	int ask = 0, nref = 0;

	for (int i = 0; i < n; i++)
		ask |= refund_possible(list[i].status);
	if (ask && (nref = db_refund_of_user(r->db, r->user_id, &refunds)) == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	j = json_object_new_object();
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		o = order_to_json(&list[i]);
		for (int k = 0; k < nref; k++)
			if (refunds[k].order_id == list[i].id)
				refund_status_json(o, &refunds[k].st);
		json_object_array_add(arr, o);
	}
	json_object_object_add(j, "orders", arr);
	reply_json(r, 200, j);
	json_object_put(j);
	free(refunds);
}

/* 1 when list[0..n) holds an order with id. */
static int
listed(const struct order *list, int n, int64_t id)
{
	for (int k = 0; k < n; k++)
		if (list[k].id == id)
			return 1;
	return 0;
}

/* MySQL's orders plus the queued ones only Redis knows, newest first. On a
 * Cluster the queued ones are read from the journals first (queued.h): an
 * order leaves them only once MySQL has it. */
static void
get_list(struct req *r)
{
	struct order list[3 * LIST_MAX], queued[LIST_MAX];
	int64_t ids[LIST_MAX];
	int n, nids, from_db, nq = queued_list(r->kv, r->db, r->user_id, queued, LIST_MAX);

	n = db_order_list(r->db, r->user_id, list, LIST_MAX);
	if (n == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	from_db = n;
	for (int i = 0; i < nq; i++)
		if (!listed(list, from_db, queued[i].id))
			list[n++] = queued[i];
	nids = kv_order_ids(r->kv, r->user_id, ids, LIST_MAX);
	for (int i = 0; i < nids && n < 3 * LIST_MAX; i++) {
		if (!listed(list, n, ids[i]) && kv_order_get(r->kv, r->user_id, ids[i], &list[n]) == 1 &&
		    list[n].user_id == r->user_id)
			n++;
	}
	qsort(list, (size_t)n, sizeof(list[0]), cmp_newest);
	if (n > LIST_MAX)
		n = LIST_MAX;
	reply_list(r, list, n);
}

static void
get_mine(struct req *r)
{
	char a[32], i[32];
	int ha, hi;
	int64_t aid, iid;

	if (req_user_or_reply(r) != FS_OK)
		return;
	ha = req_query(r, "activity_id", a, sizeof(a));
	hi = req_query(r, "item_id", i, sizeof(i));
	if (ha == 0 && hi == 0) {
		get_list(r);
		return;
	}
	if (ha != 1 || hi != 1 || fs_parse_id(a, &aid) != FS_OK || fs_parse_id(i, &iid) != FS_OK) {
		reply_error_msg(r, FS_E_BAD_REQUEST,
				"activity_id and item_id must both be positive integers");
		return;
	}
	get_by_item(r, aid, iid);
}

static const struct route routes[] = {
	{"GET", "/api/order-status", get_mine, 0},
	{"GET", "/api/order-status/$", get_one, 0},
};

int
main(void)
{
	static const struct app app = {"order-status", routes, FS_ARRAY_LEN(routes),
				       APP_KV | APP_DB, NULL, NULL, NULL};

	return app_main(&app);
}
