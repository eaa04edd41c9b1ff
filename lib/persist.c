/*
 * persist.c: reserved orders into MySQL (see persist.h): the transactions;
 * their statements are db_order.c's and db_sale.c's.
 */
#include "persist.h"
#include "db.h"
#include "db_order.h"
#include "db_sale.h"
#include "fs.h"
#include "kv.h"
#include "lifecycle.h"
#include "log.h"
#include "pub.h"
#include "kv_sale.h"
#include "kv_order.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_item(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->activity_id != y->activity_id)
		return x->activity_id < y->activity_id ? -1 : 1;
	if (x->item_id != y->item_id)
		return x->item_id < y->item_id ? -1 : 1;
	return 0;
}

/* The whole batch in one transaction. FS_OK committed; FS_ERR rolled back
 * (*surprise set when MySQL refused a row rather than failed). */
static int
persist_fast(struct db *d, struct order *orders, int n, int64_t now, int *surprise)
{
	*surprise = 0;
	if (db_begin(d) != FS_OK)
		return FS_ERR;
	/* sorted by item, so every handler locks activity_items rows in the
	 * same order and two handlers can never deadlock each other */
	qsort(orders, (size_t)n, sizeof(*orders), cmp_item);
	for (int i = 0; i < n;) {
		int j = i;
		int64_t qty = 0;
		long long affected = 0;

		while (j < n && cmp_item(&orders[i], &orders[j]) == 0)
			qty += orders[j++].quantity;
		if (db_sale_stock_take(d, orders[i].activity_id, orders[i].item_id, qty, &affected) !=
		    FS_OK)
			goto fail;
		if (affected != 1) {
			*surprise = 1;
			goto fail;
		}
		i = j;
	}
	if (db_order_insert_unpaid(d, orders, n, now) != FS_OK) {
		if (!db_down(d))
			*surprise = 1;
		goto fail;
	}
	if (db_commit(d) != FS_OK)
		return FS_ERR;
	return FS_OK;
fail:
	db_rollback(d);
	return FS_ERR;
}

/* One order in its own transaction, telling what MySQL made of it:
 * its final status in o->status. FS_ERR only when MySQL failed. */
static int
persist_one(struct db *d, struct order *o, int64_t now, int *replayed)
{
	long long affected = 0;
	int found;

	*replayed = 0;
	found = db_order_state(d, o->id, &o->status, &o->pay_deadline_ms);
	if (found == FS_ERR)
		return FS_ERR;
	if (found) {
		/* already in MySQL: keep its state, it may have moved on */
		*replayed = 1;
		return FS_OK;
	}

	if (db_begin(d) != FS_OK)
		return FS_ERR;
	if (db_sale_stock_take(d, o->activity_id, o->item_id, o->quantity, &affected) != FS_OK)
		goto fail;
	if (affected == 1) {
		if (db_order_insert_unpaid(d, o, 1, now) == FS_OK) {
			if (db_commit(d) != FS_OK)
				return FS_ERR;
			o->status = ORDER_UNPAID;
			return FS_OK;
		}
		if (db_down(d) || db_errno(d) != DB_ER_DUP_ENTRY)
			goto fail;
		/* a live order of this user for this item exists: give the
		 * stock back and record this one as failed */
		if (db_sale_stock_give(d, o->activity_id, o->item_id, o->quantity, NULL) != FS_OK)
			goto fail;
	}
	if (db_order_insert_failed(d, o, now) != FS_OK) {
		if (!db_down(d) && db_errno(d) == DB_ER_DUP_ENTRY) {
			/* another handler wrote it meanwhile: a replay after all */
			db_rollback(d);
			return persist_one(d, o, now, replayed);
		}
		goto fail;
	}
	if (db_commit(d) != FS_OK)
		return FS_ERR;
	o->status = ORDER_FAILED;
	o->pay_deadline_ms = 0;
	return FS_OK;
fail:
	db_rollback(d);
	return FS_ERR;
}

/* Tells Redis what MySQL now holds for o. Failures are left to reconcile:
 * the journal entry stays, so the order is replayed and announced again. */
static int
announce_once(struct kv *kv, const struct order *o)
{
	if (o->status == ORDER_FAILED || o->status == ORDER_CLOSED || o->status == ORDER_CANCELLED) {
		if (kv_sale_release(kv, o) != FS_OK)
			return FS_ERR;
	}
	if (kv_order_put(kv, o) != FS_OK)
		return FS_ERR;
	return kv_sale_journal_done(kv, o);
}

static void
announce(struct kv *kv, const struct order *o)
{
	/* every step is idempotent: a second try after a dropped connection
	 * (Redis restarted) is safe and saves a wait for reconcile */
	if (announce_once(kv, o) != FS_OK)
		announce_once(kv, o);
}

/* The whole batch in one Redis pipeline; if any of it failed, order by
 * order again (all of it is idempotent). */
static void
announce_all(struct kv *kv, const struct order *orders, int n)
{
	pub_orders(orders, n); /* push events "unpaid"/"failed": lib/pub.h */
	if (kv_sale_announce(kv, orders, n) == FS_OK)
		return;
	for (int i = 0; i < n; i++)
		announce(kv, &orders[i]);
}

int
persist_orders(struct db *d, struct kv *kv, struct order *orders, int n, int64_t pay_window_ms,
	       struct persist_stats *st)
{
	int64_t now = fs_now_ms();
	int surprise = 0;

	if (n <= 0)
		return FS_OK;
	/* the window opens when the order becomes payable, that is now, when
	 * MySQL gets it: an order written late (the handler or MySQL was down)
	 * must not be born overdue, closed at once and counted as a lapse */
	for (int i = 0; i < n; i++)
		orders[i].pay_deadline_ms = now + pay_window_ms;

	if (persist_fast(d, orders, n, now, &surprise) == FS_OK) {
		for (int i = 0; i < n; i++)
			orders[i].status = ORDER_UNPAID;
		announce_all(kv, orders, n);
		lifecycle_cancels_apply(d, kv, orders, n);
		st->written += n;
		return FS_OK;
	}
	if (!surprise)
		return FS_ERR;

	/* replays, sold-out items or duplicates in the batch: one by one */
	for (int i = 0; i < n; i++) {
		int replayed;

		if (persist_one(d, &orders[i], now, &replayed) != FS_OK)
			return FS_ERR;
		if (replayed)
			st->replayed++;
		else if (orders[i].status == ORDER_FAILED)
			st->failed++;
		else
			st->written++;
	}
	announce_all(kv, orders, n);
	/* after the journal entries went: a cancel recorded until then is
	 * in the set now (lifecycle.h) */
	lifecycle_cancels_apply(d, kv, orders, n);
	return FS_OK;
}
